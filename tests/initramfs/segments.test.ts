import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../electron/initramfs/codecs.ts';
import { walkInitramfs } from '../../electron/initramfs/segments.ts';
import { type SyntheticVariant, syntheticCache } from '../fixtures/synthetic-bootkit.ts';

const cache = syntheticCache();
afterAll(() => cache.cleanup());
const work = join(cache.parent, 'segments');
mkdirSync(work);
const sh = (cmd: string) => execFileSync('bash', ['-euo', 'pipefail', '-c', cmd], { cwd: work });

describe('synthetic bootkits (written by cpio + the real compressors)', () => {
  const table: [SyntheticVariant, Codec[], number][] = [
    ['gzip', ['gzip'], 0],
    ['ucode-zstd', ['none', 'zstd'], 1],
    ['xz', ['xz'], 0],
    ['bzip2', ['bzip2'], 0],
    ['lzma', ['lzma'], 0],
    ['lz4', ['lz4'], 0],
    ['plain', ['none'], 0],
  ];
  for (const [variant, codecs, rootfsAt] of table) {
    it(variant, async () => {
      const b = cache.get(variant);
      const l = await walkInitramfs(b.initramfs);
      expect(l.segments.map((s) => s.codec)).toEqual(codecs);
      expect(l.rootfsSegment).toBe(rootfsAt);
      const main = l.segments[rootfsAt]!;
      // 7 entries: . dev init rootfs.tar.gz usr usr/lib usr/lib/payload.bin
      expect(main.entries).toBe(7);
      expect(main.rootfs!.size).toBe(readFileSync(b.rootfsTar!).length);
      // The walk covers the file: the last segment ends at its end (but for NUL padding).
      const last = l.segments.at(-1)!;
      const rest = readFileSync(b.initramfs).subarray(last.offset + last.length);
      expect(rest.every((x) => x === 0)).toBe(true);
    });
  }
  it('the early microcode segment is found with its entries', async () => {
    const l = await walkInitramfs(cache.get('ucode-zstd').initramfs);
    expect(l.segments[0]).toMatchObject({ offset: 0, codec: 'none', entries: 5, rootfs: null });
    expect(l.segments[1]!.offset % 4).toBe(0);
  });
});

describe('many segments back to back, every codec', () => {
  it('finds each one at its exact offset', async () => {
    const parts: { codec: Codec; cmd: string }[] = [
      { codec: 'none', cmd: 'cat' },
      { codec: 'gzip', cmd: 'gzip -n -c' },
      { codec: 'zstd', cmd: 'zstd -q -c' },
      { codec: 'xz', cmd: 'xz --check=crc32 -c' },
      { codec: 'none', cmd: 'cat' },
      { codec: 'lz4', cmd: 'lz4 -q -l -c' },
      { codec: 'bzip2', cmd: 'bzip2 -c' },
      { codec: 'lzma', cmd: 'lzma -c' },
    ];
    const bufs: Buffer[] = [];
    const expected: { offset: number; codec: Codec; entries: number }[] = [];
    let pos = 0;
    parts.forEach((p, i) => {
      sh(`rm -rf d${i} && mkdir -p d${i}/sub && head -c ${1000 + i * 777} /dev/urandom > d${i}/sub/f${i}`);
      const cpio = sh(`cd d${i} && find . | LC_ALL=C sort | cpio --quiet -o -H newc | ${p.cmd}`);
      // NUL padding to 4 before a plain cpio, as the kernel needs; a few extra NULs elsewhere.
      const pad = p.codec === 'none' ? (4 - (pos % 4)) % 4 : i % 3;
      bufs.push(Buffer.alloc(pad), cpio);
      pos += pad;
      expected.push({ offset: pos, codec: p.codec, entries: 3 });
      pos += cpio.length;
    });
    const file = join(work, 'many.img');
    writeFileSync(file, Buffer.concat(bufs));
    const l = await walkInitramfs(file);
    expect(l.segments.map((s) => ({ offset: s.offset, codec: s.codec, entries: s.entries }))).toEqual(
      expected.map((e) => (e.codec === 'none' ? e : e)),
    );
  });
});

describe('bad initramfs files', () => {
  it('one cpio split over two gzip members: not ending at a TRAILER', async () => {
    sh(
      'rm -rf s && mkdir -p s && head -c 50000 /dev/urandom > s/a && (cd s && find . | cpio --quiet -o -H newc) > s.cpio',
    );
    sh('head -c 20000 s.cpio | gzip -n -c > split.img && tail -c +20001 s.cpio | gzip -n -c >> split.img');
    await expect(walkInitramfs(join(work, 'split.img'))).rejects.toThrow(
      /the gzip stream at offset 0 in .*split.img does not end at a cpio TRAILER/,
    );
  });
  it('unknown codec, with its bytes and offset', async () => {
    sh(
      'rm -rf u && mkdir u && echo x > u/x && (cd u && find . | cpio --quiet -o -H newc) > u.img && printf "\\x12\\x34zzzz" >> u.img',
    );
    const size = readFileSync(join(work, 'u.img')).length - 6;
    await expect(walkInitramfs(join(work, 'u.img'))).rejects.toThrow(
      new RegExp(`unknown codec \\(bytes 12 34\\) at offset ${size} in .*u.img`),
    );
  });
  it('truncated gzip', async () => {
    await expect(walkInitramfs(cache.get('truncated').initramfs)).rejects.toThrow(
      /gzip stream at offset 0 .* is truncated/,
    );
  });
  it('entry size past the end, naming entry and offset', async () => {
    await expect(walkInitramfs(cache.get('cpio-size-past-end').initramfs)).rejects.toThrow(
      /cpio entry 'usr\/lib\/payload.bin' at offset \d+ in the plain cpio segment at offset 0 in .* claims 268435455 bytes/,
    );
  });
  it('xz with CRC64', async () => {
    await expect(walkInitramfs(cache.get('xz-crc64').initramfs)).rejects.toThrow(/CRC64/);
  });
  it('a file that does not exist', async () => {
    await expect(walkInitramfs(join(work, 'nope.img'))).rejects.toThrow(/cannot read .*nope.img: ENOENT/);
  });
});
