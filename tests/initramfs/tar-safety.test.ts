// tar-safety rules and the offset-tracking tar walker, on archives made by GNU tar
// (long names in gnu and pax formats) and crafted headers.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkTarEntry,
  normalizeTarPath,
  ourPaths,
  TarArchiveGuard,
  type TarEntryInfo,
} from '../../electron/initramfs/tar-safety.ts';
import { parseNumeric, parsePax, TarWalker, type WalkedEntry } from '../../electron/initramfs/tar-walker.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-tarsafety-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ours = ourPaths([
  { path: 'opt/emt-installer/install.sh', type: 'file' },
  { path: 'etc/systemd/system/emt-installer.service', type: 'file' },
]);

describe('checkTarEntry', () => {
  const f = 'rootfs.tar.gz';
  it('accepts what a rootfs holds', () => {
    for (const e of [
      { name: './', type: 'directory' as const, size: 0 },
      { name: './usr/bin/bash', type: 'file' as const, size: 10 },
      { name: 'bin', type: 'symlink' as const, linkname: 'usr/bin', size: 0 },
      { name: 'etc/localtime', type: 'symlink' as const, linkname: '/usr/share/zoneinfo/UTC', size: 0 },
      { name: 'usr/lib/x/y', type: 'symlink' as const, linkname: '../../lib/z', size: 0 },
      { name: 'dev/console', type: 'character-device' as const, size: 0 },
      { name: 'usr/bin/b', type: 'link' as const, linkname: './usr/bin/bash', size: 0 },
    ]) {
      expect(() => checkTarEntry(e, f, ours)).not.toThrow();
    }
    // Our leaf may be a symlink in the old tree: ours shadows it.
    expect(() =>
      checkTarEntry(
        { name: 'opt/emt-installer/install.sh', type: 'symlink', linkname: 'x', size: 0 },
        f,
        ours,
      ),
    ).not.toThrow();
  });

  it('refuses escapes, naming the entry', () => {
    const cases: [Parameters<typeof checkTarEntry>[0], RegExp][] = [
      [
        { name: '/etc/shadow', type: 'file', size: 1 },
        /rootfs.tar.gz: entry '\/etc\/shadow' has an absolute path/,
      ],
      [{ name: 'usr/../../x', type: 'file', size: 1 }, /entry 'usr\/..\/..\/x' has a '..' component/],
      [{ name: 'a/..', type: 'directory', size: 0 }, /'..' component/],
      [
        { name: 'usr/x', type: 'symlink', linkname: '../../x', size: 0 },
        /symlink 'usr\/x' -> '..\/..\/x' points outside/,
      ],
      [{ name: 'x', type: 'symlink', linkname: '', size: 0 }, /empty target/],
      [
        { name: 'x', type: 'link', linkname: '/etc/shadow', size: 0 },
        /hard link 'x' -> '\/etc\/shadow' points outside/,
      ],
      [{ name: 'x', type: 'link', linkname: 'a/../../b', size: 0 }, /hard link/],
      [
        { name: 'opt', type: 'block-device', size: 0 },
        /entry 'opt' is a block-device where the installer writes/,
      ],
      [
        { name: './etc/systemd', type: 'symlink', linkname: '/x', size: 0 },
        /symlink where the installer needs a directory/,
      ],
      [{ name: 'a\0b', type: 'file', size: 0 }, /NUL/],
      [{ name: 'x', type: 'file', size: -1 }, /invalid size/],
    ];
    for (const [e, want] of cases) expect(() => checkTarEntry(e, 'rootfs.tar.gz', ours)).toThrow(want);
  });

  it('normalizes paths the way tar compares them', () => {
    expect(normalizeTarPath('./etc//systemd/./system/')).toBe('etc/systemd/system');
    expect(normalizeTarPath('./')).toBe('');
    expect([...ours.dirs].sort()).toEqual([
      'etc',
      'etc/systemd',
      'etc/systemd/system',
      'opt',
      'opt/emt-installer',
    ]);
  });
});

describe('TarArchiveGuard', () => {
  const run = (entries: TarEntryInfo[]) => {
    const g = new TarArchiveGuard('rootfs.tar.gz', ours);
    for (const e of entries) g.check(e);
  };
  const link = (name: string, linkname: string): TarEntryInfo => ({
    name,
    type: 'symlink',
    linkname,
    size: 0,
  });
  const file = (name: string): TarEntryInfo => ({ name, type: 'file', size: 1 });

  it('refuses an entry under an earlier symlink, naming both', () => {
    expect(() => run([link('etc/out', '/tmp/x'), file('etc/out/file')])).toThrow(
      "rootfs.tar.gz: entry 'etc/out/file' is under 'etc/out', a symlink (-> '/tmp/x')",
    );
    expect(() => run([link('s', '.'), link('s/s2', '..'), file('s/s2/file')])).toThrow(
      "entry 's/s2' is under 's', a symlink (-> '.')",
    );
    // Spelled differently, the same path.
    expect(() => run([link('./a', 'b'), file('a//deep/x')])).toThrow(/'a\/\/deep\/x' is under 'a'/);
    // Replaced by a directory later, a link stays suspect.
    expect(() => run([link('a', '/x'), { name: 'a', type: 'directory', size: 0 }, file('a/f')])).toThrow(
      /is under 'a'/,
    );
  });

  it('refuses a hard link whose target runs through a symlink', () => {
    expect(() =>
      run([link('hostetc', '/etc'), { name: 'grab', type: 'link', linkname: 'hostetc/shadow', size: 0 }]),
    ).toThrow("entry 'grab' links to a file under 'hostetc', a symlink (-> '/etc')");
  });

  it('accepts links beside files, and files before a link of their parent name', () => {
    expect(() =>
      run([
        file('usr/bin/gawk'),
        link('usr/bin/awk', '/usr/bin/gawk'),
        file('usr/bin/awkward'),
        link('bin', 'usr/bin'),
        file('binary/x'),
        { name: 'usr/bin/b', type: 'link', linkname: 'usr/bin/gawk', size: 0 },
      ]),
    ).not.toThrow();
  });
});

function walk(tar: Buffer, feed = 333): { entries: WalkedEntry[]; w: TarWalker } {
  const entries: WalkedEntry[] = [];
  const w = new TarWalker({ file: 't.tar', onEntry: (e) => void entries.push(e) });
  for (let p = 0; p < tar.length; p += feed) w.push(tar.subarray(p, p + feed));
  w.end();
  return { entries, w };
}

describe('TarWalker', () => {
  for (const format of ['gnu', 'posix', 'ustar', 'v7'] as const) {
    it(`reads GNU tar --format=${format} with its names, sizes and the end-of-archive offset`, async () => {
      const src = join(dir, `src-${format}`);
      const longDir = format === 'v7' ? 'd' : 'd'.repeat(99);
      const longFile = format === 'v7' ? 'f.txt' : `${'f'.repeat(format === 'ustar' ? 95 : 180)}.txt`;
      await mkdir(join(src, longDir), { recursive: true });
      await writeFile(join(src, longDir, longFile), 'x'.repeat(1000));
      await writeFile(join(src, 'a'), '');
      const tar = execFileSync('tar', [`--format=${format}`, '--sort=name', '-C', src, '-cf', '-', '.']);
      const { entries, w } = walk(tar);
      const listed = execFileSync('tar', ['-tf', '-'], { input: tar }).toString().trim().split('\n');
      expect(entries.map((e) => e.name)).toEqual(listed);
      const file = entries.find((e) => e.name.endsWith('.txt'))!;
      expect(file).toMatchObject({ name: `./${longDir}/${longFile}`, size: 1000, type: 'file' });
      // GNU tar pads to a 10240-byte record: the marker starts right after the last entry.
      expect(w.eof).toBe(entries.at(-1)!.end);
      expect(tar.subarray(w.eof!).every((b) => b === 0)).toBe(true);
      expect(w.entries).toBe(listed.length);
    });
  }

  it('keeps exactly the bytes of entries it is not told to drop', () => {
    const src = join(dir, 'keep');
    execFileSync('bash', [
      '-c',
      `mkdir -p ${src}/x && echo a > ${src}/x/a && echo b > ${src}/x/${'b'.repeat(150)}`,
    ]);
    const tar = execFileSync('tar', ['--format=gnu', '--sort=name', '-C', src, '-cf', '-', '.']);
    const kept: Uint8Array[] = [];
    const w = new TarWalker({
      file: 't',
      onEntry: (e) => e.name.includes('bbbb'),
      keep: (b) => kept.push(b.slice()),
    });
    w.push(tar);
    w.end();
    const out = Buffer.concat(kept);
    const names = execFileSync('tar', ['-tf', '-'], { input: Buffer.concat([out, Buffer.alloc(1024)]) });
    expect(names.toString().trim().split('\n')).toEqual(['./', './x/', './x/a']);
  });

  it('refuses a truncated archive, a bad checksum and a malformed size, with the place named', () => {
    const src = join(dir, 'trunc');
    execFileSync('bash', ['-c', `mkdir -p ${src} && head -c 5000 /dev/urandom > ${src}/big`]);
    const tar = execFileSync('tar', ['--format=gnu', '-C', src, '-cf', '-', 'big']);
    expect(() => walk(tar.subarray(0, 3000))).toThrow(
      /t.tar: entry 'big' claims 5000 bytes, but the archive ends at byte 3000 \(truncated tar\)/,
    );
    expect(() => walk(tar.subarray(0, 300))).toThrow(/a tar header the archive ends at byte 300/);
    const bad = Buffer.from(tar);
    bad[10] = 0x41;
    expect(() => walk(bad)).toThrow(/bad tar header checksum at byte 0/);
    expect(parseNumeric(Buffer.from('0000012\0'), 0, 8)).toBe(10);
    expect(parseNumeric(Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]), 0, 12)).toBe(2 ** 32);
    expect(parseNumeric(Buffer.from('12x4\0'), 0, 5)).toBeNaN();
    expect(parsePax(Buffer.from('20 path=a/very/long\n'), 'f').get('path')).toBe('a/very/long');
    expect(() => parsePax(Buffer.from('99 path=x\n'), 'f')).toThrow(/malformed pax header record/);
  });

  it('accepts an archive without an end-of-archive marker', () => {
    const src = join(dir, 'noeof');
    execFileSync('bash', ['-c', `mkdir -p ${src} && echo hi > ${src}/a`]);
    const tar = execFileSync('tar', ['--format=gnu', '-C', src, '-cf', '-', 'a']);
    const { w } = walk(tar.subarray(0, 1024));
    expect(w.eof).toBe(1024);
  });
});
