// Splicing at every deflate block start of real gzip streams (so every bit
// position 0-7 of a cut occurs), checked by zlib and by the gzip tool.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alignAfterCut,
  type BlockBoundary,
  exactBlockStart,
  freshDeflate,
  GzipBlockReader,
  gzipHeaderLength,
  gzipTrailer,
  type InflateEngine,
  nativeInflateAvailable,
} from '../../electron/initramfs/gzip-splice.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-gzsplice-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Mixed data: text (Huffman blocks), random (stored blocks), zero runs. */
function sample(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    parts.push(
      Buffer.from(Array.from({ length: 800 }, (_, j) => `row ${i}.${j} value ${(i * j) % 113}\n`).join('')),
    );
    if (i % 7 === 0) parts.push(randomBytes(70_000));
    if (i % 5 === 0) parts.push(Buffer.alloc(50_000));
  }
  return Buffer.concat(parts);
}

function decode(
  gz: Buffer,
  feed = 4096,
  engine: InflateEngine = 'pako',
): { data: Buffer; boundaries: BlockBoundary[] } {
  const chunks: Uint8Array[] = [];
  const boundaries: BlockBoundary[] = [];
  const r = new GzipBlockReader(
    't.gz',
    {
      onData: (d) => chunks.push(d),
      onBoundary: (b) => boundaries.push(b),
    },
    engine,
  );
  for (let p = 0; p < gz.length; p += feed) r.push(gz.subarray(p, p + feed));
  r.end();
  return { data: Buffer.concat(chunks), boundaries };
}

describe('GzipBlockReader', () => {
  for (const level of [1, 6, 9]) {
    it(`finds block starts in gzip -${level} output, and splicing at each one is valid gzip`, async () => {
      const data = sample();
      const gz = execFileSync('gzip', [`-${level}`, '-c'], { input: data, maxBuffer: 1 << 28 });
      // Odd feed sizes split headers, blocks and the trailer across pushes.
      const { data: out, boundaries } = decode(gz, 997);
      expect(out.equals(data)).toBe(true);
      expect(boundaries.length).toBeGreaterThan(5);
      expect(boundaries[0]).toMatchObject({ bit: 80, out: 0, member: 0, crc: 0 });
      const bitsSeen = new Set<number>();
      const extra = Buffer.from('APPENDED TAIL\n'.repeat(50));
      for (const b of boundaries) {
        bitsSeen.add(b.bit % 8);
        expect(b.crc).toBe(crc32(data.subarray(0, b.out)));
        const byte = Math.floor(b.bit / 8);
        const tail = data.subarray(b.out);
        const spliced = Buffer.concat([
          gz.subarray(0, byte),
          alignAfterCut(gz[byte]!, b.bit % 8),
          freshDeflate(Buffer.concat([tail, extra]), data.subarray(Math.max(0, b.out - 32768), b.out)),
          gzipTrailer(crc32(extra, crc32(tail, b.crc)), data.length + extra.length),
        ]);
        expect(gunzipSync(spliced).equals(Buffer.concat([data, extra]))).toBe(true);
      }
      // Real streams cut at many different bit offsets: the stored-block alignment is exercised.
      expect(bitsSeen.size).toBeGreaterThanOrEqual(level === 1 ? 4 : 5);
      const last = boundaries.at(-1)!;
      const f = join(dir, `last-${level}.gz`);
      const byte = Math.floor(last.bit / 8);
      await writeFile(
        f,
        Buffer.concat([
          gz.subarray(0, byte),
          alignAfterCut(gz[byte]!, last.bit % 8),
          freshDeflate(
            Buffer.concat([data.subarray(last.out), extra]),
            data.subarray(last.out - 32768, last.out),
          ),
          gzipTrailer(crc32(extra, crc32(data.subarray(last.out), last.crc)), data.length + extra.length),
        ]),
      );
      execFileSync('gzip', ['-t', f]);
    });
  }

  it('uses Node zlib (native) by default on this Node', () => {
    expect(nativeInflateAvailable()).toBe(true);
    expect(new GzipBlockReader('t.gz', { onData: () => {}, onBoundary: () => {} }).engine).toBe('native');
  });

  for (const level of [1, 6, 9]) {
    it(`native decoder (gzip -${level}): the same data, block starts within 7 bits of pako's, pinned exactly or not at all`, () => {
      const data = sample();
      const gz = execFileSync('gzip', [`-${level}`, '-c'], { input: data, maxBuffer: 1 << 28 });
      const exact = decode(gz, 997, 'pako');
      const native = decode(gz, 997, 'native');
      expect(native.data.equals(data)).toBe(true);
      const byOut = new Map(exact.boundaries.map((b) => [b.out, b]));
      // Only stops that fall exactly on a feed's end go unseen.
      expect(native.boundaries.length).toBeGreaterThan(exact.boundaries.length * 0.9);
      let pinned = 0;
      for (const b of native.boundaries) {
        const e = byOut.get(b.out);
        expect(e, `native block start at out ${b.out} is one pako saw`).toBeDefined();
        expect(b.crc).toBe(e!.crc);
        expect(e!.bit).toBeGreaterThanOrEqual(b.bit - b.slack);
        expect(e!.bit).toBeLessThanOrEqual(b.bit);
        const from = Math.floor((b.bit - b.slack) / 8);
        const got = exactBlockStart(
          b,
          gz.subarray(from),
          from,
          data.subarray(Math.max(0, b.out - 32768), b.out),
          data.subarray(b.out, b.out + 70_000),
        );
        if (got !== null) {
          expect(got).toBe(e!.bit); // never a wrong bit
          pinned++;
        }
      }
      expect(pinned).toBeGreaterThan(native.boundaries.length * 0.5);
      // Run to the stream's end, the check also demands the stream stops there.
      const last = native.boundaries.at(-1)!;
      const from = Math.floor((last.bit - 7) / 8);
      const args = [last, gz.subarray(from), from, data.subarray(last.out - 32768, last.out)] as const;
      expect(exactBlockStart(...args, data.subarray(last.out), true)).toBe(byOut.get(last.out)!.bit);
      expect(exactBlockStart(...args, data.subarray(last.out, data.length - 1), true)).toBeNull();
    });
  }

  it('native decoder: several members, trailing zeros, CRC and corruption checks', () => {
    const a = execFileSync('gzip', ['-c'], { input: Buffer.from('first member\n') });
    const b = execFileSync('gzip', ['-c'], { input: Buffer.from('second member\n') });
    const { data, boundaries } = decode(Buffer.concat([a, b, Buffer.alloc(100)]), 7, 'native');
    expect(data.toString()).toBe('first member\nsecond member\n');
    expect(boundaries.filter((x) => x.out === 13)).toMatchObject([{ member: 1, memberOut: 13, slack: 0 }]);
    const bad = Buffer.from(a);
    bad[bad.length - 8] = bad[bad.length - 8]! ^ 1;
    expect(() => decode(bad, 4096, 'native')).toThrow(
      /t.gz: gzip member at byte 0 fails its CRC\/size check/,
    );
    expect(() => decode(a.subarray(0, a.length - 3), 4096, 'native')).toThrow(/gzip data is truncated/);
    const big = execFileSync('gzip', ['-c'], { input: sample(), maxBuffer: 1 << 28 });
    const broken = Buffer.from(big);
    broken.fill(0xff, 5000, 5100); // garbage inside Huffman-coded data
    expect(() => decode(broken, 4096, 'native')).toThrow(
      /t.gz: (corrupt deflate data near byte \d+|gzip member)/,
    );
  });

  it('aligns with an empty stored block for every bit position', () => {
    for (let bit = 0; bit < 8; bit++) {
      const a = alignAfterCut(0xff, bit);
      if (bit === 0) expect(a.length).toBe(0);
      else {
        expect(a[0]).toBe((1 << bit) - 1);
        expect(a.length).toBe(bit > 5 ? 6 : 5);
        expect([...a.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]);
      }
    }
  });

  it('reads gzip headers with every optional field, split anywhere', () => {
    const head = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3, 3, 0, 1, 2, 3]),
      Buffer.from('name\0comment\0'),
      Buffer.from([0xaa, 0xbb]),
    ]);
    expect(gzipHeaderLength(head, 0, 'f')).toBe(head.length);
    for (let cut = 0; cut < head.length; cut++)
      expect(gzipHeaderLength(head.subarray(0, cut), 0, 'f')).toBeNull();
    expect(() => gzipHeaderLength(Buffer.from('PK\x03\x04xxxxxxxx'), 0, 'f.zip')).toThrow(
      /f.zip: not a gzip file/,
    );
    expect(() => gzipHeaderLength(Buffer.from([0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0]), 0, 'f')).toThrow(
      /not deflate/,
    );
  });

  it('decodes several members and trailing zeros, and checks each CRC', () => {
    const a = execFileSync('gzip', ['-c'], { input: Buffer.from('first member\n') });
    const b = execFileSync('gzip', ['-c'], { input: Buffer.from('second member\n') });
    const { data, boundaries } = decode(Buffer.concat([a, b, Buffer.alloc(100)]), 7);
    expect(data.toString()).toBe('first member\nsecond member\n');
    expect(boundaries.filter((x) => x.out === 13)).toMatchObject([{ member: 1, memberOut: 13, crc: 0 }]);
    const bad = Buffer.from(a);
    bad[bad.length - 8] = bad[bad.length - 8]! ^ 1;
    expect(() => decode(bad)).toThrow(/t.gz: gzip member at byte 0 fails its CRC\/size check/);
    expect(() => decode(a.subarray(0, a.length - 3))).toThrow(/gzip data is truncated/);
  });
});
