// rewriteRootfsTar in both modes, checked by the real tools (gzip -t, GNU tar) on
// inputs made by GNU tar with gzip -1/-6/-9, pigz, crafted gzip headers and
// multi-member gzip; hostile inputs rejected with the entry named, nothing left.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installerEntries } from '../../electron/initramfs/installer-layout.ts';
import { encodeEntries, type RootfsMode, rewriteRootfsTar } from '../../electron/initramfs/rootfs-tar.ts';
import { TarWalker } from '../../electron/initramfs/tar-walker.ts';

const EPOCH = 1_764_000_000; // 2025-11-24 16:00:00 UTC
const SCRIPTS = join(import.meta.dirname, '../../installer-scripts');
const MODES: RootfsMode[] = ['splice', 'recompress'];
let dir: string;
let src: string;

const sh = (cmd: string, opts: { cwd?: string } = {}): Buffer =>
  execFileSync('bash', ['-c', cmd], {
    ...opts,
    maxBuffer: 1 << 30,
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
  });

/** A small rootfs-like tree with the shapes that trip tar readers up. */
async function makeSource(root: string): Promise<void> {
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await mkdir(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  await mkdir(join(root, 'opt/emt-installer'), { recursive: true });
  await writeFile(join(root, 'usr/lib/random.bin'), randomBytes(3 << 20));
  await writeFile(join(root, 'usr/lib/zeros.bin'), Buffer.alloc(2 << 20));
  const text = Array.from({ length: 40_000 }, (_, i) => `line ${i} of some config text ${i % 97}\n`).join('');
  await writeFile(join(root, 'etc/text.conf'), text);
  await writeFile(join(root, 'etc/empty'), '');
  await writeFile(join(root, 'usr/lib/tool'), '#!/bin/sh\n');
  await chmod(join(root, 'usr/lib/tool'), 0o4755);
  await link(join(root, 'usr/lib/tool'), join(root, 'usr/lib/tool-hardlink'));
  await symlink('usr/lib', join(root, 'lib'));
  await symlink('/usr/share/zoneinfo/UTC', join(root, 'etc/localtime'));
  await symlink(
    '/lib/systemd/system/getty@.service',
    join(root, 'etc/systemd/system/multi-user.target.wants/getty.service'),
  );
  const deep = join(root, 'usr/lib', 'd'.repeat(90), 'e'.repeat(90));
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, `${'f'.repeat(120)}.txt`), 'long name\n');
  await writeFile(join(root, 'usr/lib/ünïcode name.txt'), 'utf8\n');
  // An older installer: splice shadows it, recompress drops it.
  await writeFile(join(root, 'opt/emt-installer/install.sh'), 'OLD\n');
  await writeFile(join(root, 'opt/emt-installer/stale.sh'), 'STALE\n');
  // A sparse file with many data regions: GNU 'S' entries with extension blocks.
  const fd = openSync(join(root, 'usr/lib/sparse.img'), 'w');
  for (let i = 0; i < 8; i++) writeSync(fd, Buffer.from(`region ${i}`), 0, 8, i * 1_048_576);
  closeSync(fd);
  sh(`truncate -s 9M ${join(root, 'usr/lib/sparse.img')}`);
}

/** Old tar bytes (uncompressed), as GNU tar writes them. */
const tarOf = (format: 'gnu' | 'posix'): Buffer =>
  sh(`tar --format=${format} --sparse --sort=name -C ${src} -cf - .`);

/** A gzip member with FEXTRA, FNAME, FCOMMENT and FHCRC set, wrapping `deflated` body of `data`. */
function gzipWithAllHeaderFields(data: Buffer): Buffer {
  const plain = gzipSync(data, { level: 6 });
  const body = plain.subarray(10); // deflate + trailer
  const extra = Buffer.from([0x41, 0x42, 3, 0, 1, 2, 3]); // subfield 'AB', 3 bytes
  const head = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3]),
    Buffer.from([extra.length, 0]),
    extra,
    Buffer.from('rootfs.tar\0'),
    Buffer.from('a comment\0'),
  ]);
  const hcrc = Buffer.alloc(2);
  hcrc.writeUInt16LE(crc32(head) & 0xffff);
  return Buffer.concat([head, hcrc, body]);
}

interface Case {
  name: string;
  make: () => Buffer;
  format: 'gnu' | 'posix';
  noEof?: boolean;
}

const CASES: Case[] = [
  {
    name: 'tar | gzip -1',
    format: 'gnu',
    make: () => sh(`tar --format=gnu --sparse -C ${src} -cf - . | gzip -1`),
  },
  {
    name: 'tar | gzip -6 (pax)',
    format: 'posix',
    make: () => sh(`tar --format=posix -C ${src} -cf - . | gzip -6`),
  },
  {
    name: 'tar | gzip -9',
    format: 'gnu',
    make: () => sh(`tar --format=gnu --sparse -C ${src} -cf - . | gzip -9`),
  },
  { name: 'tar | pigz', format: 'gnu', make: () => sh(`tar --format=gnu -C ${src} -cf - . | pigz -6`) },
  { name: 'tar czf', format: 'gnu', make: () => sh(`tar -C ${src} -czf - .`) },
  {
    name: 'gzip header with FEXTRA/FNAME/FCOMMENT/FHCRC',
    format: 'gnu',
    make: () => gzipWithAllHeaderFields(tarOf('gnu')),
  },
  {
    name: 'three gzip members',
    format: 'gnu',
    make: () => {
      const t = tarOf('gnu');
      const a = Math.floor(t.length / 3);
      return Buffer.concat([
        gzipSync(t.subarray(0, a)),
        gzipSync(t.subarray(a, 2 * a)),
        gzipSync(t.subarray(2 * a)),
      ]);
    },
  },
  {
    name: 'two members split exactly at the end-of-archive marker',
    format: 'gnu',
    make: () => {
      const t = tarOf('gnu');
      const e = eofOf(t);
      return Buffer.concat([gzipSync(t.subarray(0, e)), gzipSync(t.subarray(e))]);
    },
  },
  {
    name: 'tar without end-of-archive blocks',
    format: 'gnu',
    noEof: true,
    make: () => {
      const t = tarOf('gnu');
      return gzipSync(t.subarray(0, eofOf(t)));
    },
  },
];

function eofOf(tar: Buffer): number {
  const w = new TarWalker({ file: 't' });
  w.push(tar);
  w.end();
  return w.eof!;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-rootfs-'));
  src = join(dir, 'src');
  await makeSource(src);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rewriteRootfsTar on real tar.gz inputs', () => {
  let n = 0;
  for (const c of CASES) {
    for (const mode of MODES) {
      it(`${mode}: ${c.name}`, async () => {
        const work = join(dir, `case${n++}`);
        await mkdir(work);
        const input = join(work, 'in.tar.gz');
        const gz = c.make();
        await writeFile(input, gz);
        const output = join(work, 'out.tar.gz');
        const r = await rewriteRootfsTar({
          input,
          output,
          scriptsDir: SCRIPTS,
          mode,
          sourceDateEpoch: EPOCH,
        });

        expect(await readdir(work)).toEqual(['in.tar.gz', 'out.tar.gz']);
        const outBytes = await readFile(output);
        expect(r.size).toBe(outBytes.length);
        expect(r.sha256).toBe(sh(`sha256sum ${output}`).toString().slice(0, 64));
        sh(`gzip -t ${output}`);

        // Listing: our entries root-owned, exact modes, epoch mtimes, the link target.
        const list = sh(`tar --full-time -tvzf ${output}`).toString();
        const when = '2025-11-24 16:00:00';
        expect(list).toMatch(new RegExp(`-rwxr-xr-x root/root +\\d+ ${when} +opt/emt-installer/install.sh`));
        expect(list).toMatch(
          new RegExp(`-rw-r--r-- root/root +\\d+ ${when} +etc/systemd/system/emt-installer.service`),
        );
        expect(list).toMatch(
          new RegExp(
            `lrwxrwxrwx root/root +0 ${when} +etc/systemd/system/multi-user.target.wants/emt-installer.service -> ../emt-installer.service`,
          ),
        );
        expect(list).toMatch(
          new RegExp(`-rw-r--r-- root/root +\\d+ ${when} +etc/emt-installer/installer.conf`),
        );
        expect(list).toMatch(new RegExp(`drwxr-xr-x root/root +0 ${when} +opt/emt-installer\\n`));
        const oldCount = sh(`tar -tzf ${input} | wc -l`).toString().trim();
        expect(r.oldEntries).toBe(Number(oldCount));

        // Extracted, the old tree is intact and ours is there.
        const x = join(work, 'x');
        await mkdir(x);
        sh(`tar -xzf ${output} -C ${x}`);
        const diff = (() => {
          try {
            return sh(`diff -rq --no-dereference ${src} ${x}`).toString();
          } catch (e) {
            return String((e as { stdout: Buffer }).stdout);
          }
        })();
        const lines = diff.split('\n').filter(Boolean).sort();
        const expected = [
          `Files ${src}/opt/emt-installer/install.sh and ${x}/opt/emt-installer/install.sh differ`,
          `Only in ${x}/etc/systemd/system: emt-installer.service`,
          `Only in ${x}/etc/systemd/system/multi-user.target.wants: emt-installer.service`,
          `Only in ${x}/etc: emt-installer`,
          ...(mode === 'recompress' ? [`Only in ${src}/opt/emt-installer: stale.sh`] : []),
          ...extraScriptLines(x),
        ].sort();
        expect(lines).toEqual(expected);
        expect(await readFile(join(x, 'opt/emt-installer/install.sh'))).toEqual(
          await readFile(join(SCRIPTS, 'install.sh')),
        );
        expect(sh(`stat -c '%a %U %Y' ${x}/opt/emt-installer/install.sh`).toString().trim()).toBe(
          `755 root ${EPOCH}`,
        );
        expect(sh(`stat -c '%a' ${x}/usr/lib/tool`).toString().trim()).toBe('4755');
        expect(sh(`stat -c '%h' ${x}/usr/lib/tool`).toString().trim()).toBe('2');

        const newTar = gunzipSync(outBytes);
        expect(r.tarSize).toBe(newTar.length);
        if (mode === 'splice') {
          // Exactly: the old tar up to its end-of-archive blocks, then our entries.
          const oldTar = gunzipSync(gz);
          const blob = await encodeEntries(await installerEntries(SCRIPTS, EPOCH));
          const e = newTar.length - blob.length;
          expect(newTar.subarray(0, e).equals(oldTar.subarray(0, e))).toBe(true);
          expect(oldTar.subarray(e).every((b) => b === 0)).toBe(true);
          expect(oldTar.length - e).toBeGreaterThanOrEqual(c.noEof ? 0 : 1024);
          expect(newTar.subarray(e).equals(blob)).toBe(true);
          // The point of the mode: nearly all old compressed bytes reused as they were.
          expect(r.keptBytes).toBeGreaterThan(gz.length * 0.9);
          expect(outBytes.subarray(0, r.keptBytes).equals(gz.subarray(0, r.keptBytes))).toBe(true);
        }
      });
    }
  }
});

/** `Only in` lines for what installer-scripts holds beyond install.sh (it grows in other work). */
function extraScriptLines(x: string): string[] {
  const out: string[] = [];
  const list = sh(
    `find . -mindepth 1 -maxdepth 1 ! -name README.md ! -name tests ! -name systemd ! -name install.sh`,
    {
      cwd: SCRIPTS,
    },
  )
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((p) => p.slice(2));
  for (const p of list) out.push(`Only in ${x}/opt/emt-installer: ${p}`);
  return out;
}

interface Hostile {
  name: string;
  header: Partial<tarStream.Header> & { name: string };
  data?: Buffer;
  want: RegExp;
}

async function packTar(
  entries: { header: Partial<tarStream.Header> & { name: string }; data?: Buffer }[],
): Promise<Buffer> {
  const pack = tarStream.pack();
  const parts: Buffer[] = [];
  const done = new Promise<void>((resolve) => pack.on('end', resolve));
  pack.on('data', (b: unknown) => {
    parts.push(b as Buffer);
  });
  for (const e of entries) pack.entry(e.header, e.data ?? Buffer.alloc(0));
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

const ok = { header: { name: 'etc/hostname', size: 5 }, data: Buffer.from('node\n') };

const HOSTILE: Hostile[] = [
  {
    name: 'absolute path',
    header: { name: '/etc/passwd' },
    data: Buffer.from('x'),
    want: /entry '\/etc\/passwd' has an absolute path/,
  },
  {
    name: 'dot-dot path',
    header: { name: 'a/../../x' },
    data: Buffer.from('x'),
    want: /entry 'a\/..\/..\/x' has a '..' component/,
  },
  {
    name: 'escaping symlink',
    header: { name: 'etc/evil', type: 'symlink', linkname: '../../../outside' },
    want: /symlink 'etc\/evil' -> '..\/..\/..\/outside' points outside the root/,
  },
  {
    name: 'escaping hard link',
    header: { name: 'etc/hl', type: 'link', linkname: '../x' },
    want: /hard link 'etc\/hl' -> '..\/x' points outside/,
  },
  {
    name: 'device node where we write',
    header: {
      name: './etc/systemd/system/emt-installer.service',
      type: 'character-device',
      devmajor: 1,
      devminor: 3,
    },
    want: /entry '.\/etc\/systemd\/system\/emt-installer.service' is a character-device where the installer writes/,
  },
  {
    name: 'fifo at a dir we write into',
    header: { name: 'opt/emt-installer', type: 'fifo' },
    want: /entry 'opt\/emt-installer' is a fifo where the installer writes/,
  },
  {
    name: 'symlink at a dir we write into',
    header: { name: 'etc/systemd/system', type: 'symlink', linkname: '/tmp' },
    want: /entry 'etc\/systemd\/system' is a symlink where the installer needs a directory/,
  },
];

describe('rewriteRootfsTar refuses hostile or broken input', () => {
  for (const h of HOSTILE) {
    for (const mode of MODES) {
      it(`${mode}: ${h.name}`, async () => {
        const work = await mkdtemp(join(dir, 'hostile-'));
        const input = join(work, 'in.tar.gz');
        await writeFile(
          input,
          gzipSync(await packTar([ok, { header: h.header, ...(h.data ? { data: h.data } : {}) }])),
        );
        const output = join(work, 'out.tar.gz');
        await expect(
          rewriteRootfsTar({ input, output, scriptsDir: SCRIPTS, mode, sourceDateEpoch: EPOCH }),
        ).rejects.toThrow(h.want);
        expect(await readdir(work)).toEqual(['in.tar.gz']);
      });
    }
  }

  const broken: { name: string; make: () => Promise<Buffer>; want: RegExp }[] = [
    {
      name: 'tar cut inside an entry (size past the end)',
      make: async () => {
        const t = await packTar([ok, { header: { name: 'usr/big.bin' }, data: randomBytes(100_000) }]);
        return gzipSync(t.subarray(0, 60_000));
      },
      want: /entry 'usr\/big.bin' claims 100000 bytes, but the archive ends at byte 60000 \(truncated tar\)/,
    },
    {
      name: 'bad header checksum',
      make: async () => {
        const t = await packTar([ok, { header: { name: 'usr/a' }, data: Buffer.from('a') }]);
        t[1024 + 5] = t[1024 + 5]! ^ 0x20;
        return gzipSync(t);
      },
      want: /bad tar header checksum at byte 1024/,
    },
    {
      name: 'gzip cut short',
      make: async () => {
        const g = gzipSync(await packTar([ok, { header: { name: 'usr/r' }, data: randomBytes(200_000) }]));
        return g.subarray(0, g.length - 5000);
      },
      want: /gzip data is truncated/,
    },
    {
      name: 'gzip with a flipped bit',
      make: async () => {
        // Fixed mtimes: the same bytes every run (a flip that happens to cut the stream
        // short reads as truncated instead, a different message).
        const at = new Date(1_700_000_000_000);
        const g = gzipSync(
          await packTar([
            { ...ok, header: { ...ok.header, mtime: at } },
            { header: { name: 'usr/r', mtime: at }, data: Buffer.alloc(200_000, 7) },
          ]),
        );
        g[g.length - 12] = g[g.length - 12]! ^ 0x01;
        return g;
      },
      want: /(corrupt deflate data|fails its CRC\/size check|bad tar header checksum)/,
    },
    {
      name: 'not gzip at all',
      make: async () => randomBytes(5000).fill(0x41, 0, 2),
      want: /in.tar.gz: not a gzip file/,
    },
    {
      name: 'garbage after the gzip stream',
      make: async () => Buffer.concat([gzipSync(await packTar([ok])), Buffer.from('junk')]),
      want: /data after the gzip stream at byte \d+ is not gzip/,
    },
  ];
  for (const b of broken) {
    for (const mode of MODES) {
      it(`${mode}: ${b.name}`, async () => {
        const work = await mkdtemp(join(dir, 'broken-'));
        const input = join(work, 'in.tar.gz');
        await writeFile(input, await b.make());
        const output = join(work, 'out.tar.gz');
        await expect(
          rewriteRootfsTar({ input, output, scriptsDir: SCRIPTS, mode, sourceDateEpoch: EPOCH }),
        ).rejects.toThrow(b.want);
        expect(await readdir(work)).toEqual(['in.tar.gz']);
      });
    }
  }
});

describe('rewriteRootfsTar streams', () => {
  it('takes a Readable, names it in errors, and leaves nothing when aborted midway', async () => {
    const gz = sh(`tar -C ${src} -czf - .`);
    const work = await mkdtemp(join(dir, 'stream-'));
    const output = join(work, 'out.tar.gz');
    const r = await rewriteRootfsTar({
      input: Readable.from([gz.subarray(0, 1000), gz.subarray(1000)]),
      output,
      scriptsDir: SCRIPTS,
      mode: 'splice',
      sourceDateEpoch: EPOCH,
    });
    expect(r.size).toBeGreaterThan(0);
    sh(`gzip -t ${output}`);
    await rm(output);

    const ac = new AbortController();
    async function* slow() {
      yield gz.subarray(0, gz.length >> 1);
      ac.abort();
      yield gz.subarray(gz.length >> 1);
    }
    await expect(
      rewriteRootfsTar({
        input: Readable.from(slow()),
        output,
        scriptsDir: SCRIPTS,
        mode: 'recompress',
        sourceDateEpoch: EPOCH,
        signal: ac.signal,
      }),
    ).rejects.toThrow(/abort/i);
    expect(await readdir(work)).toEqual([]);

    await expect(
      rewriteRootfsTar({
        input: Readable.from([Buffer.from('nope')]),
        name: 'initramfs.img:rootfs.tar.gz',
        output,
        scriptsDir: SCRIPTS,
        mode: 'splice',
        sourceDateEpoch: EPOCH,
      }),
    ).rejects.toThrow(/^initramfs.img:rootfs.tar.gz: not a gzip file/);
    expect(await readdir(work)).toEqual([]);
  });

  it('handles an archive with no entries, and names unreadable input and unwritable output', async () => {
    const work = await mkdtemp(join(dir, 'empty-'));
    const input = join(work, 'in.tar.gz');
    await writeFile(input, gzipSync(Buffer.alloc(10240)));
    for (const mode of MODES) {
      const output = join(work, `out-${mode}.tar.gz`);
      const r = await rewriteRootfsTar({ input, output, scriptsDir: SCRIPTS, mode, sourceDateEpoch: EPOCH });
      expect(r.oldEntries).toBe(0);
      sh(`gzip -t ${output}`);
      expect(sh(`tar -tzf ${output}`).toString()).toContain('opt/emt-installer/install.sh');
    }
    await expect(
      rewriteRootfsTar({
        input: join(work, 'missing.tar.gz'),
        output: join(work, 'o'),
        scriptsDir: SCRIPTS,
        mode: 'splice',
        sourceDateEpoch: EPOCH,
      }),
    ).rejects.toThrow(/missing.tar.gz: cannot read \(ENOENT\)/);
    await expect(
      rewriteRootfsTar({
        input,
        output: join(work, 'no/such/dir/o'),
        scriptsDir: SCRIPTS,
        mode: 'splice',
        sourceDateEpoch: EPOCH,
      }),
    ).rejects.toThrow(/no\/such\/dir\/o: cannot write \(ENOENT\)/);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'reports a full disk as one error and leaves nothing (1 MiB tmpfs)',
    async () => {
      const work = await mkdtemp(join(dir, 'full-'));
      const input = join(work, 'in.tar.gz');
      await writeFile(input, sh(`tar -C ${src} -czf - .`));
      const mnt = join(work, 'mnt');
      await mkdir(mnt);
      sh(`mount -t tmpfs -o size=1m tmpfs ${mnt}`);
      try {
        for (const mode of MODES) {
          await expect(
            rewriteRootfsTar({
              input,
              output: join(mnt, 'out.tar.gz'),
              scriptsDir: SCRIPTS,
              mode,
              sourceDateEpoch: EPOCH,
            }),
          ).rejects.toThrow(/mnt\/out.tar.gz: cannot write \(ENOSPC\)/);
          expect(await readdir(mnt)).toEqual([]);
        }
      } finally {
        sh(`umount ${mnt}`);
      }
    },
  );

  it('adds extra files and conf lines, and reports progress to the end', async () => {
    const work = await mkdtemp(join(dir, 'extra-'));
    const input = join(work, 'in.tar.gz');
    await writeFile(input, sh(`tar -C ${src} -czf - .`));
    for (const mode of MODES) {
      const output = join(work, `out-${mode}.tar.gz`);
      const events: { done: number; total: number | null }[] = [];
      const r = await rewriteRootfsTar({
        input,
        output,
        scriptsDir: SCRIPTS,
        mode,
        sourceDateEpoch: EPOCH,
        extraFiles: [{ path: '/usr/bin/yq', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 }],
        conf: { build_id: 'b-42' },
        onProgress: (e) => events.push(e),
      });
      expect(r.entriesAdded).toContain('usr/bin/yq');
      expect(sh(`tar --full-time -tvzf ${output} usr/bin/yq`).toString()).toMatch(
        /^-rwxr-xr-x root\/root +10 2025-11-24 16:00:00 +usr\/bin\/yq$/m,
      );
      expect(sh(`tar -xOzf ${output} etc/emt-installer/installer.conf`).toString()).toMatch(
        /^build_id=b-42$/m,
      );
      const size = (await readFile(input)).length;
      expect(events.at(-1)).toMatchObject({ done: size, total: size });
    }
  });

  it('splice drops gzip members that hold only the old end-of-archive padding, with a note', async () => {
    const work = await mkdtemp(join(dir, 'members-'));
    const t = tarOf('gnu');
    const e = eofOf(t);
    const input = join(work, 'in.tar.gz');
    // Like bgzip: the padding in its own members, then an empty end member.
    await writeFile(
      input,
      Buffer.concat([
        gzipSync(t.subarray(0, e + 512)),
        gzipSync(t.subarray(e + 512)),
        gzipSync(Buffer.alloc(0)),
      ]),
    );
    const output = join(work, 'out.tar.gz');
    const r = await rewriteRootfsTar({
      input,
      output,
      scriptsDir: SCRIPTS,
      mode: 'splice',
      sourceDateEpoch: EPOCH,
    });
    expect(r.note).toBe("2 trailing gzip member(s) past the tar's end dropped");
    sh(`gzip -t ${output}`);
    const blob = await encodeEntries(await installerEntries(SCRIPTS, EPOCH));
    expect(gunzipSync(await readFile(output)).equals(Buffer.concat([t.subarray(0, e), blob]))).toBe(true);
  });

  it('gives the same bytes on every run, in each mode', async () => {
    const work = await mkdtemp(join(dir, 'repro-'));
    const input = join(work, 'in.tar.gz');
    await writeFile(input, sh(`tar -C ${src} -czf - .`));
    for (const mode of MODES) {
      const a = await rewriteRootfsTar({
        input,
        output: join(work, 'a'),
        scriptsDir: SCRIPTS,
        mode,
        sourceDateEpoch: EPOCH,
      });
      const b = await rewriteRootfsTar({
        input,
        output: join(work, 'b'),
        scriptsDir: SCRIPTS,
        mode,
        sourceDateEpoch: EPOCH,
      });
      expect(a.sha256).toBe(b.sha256);
    }
  });
});
