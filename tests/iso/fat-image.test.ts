import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IsoError } from '../../electron/iso/errors.ts';
import {
  clusterSectors,
  type FatImageOptions,
  fatDateTime,
  makeFatImage,
  readGeometry,
} from '../../electron/iso/fat-image.ts';
import { inspectFat, sha256 } from './fat-image-check.ts';

const EPOCH = 1764115200; // 2025-11-26 00:00:00 UTC
// Pseudo-random but fixed bytes: catches a copy that drops or reorders chunks.
const noise = (n: number, seed = 7): Buffer => {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};

const base = (over: Partial<FatImageOptions> = {}): FatImageOptions => ({
  sizeBytes: 8 * 1024 * 1024,
  fat: 16,
  label: 'TESTVOL',
  serial: 0xdeadbeef,
  dateEpoch: EPOCH,
  files: [
    { path: 'EFI/BOOT/BOOTX64.EFI', data: noise(1_500_000) },
    { path: 'hello.txt', data: Buffer.from('hello\n') },
    { path: 'deep/a/b/Long File Name.conf', data: Buffer.from('x=1\n') },
  ],
  ...over,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('makeFatImage', () => {
  it.each([
    [12, 2 * 1024 * 1024, 'FAT12', 'FAT (12 bit)'],
    [16, 8 * 1024 * 1024, 'FAT16', 'FAT (16 bit)'],
    [32, 40 * 1024 * 1024, 'FAT32', 'FAT (32 bit)'],
  ] as const)(
    'FAT%i image of %i bytes is fsck-clean, labelled and readable',
    async (fat, sizeBytes, version, fileType) => {
      const opts = base({ fat, sizeBytes, label: `VOL_${fat}` });
      const img = await makeFatImage(opts);
      expect(img.length).toBe(sizeBytes);
      const r = inspectFat(img);
      expect(r.fsck.status, r.fsck.output).toBe(0);
      expect(r.fsck.output).not.toMatch(/differ|dirty|wrong|invalid/i);
      expect(r.blkid.TYPE).toBe('vfat');
      expect(r.blkid.VERSION).toBe(version);
      expect(r.blkid.LABEL).toBe(`VOL_${fat}`);
      expect(r.blkid.LABEL_FATBOOT).toBe(`VOL_${fat}`);
      expect(r.blkid.UUID).toBe('DEAD-BEEF');
      expect(r.file).toContain(fileType);
      expect(r.file).toContain('serial number 0xdeadbeef');
      expect(r.tree).toEqual(
        [
          'EFI',
          'EFI/BOOT',
          'EFI/BOOT/BOOTX64.EFI',
          'deep',
          'deep/a',
          'deep/a/b',
          'deep/a/b/Long File Name.conf',
          'hello.txt',
        ].sort(),
      );
      for (const f of opts.files) expect(sha256(r.read(f.path))).toBe(sha256(f.data as Buffer));
      expect(readGeometry(img).type).toBe(fat);
    },
  );

  it('stamps every entry with the given date (UTC) and ignores the wall clock and time zone', async () => {
    const a = await makeFatImage(base());
    vi.useFakeTimers({ now: new Date('2031-05-05T13:37:11Z') });
    const tz = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      const b = await makeFatImage(base());
      expect(sha256(b)).toBe(sha256(a));
    } finally {
      process.env.TZ = tz;
    }
    // Every short directory entry's write time/date (offsets 22/24) equals the epoch's.
    const { date, time } = fatDateTime(EPOCH);
    const g = readGeometry(a);
    const root = a.subarray(g.rootDirOffset, g.rootDirOffset + 512 * 32);
    let seen = 0;
    for (let o = 0; o < root.length && root[o] !== 0; o += 32) {
      if (root[o] === 0xe5 || root[o + 11] === 0x0f) continue; // deleted / long-name slot
      expect(root.readUInt16LE(o + 22)).toBe(time);
      expect(root.readUInt16LE(o + 24)).toBe(date);
      seen++;
    }
    expect(seen).toBe(4); // label, EFI, hello.txt, deep
  });

  it('changes when an input changes (the hash compares something)', async () => {
    const a = sha256(await makeFatImage(base()));
    expect(sha256(await makeFatImage(base({ serial: 1 })))).not.toBe(a);
    expect(sha256(await makeFatImage(base({ dateEpoch: EPOCH + 2 })))).not.toBe(a);
    expect(sha256(await makeFatImage(base({ label: 'OTHER' })))).not.toBe(a);
  });

  it('reads file data from a path on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fatsrc-'));
    try {
      const data = noise(3 * 1024 * 1024 + 17, 99); // more than one read chunk
      writeFileSync(join(dir, 'big.bin'), data);
      const img = await makeFatImage(base({ files: [{ path: 'big.bin', data: join(dir, 'big.bin') }] }));
      expect(sha256(inspectFat(img).read('big.bin'))).toBe(sha256(data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fsck.fat notices a damaged image (the check can fail)', async () => {
    const img = await makeFatImage(base());
    const g = readGeometry(img);
    img.writeUInt32LE(0x12345678, g.rootDirOffset + 32 * 2 + 28); // a file's size
    const r = inspectFat(img);
    expect(r.fsck.status).not.toBe(0);
  });

  it.each([
    [{ label: 'lower' }, /FAT label 'lower'/],
    [{ label: 'TWELVE_CHARS' }, /FAT label/],
    [{ sizeBytes: 1000 }, /multiple of 512/],
    [{ fat: 32 as const, sizeBytes: 8 * 1024 * 1024 }, /cannot hold a FAT32/],
    [{ serial: -1 }, /32-bit/],
    [{ dateEpoch: 0 }, /1980-2107/],
    [{ files: [{ path: '../x', data: Buffer.alloc(1) }] }, /must be relative/],
    [{ files: [{ path: '/x', data: Buffer.alloc(1) }] }, /must be relative/],
    [{ files: [{ path: 'a?b', data: Buffer.alloc(1) }] }, /not a valid FAT file name/],
    [
      {
        files: [
          { path: 'A.TXT', data: Buffer.alloc(1) },
          { path: 'a.txt', data: Buffer.alloc(1) },
        ],
      },
      /given twice/,
    ],
    [
      { sizeBytes: 2 * 1024 * 1024, fat: 12 as const, files: [{ path: 'big', data: Buffer.alloc(3 << 20) }] },
      /big does not fit/,
    ],
    [
      { files: [{ path: 'x', data: '/nonexistent/file.bin' }] },
      /cannot read \/nonexistent\/file\.bin: ENOENT/,
    ],
  ])('refuses %j with an IsoError', async (over, msg) => {
    // 'FILL:n' stands for n zero bytes (keeps the test name short).
    const files = (over as Partial<FatImageOptions>).files?.map((f) =>
      typeof f.data === 'string' && f.data.startsWith('FILL:')
        ? { ...f, data: Buffer.alloc(Number(f.data.slice(5))) }
        : f,
    );
    const opts = base({ ...(over as Partial<FatImageOptions>), ...(files ? { files } : {}) });
    const err = await makeFatImage(opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IsoError);
    expect((err as IsoError).message).toMatch(msg);
  });
});

describe('clusterSectors', () => {
  it('picks cluster sizes in range for each type', () => {
    expect(clusterSectors(4096, 12)).toBe(2);
    expect(clusterSectors(16384, 16)).toBe(1);
    expect(clusterSectors(131072, 32)).toBe(1);
    expect(clusterSectors(65536, 32)).toBeNull(); // 32 MiB is too small for FAT32
    expect(clusterSectors(128, 16)).toBeNull();
  });
});
