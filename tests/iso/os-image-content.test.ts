// The OS image content check (issue 13 item 4): with a checksum, the container's
// header and trailer; without, the whole stream. Streams made by the real gzip,
// xz and zstd tools; damage done in code.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkOsImageEnds,
  codecOfName,
  describeOsImageCheck,
  osImageCodec,
  testOsImageStream,
} from '../../electron/iso/os-image-content.ts';
import { seededBytes } from './build-fixture.ts';

let dir: string;
/** A compressible "disk": seeded blocks among zeros, 3 MiB. */
let raw: Buffer;
const made = new Map<string, string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-os-content-'));
  raw = Buffer.alloc(3 * 2 ** 20);
  for (let i = 0; i < raw.length; i += 64 * 1024) seededBytes(`blk${i}`, 4096).copy(raw, i);
  writeFileSync(join(dir, 'disk.raw'), raw);
  for (const [codec, cmd, ext] of [
    ['gzip', 'gzip -n -c', '.raw.gz'],
    ['xz', 'xz -c', '.raw.xz'],
    ['zstd', 'zstd -q -c', '.raw.zst'],
  ] as const) {
    const p = join(dir, `os${ext}`);
    writeFileSync(p, execFileSync('bash', ['-c', `${cmd} ${join(dir, 'disk.raw')}`], { maxBuffer: 1 << 26 }));
    made.set(codec, p);
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const size = (p: string) => readFileSync(p).length;
const variant = (from: string, name: string, change: (b: Buffer) => Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, change(Buffer.from(readFileSync(from))));
  return p;
};

describe('osImageCodec and codecOfName', () => {
  it('pick what the installer picks, and what the name promises', () => {
    expect(osImageCodec(Buffer.from('1f8b0800', 'hex'))).toBe('gzip');
    expect(osImageCodec(Buffer.from('fd377a585a00', 'hex'))).toBe('xz');
    expect(osImageCodec(Buffer.from('28b52ffd', 'hex'))).toBe('zstd');
    expect(osImageCodec(Buffer.from('eb3c90', 'hex'))).toBe('raw');
    expect(codecOfName('a/emt.raw.gz')).toBe('gzip');
    expect(codecOfName('emt.img.XZ')).toBe('xz');
    expect(codecOfName('emt.raw.zst')).toBe('zstd');
    expect(codecOfName('emt.raw')).toBeNull();
  });
});

describe('intact images', () => {
  it('pass both checks; the stream test counts the raw bytes', async () => {
    for (const [codec, p] of made) {
      expect(await checkOsImageEnds(p, size(p))).toBe(codec);
      const r = await testOsImageStream(p, codec as 'gzip');
      expect(r).toEqual({ codec, checksum: false, mode: 'stream', rawBytes: raw.length });
      expect(describeOsImageCheck(r)).toMatch(
        new RegExp(
          `^OS image: ${codec}, no checksum given \\(--os-image-sha256\\): its whole stream was decompressed \\(3\\.0 MiB\\)`,
        ),
      );
    }
    expect(describeOsImageCheck({ codec: 'gzip', checksum: true, mode: 'ends' })).toMatch(
      /sha256 matches the given checksum; the gzip header and trailer were checked/,
    );
    // A very compressible image: its first 64 KiB stand for far more than we inflate to look.
    const zeros = join(dir, 'zeros.raw.gz');
    writeFileSync(zeros, gzipSync(Buffer.alloc(200 * 2 ** 20), { level: 9 }));
    expect(await checkOsImageEnds(zeros, size(zeros))).toBe('gzip');
    // Concatenated gzip members, as pigz and cat make them, are one valid stream.
    const two = variant(made.get('gzip')!, 'two.raw.gz', (b) => Buffer.concat([b, b]));
    expect((await testOsImageStream(two, 'gzip')).rawBytes).toBe(2 * raw.length);
  });
});

describe('broken images', () => {
  it('random bytes named .raw.gz, .xz, .zst are refused at the cheap check, naming the file', async () => {
    for (const ext of ['.raw.gz', '.raw.xz', '.raw.zst']) {
      const p = join(dir, `random${ext}`);
      writeFileSync(p, seededBytes(`random${ext}`, 100_000));
      await expect(checkOsImageEnds(p, size(p))).rejects.toThrow(
        new RegExp(`^OS image ${p.replace(/[.]/g, '\\.')}: is named as \\w+ but is not \\w+ data`),
      );
    }
    // An xz file named .gz: the name and the content disagree.
    const xzAsGz = variant(made.get('xz')!, 'xz-as.raw.gz', (b) => b);
    await expect(checkOsImageEnds(xzAsGz, size(xzAsGz))).rejects.toThrow(
      /is named as gzip but holds xz data/,
    );
    // A gzip magic over random bytes: the header does not decode.
    const fake = variant(made.get('gzip')!, 'fake.raw.gz', (b) =>
      Buffer.concat([b.subarray(0, 10), seededBytes('f', 70_000)]),
    );
    await expect(checkOsImageEnds(fake, size(fake))).rejects.toThrow(/its gzip stream does not decode/);
  });

  it('an xz cut short or with a damaged footer fails the cheap check', async () => {
    const xz = made.get('xz')!;
    const cut = variant(xz, 'cut.raw.xz', (b) => b.subarray(0, Math.floor(b.length / 2)));
    await expect(checkOsImageEnds(cut, size(cut))).rejects.toThrow(/no intact footer/);
  });

  it('cut short or with 4 bytes zeroed: the stream test refuses, naming the file and the codec', async () => {
    for (const [codec, p] of made) {
      const cut = variant(p, `cut-${codec}`, (b) => b.subarray(0, Math.floor(b.length * 0.6)));
      const zeroed = variant(p, `zeroed-${codec}`, (b) => {
        b.fill(0, Math.floor(b.length / 2), Math.floor(b.length / 2) + 4);
        return b;
      });
      for (const bad of [cut, zeroed])
        await expect(testOsImageStream(bad, codec as 'gzip')).rejects.toThrow(
          new RegExp(
            `^OS image ${bad}: its ${codec} stream is truncated or corrupt .*every install from it would fail`,
          ),
        );
    }
  });

  it('stops when cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(testOsImageStream(made.get('gzip')!, 'gzip', { signal: ac.signal })).rejects.toThrow(
      /cancelled/,
    );
  });
});
