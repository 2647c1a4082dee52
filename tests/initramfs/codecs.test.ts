import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type Codec,
  codecFromMagic,
  createEncoder,
  decodeAt,
  lz4DecodeBlock,
  type OutputCodec,
} from '../../electron/initramfs/codecs.ts';

const work = mkdtempSync(join(tmpdir(), 'emt-codecs-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sh = (cmd: string) =>
  execFileSync('bash', ['-euo', 'pipefail', '-c', cmd], { cwd: work, maxBuffer: 1 << 28 });

/** Semi-compressible data: random runs mixed with repeated text. */
function sample(size: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  let i = 0;
  while (n < size) {
    const b =
      i++ % 3 === 0 ? randomBytes(3000) : Buffer.from(`line ${i} of the sample text, repeated\n`.repeat(40));
    parts.push(b);
    n += b.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** Decode `file` from `offset` with our decoder; returns output and consumed length. */
async function decodeFile(file: string, codec: Exclude<Codec, 'none'>, offset = 0) {
  const fd = openSync(file, 'r');
  try {
    const out: Buffer[] = [];
    const len = await decodeAt({ fd, size: statSync(file).size, name: file }, offset, codec, (c) => {
      out.push(Buffer.from(c));
    });
    return { data: Buffer.concat(out), len };
  } finally {
    closeSync(fd);
  }
}

const TRAIL = Buffer.from('070701 next segment bytes');

describe('decoders find the exact end of a stream written by the real tool', () => {
  const data = sample(2_500_000);
  writeFileSync(join(work, 'data'), data);
  const cases: [Exclude<Codec, 'none'>, string][] = [
    ['gzip', 'gzip -c data'], // with FNAME in the header
    ['zstd', 'zstd -q -c -19 data'],
    ['xz', 'xz --check=crc32 -c data'],
    ['xz', 'xz --check=none -c data'],
    ['lzma', 'lzma -c data'],
    ['bzip2', 'bzip2 -c data'],
    ['lz4', 'lz4 -q -l -c data'],
  ];
  for (const [codec, cmd] of cases) {
    it(`${codec}: ${cmd}`, async () => {
      const z = sh(cmd);
      const head = Buffer.from('PAD!');
      writeFileSync(join(work, `s.${codec}`), Buffer.concat([head, z, TRAIL]));
      expect(codecFromMagic(z)).toBe(codec);
      const { data: out, len } = await decodeFile(join(work, `s.${codec}`), codec, head.length);
      expect(len).toBe(z.length);
      expect(out.equals(data)).toBe(true);
    });
  }

  it('gzip: stops after the first of two members', async () => {
    const a = sh('printf first | gzip -n -c');
    const b = sh('printf second | gzip -n -c');
    writeFileSync(join(work, 'two.gz'), Buffer.concat([a, b]));
    const r = await decodeFile(join(work, 'two.gz'), 'gzip');
    expect(r.len).toBe(a.length);
    expect(r.data.toString()).toBe('first');
    const r2 = await decodeFile(join(work, 'two.gz'), 'gzip', a.length);
    expect(r2.data.toString()).toBe('second');
  });

  it('lz4 legacy: several 8 MiB blocks, including an exact multiple of the block size', async () => {
    for (const size of [20 << 20, 16 << 20]) {
      const big = sample(size);
      writeFileSync(join(work, 'big'), big);
      const z = sh('lz4 -q -l -c big');
      writeFileSync(join(work, 'big.lz4t'), Buffer.concat([z, TRAIL]));
      const r = await decodeFile(join(work, 'big.lz4t'), 'lz4');
      expect(r.len).toBe(z.length);
      expect(r.data.equals(big)).toBe(true);
    }
  });

  it('bzip2: several blocks', async () => {
    const big = sample(2_000_000);
    writeFileSync(join(work, 'b2'), big);
    const z = sh('bzip2 -1 -c b2');
    writeFileSync(join(work, 'b2.t'), Buffer.concat([z, TRAIL]));
    const r = await decodeFile(join(work, 'b2.t'), 'bzip2');
    expect(r.len).toBe(z.length);
    expect(r.data.equals(big)).toBe(true);
  });

  it('truncated streams are errors naming codec, offset and file', async () => {
    for (const [codec, cmd] of cases) {
      const z = sh(cmd);
      const f = join(work, `cut.${codec}`);
      writeFileSync(f, z.subarray(0, Math.floor(z.length / 2)));
      await expect(decodeFile(f, codec)).rejects.toThrow(
        new RegExp(`${codec} stream at offset 0 in ${f} is truncated`),
      );
    }
  });

  it('xz with CRC64 is refused like the kernel does', async () => {
    writeFileSync(join(work, 'c64.xz'), sh('xz --check=crc64 -c data'));
    await expect(decodeFile(join(work, 'c64.xz'), 'xz')).rejects.toThrow(/uses the CRC64 integrity check/);
  });
});

describe('lz4 block decoder', () => {
  it('rejects a match offset before the start', () => {
    // token: 1 literal, match len 4; literal 'a'; offset 5 (> 1 byte written)
    expect(() => lz4DecodeBlock(Buffer.from([0x10, 0x61, 5, 0]), Buffer.alloc(64))).toThrow(/offset/);
  });
  it('copies overlapping matches byte by byte', () => {
    // 'ab' then match offset 2 len 6 -> 'abababab', then final literal 'z'
    const n = Buffer.alloc(16);
    const len = lz4DecodeBlock(Buffer.from([0x22, 0x61, 0x62, 2, 0, 0x10, 0x7a]), n);
    expect(n.subarray(0, len).toString()).toBe('ababababz');
  });
});

describe('encoders are read by the real tools', () => {
  const data = sample(1_000_000);
  const tools: Record<OutputCodec, string> = {
    gzip: 'gzip -t enc && gzip -dc enc',
    zstd: 'zstd -q -t enc && zstd -q -dc enc',
    xz: 'xz -t enc && xz -dc enc',
    none: 'cat enc',
  };
  for (const codec of Object.keys(tools) as OutputCodec[]) {
    it(codec, async () => {
      const enc = createEncoder(codec);
      const out: Buffer[] = [];
      const done = (async () => {
        for await (const c of enc) out.push(c as Buffer);
      })();
      for (let i = 0; i < data.length; i += 65536) enc.write(data.subarray(i, i + 65536));
      enc.end();
      await done;
      writeFileSync(join(work, 'enc'), Buffer.concat(out));
      expect(sh(tools[codec]).equals(data)).toBe(true);
      if (codec === 'xz') expect(sh('xz --robot -lvv enc').toString()).toMatch(/\bCRC32\b/);
    });
  }
});

it('reads a file the tool wrote to disk, unchanged', () => {
  expect(readFileSync(join(work, 'data')).length).toBe(2_500_000);
});
