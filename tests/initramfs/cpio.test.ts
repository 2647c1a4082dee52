import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CpioEntry,
  CpioParser,
  cpioBytes,
  cpioReadable,
  encodeHeader,
  fileHeader,
  pad4,
  parseHeader,
  readCpio,
  S_IFREG,
  trailer,
  unsafeName,
} from '../../electron/initramfs/cpio.ts';
import { InitramfsError } from '../../electron/initramfs/errors.ts';

const work = mkdtempSync(join(tmpdir(), 'emt-cpio-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sh = (cmd: string, cwd = work) => execFileSync('bash', ['-euo', 'pipefail', '-c', cmd], { cwd });

/** Parse a whole buffer, feeding it in small odd-sized chunks to exercise the state machine. */
async function parseAll(buf: Buffer, chunk = 7, opts: { strictNames?: boolean } = {}) {
  const entries: { e: CpioEntry; data: Buffer }[] = [];
  let cur: Buffer[] = [];
  const p = new CpioParser(
    {
      entry: () => {
        cur = [];
        return true;
      },
      data: (_e, c) => void cur.push(Buffer.from(c)),
      end: (e) => void entries.push({ e, data: Buffer.concat(cur) }),
    },
    'test.cpio',
    opts,
  );
  for (let i = 0; i < buf.length; i += chunk) await p.write(buf.subarray(i, i + chunk));
  p.end();
  return { entries, parser: p };
}

describe('newc header', () => {
  it('encodes and parses back every field', () => {
    const h = {
      magic: '070701' as const,
      name: 'etc/hostname',
      ino: 0x1234,
      mode: S_IFREG | 0o640,
      uid: 5,
      gid: 6,
      nlink: 1,
      mtime: 1_700_000_000,
      size: 99,
      devMajor: 8,
      devMinor: 1,
      rdevMajor: 0,
      rdevMinor: 0,
      check: 0,
    };
    const b = encodeHeader(h);
    expect(b.length % 4).toBe(0);
    expect(b.length).toBe(110 + 13 + pad4(110 + 13));
    const p = parseHeader(b)!;
    const { name: _name, ...fields } = h;
    expect(p).toEqual({ ...fields, nameSize: 13 });
    expect(b.toString('latin1', 110, 122)).toBe('etc/hostname');
  });
  it('refuses bytes that are not a header', () => {
    expect(parseHeader(Buffer.from('070707'.padEnd(110, '0')))).toBeNull();
    expect(parseHeader(Buffer.from('070701'.padEnd(110, 'z')))).toBeNull();
    expect(parseHeader(Buffer.alloc(50))).toBeNull();
  });
  it('flags absolute and .. names', () => {
    expect(unsafeName('/etc/passwd')).toBe(true);
    expect(unsafeName('a/../../b')).toBe(true);
    expect(unsafeName('..')).toBe(true);
    expect(unsafeName('./usr/bin/a..b')).toBe(false);
  });
});

describe('parser against GNU cpio', () => {
  it('reads newc (070701) written by cpio -o -H newc, data and padding exact', async () => {
    sh(
      'mkdir -p t/d && printf abc > t/d/three && head -c 4097 /dev/urandom > t/odd && ln -s d/three t/link && : > t/empty',
    );
    sh('cd t && find . | LC_ALL=C sort | cpio --quiet -o -H newc > ../t.cpio');
    const { entries, parser } = await parseAll(readFileSync(join(work, 't.cpio')));
    const byName = new Map(entries.map((x) => [x.e.name, x]));
    expect([...byName.keys()].sort()).toEqual(['.', 'd', 'd/three', 'empty', 'link', 'odd']);
    expect(byName.get('d/three')!.data.toString()).toBe('abc');
    expect(byName.get('odd')!.data.equals(readFileSync(join(work, 't/odd')))).toBe(true);
    expect(byName.get('link')!.data.toString()).toBe('d/three');
    expect(parser.trailers).toBe(1);
    expect(parser.entries).toBe(6);
  });
  it('reads 070702 (crc) archives', async () => {
    sh('cd t && find . | LC_ALL=C sort | cpio --quiet -o -H crc > ../t.crc.cpio');
    const { entries } = await parseAll(readFileSync(join(work, 't.crc.cpio')), 1000);
    const odd = entries.find((x) => x.e.name === 'odd')!;
    expect(odd.e.magic).toBe('070702');
    const sum = [...odd.data].reduce((a, b) => (a + b) >>> 0, 0);
    expect(odd.e.check).toBe(sum);
  });
  it('refuses a 070702 file whose data checksum is wrong, as the kernel does', async () => {
    sh('cd t && find . | LC_ALL=C sort | cpio --quiet -o -H crc > ../t.crc.cpio');
    const buf = readFileSync(join(work, 't.crc.cpio'));
    const at = buf.indexOf(Buffer.from('odd\0')) - 110;
    // The check field is the 13th: 6 magic bytes, then 12 fields of 8 hex digits.
    const check = Number.parseInt(buf.toString('latin1', at + 6 + 12 * 8, at + 6 + 13 * 8), 16);
    const wrong = Buffer.from(buf);
    wrong.write(((check + 1) >>> 0).toString(16).padStart(8, '0'), at + 6 + 12 * 8, 'latin1');
    for (const step of [1, 7, 100000]) {
      const err = await parseAll(wrong, step).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InitramfsError);
      expect((err as InitramfsError).code).toBe('CPIO_BAD_CHECKSUM');
      expect((err as Error).message).toMatch(
        new RegExp(
          `cpio entry 'odd' at offset ${at} in test.cpio has a wrong data checksum .*bad data checksum`,
        ),
      );
    }
    // A flipped data byte, the check field kept, is caught the same way.
    const flipped = Buffer.from(buf);
    flipped[at + 116] = flipped[at + 116]! ^ 0x01; // 110 + "odd\0", padded to 4
    await expect(parseAll(flipped)).rejects.toThrow(/'odd' .* wrong data checksum/);
    // Directories and symlinks carry 0: the kernel sums regular files only.
    await expect(parseAll(buf)).resolves.toBeDefined();
  });
  it('names the entry and offset when a size runs past the end', async () => {
    const buf = readFileSync(join(work, 't.cpio'));
    const at = buf.indexOf(Buffer.from('odd\0')) - 110;
    buf.write('00ffffff', at + 6 + 6 * 8, 'latin1');
    const err = await parseAll(buf).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InitramfsError);
    expect((err as Error).message).toMatch(
      new RegExp(`cpio entry 'odd' at offset ${at} in test.cpio claims 16777215 bytes`),
    );
  });
  it('refuses absolute and .. names in strict mode, naming them', async () => {
    const bad = Buffer.concat([
      fileHeader('../escape', 0, { ino: 1, mode: S_IFREG | 0o644, mtime: 0 }),
      trailer(),
    ]);
    await expect(parseAll(bad, 7, { strictNames: true })).rejects.toThrow(
      /cpio entry '..\/escape' at offset 0/,
    );
    await expect(parseAll(bad)).resolves.toBeTruthy();
  });
  it('reports a stream without TRAILER', async () => {
    const b = fileHeader('a', 0, { ino: 1, mode: S_IFREG, mtime: 0 });
    await expect(parseAll(b)).rejects.toThrow(/without a TRAILER/);
  });
});

describe('writer', () => {
  it('writes archives GNU cpio lists and extracts with exact modes, owners, mtimes', async () => {
    const parts: Buffer[] = [];
    const data = Buffer.from('hello world\n');
    const entries = [
      { header: { ...hdr('etc/greeting', data.length, 1, 0o100600), mtime: 1_234_567_890 }, data },
      {
        header: hdr('bin/tool', 5, 2, 0o100755),
        data: (async function* () {
          yield Buffer.from('ab');
          yield Buffer.from('cde');
        })(),
      },
    ];
    for await (const c of cpioBytes(entries)) parts.push(c);
    const out = Buffer.concat(parts);
    expect(out.length % 4).toBe(0);
    writeFileSync(join(work, 'ours.cpio'), out);
    const list = sh('cpio --quiet -tv --numeric-uid-gid < ours.cpio').toString();
    expect(list).toMatch(/-rw------- +1 0 +0 +12 .* etc\/greeting/);
    expect(list).toMatch(/-rwxr-xr-x +1 0 +0 +5 .* bin\/tool/);
    sh('rm -rf ext && mkdir ext && cd ext && cpio --quiet -idm < ../ours.cpio');
    expect(readFileSync(join(work, 'ext/etc/greeting'), 'utf8')).toBe('hello world\n');
    const st = statSync(join(work, 'ext/etc/greeting'));
    expect(st.mode & 0o7777).toBe(0o600);
    expect(Math.floor(st.mtimeMs / 1000)).toBe(1_234_567_890);
    expect(readFileSync(join(work, 'ext/bin/tool'), 'utf8')).toBe('abcde');
  });
  it('reproducible numbering and root owner where asked; readCpio reads it back from a Readable', async () => {
    const entries = [
      {
        header: { ...hdr('a', 1, 777, 0o100644), uid: 1000, gid: 1000, devMajor: 8 },
        data: Buffer.from('a'),
      },
      { header: { ...hdr('b', 0, 555, 0o040755), uid: 5 } },
    ];
    const seen: CpioEntry[] = [];
    await readCpio(
      cpioReadable(entries, { reproducible: true, rootOwner: true }),
      { entry: (e) => void seen.push(e) },
      'mem',
    );
    expect(seen.map((e) => [e.name, e.ino, e.uid, e.gid, e.devMajor])).toEqual([
      ['a', 1, 0, 0, 0],
      ['b', 2, 0, 0, 0],
    ]);
    const kept: CpioEntry[] = [];
    await readCpio(cpioReadable(entries), { entry: (e) => void kept.push(e) }, 'mem');
    expect(kept.map((e) => [e.ino, e.uid])).toEqual([
      [777, 1000],
      [555, 5],
    ]);
  });
  it('refuses a data stream of the wrong size', async () => {
    const run = async () => {
      for await (const _ of cpioBytes([{ header: hdr('x', 10, 1, 0o100644), data: Buffer.alloc(3) }])) {
        /* drain */
      }
    };
    await expect(run()).rejects.toThrow(/expected 10 bytes, got 3/);
  });
});

function hdr(name: string, size: number, ino: number, mode: number) {
  return {
    magic: '070701' as const,
    name,
    ino,
    mode,
    uid: 0,
    gid: 0,
    nlink: 1,
    mtime: 0,
    size,
    devMajor: 0,
    devMinor: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    check: 0,
  };
}
