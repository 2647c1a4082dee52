// Streaming decoders for every codec the kernel reads in an initramfs, each reporting
// exactly where its compressed stream ends (the segment walker continues there), and
// encoders for the codecs we write. Magic bytes as in lib/decompress.c.
import { read as fsRead, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PassThrough, type Transform } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import lzma from 'lzma-native';
import Bunzip from 'seek-bzip';
import { CompressStream } from 'zstd-napi';
import { isEmtError } from '../errors.ts';
import { InitramfsError } from './errors.ts';

type ZstdBinding = typeof import('zstd-napi/binding.js');
const zstdBinding = createRequire(import.meta.url)('zstd-napi/binding.js') as ZstdBinding;

export type Codec = 'none' | 'gzip' | 'zstd' | 'xz' | 'lz4' | 'bzip2' | 'lzma';
export type OutputCodec = 'none' | 'gzip' | 'zstd' | 'xz';
export const OUTPUT_CODECS: readonly OutputCodec[] = ['none', 'gzip', 'zstd', 'xz'];
export const isOutputCodec = (c: string): c is OutputCodec =>
  (OUTPUT_CODECS as readonly string[]).includes(c);

/** The kernel picks a decompressor from the first two bytes only. */
export function codecFromMagic(b: Uint8Array): Codec | 'lzo' | null {
  if (b.length < 2) return null;
  const m = (b[0]! << 8) | b[1]!;
  switch (m) {
    case 0x1f8b:
    case 0x1f9e:
      return 'gzip';
    case 0x28b5:
      return 'zstd';
    case 0xfd37:
      return 'xz';
    case 0x0221:
      return 'lz4';
    case 0x425a:
      return 'bzip2';
    case 0x5d00:
      return 'lzma';
    case 0x894c:
      return 'lzo';
    default:
      return null;
  }
}

export type ByteSink = (chunk: Buffer) => void | Promise<void>;

/** Positional reads from an open file, with its name for messages. */
export interface FileSource {
  fd: number;
  size: number;
  name: string;
  /** Where position 0 sits in the file (an initramfs inside an ISO); default 0. */
  base?: number;
}

const pread = promisify(fsRead);
const CHUNK = 1 << 20;
/** zlib's output step (its default, 16 KiB, costs more in stream overhead than the inflate). */
const ZLIB_CHUNK = 1 << 20;

export async function readAt(src: FileSource, pos: number, len: number): Promise<Buffer> {
  const n = Math.max(0, Math.min(len, src.size - pos));
  const buf = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await pread(src.fd, buf, got, n - got, (src.base ?? 0) + pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === n ? buf : buf.subarray(0, got);
}

const truncated = (codec: string, src: FileSource, offset: number, why: string) =>
  new InitramfsError(
    'TRUNCATED',
    `${codec} stream at offset ${offset} in ${src.name} is truncated or corrupt (${why})`,
    src.name,
  );

/** An error from our own sink (e.g. the rootfs rewrite refusing an entry) passes
 * through unchanged; anything else the decoder threw means bad compressed data. */
const decodeFailure = (e: unknown, codec: string, src: FileSource, offset: number): Error =>
  isEmtError(e) ? e : truncated(codec, src, offset, (e as Error).message);

/**
 * Decode the compressed stream of `codec` starting at `offset`, passing output to
 * `sink` (awaited: backpressure). Resolves to the compressed length, so the next
 * segment starts at offset + length.
 */
export async function decodeAt(
  src: FileSource,
  offset: number,
  codec: Exclude<Codec, 'none'>,
  sink: ByteSink,
  signal?: AbortSignal,
): Promise<number> {
  switch (codec) {
    case 'gzip':
      return decodeGzip(src, offset, sink, signal);
    case 'zstd':
      return decodeZstd(src, offset, sink, signal);
    case 'xz':
      return decodeXz(src, offset, sink, signal);
    case 'lzma':
      return decodeLzma(src, offset, sink, signal);
    case 'lz4':
      return decodeLz4Legacy(src, offset, sink, signal);
    case 'bzip2':
      return decodeBzip2(src, offset, sink, signal);
  }
}

/** Feed file bytes from `start` into `t` until it ends, draining its output into `sink`. */
async function viaTransform(
  t: Transform,
  src: FileSource,
  start: number,
  sink: ByteSink,
  signal: AbortSignal | undefined,
): Promise<void> {
  let finished = false;
  const feed = async () => {
    let pos = start;
    while (!finished && !t.destroyed) {
      const chunk = await readAt(src, pos, CHUNK);
      if (finished || t.destroyed) return;
      if (chunk.length === 0) {
        t.end();
        return;
      }
      pos += chunk.length;
      if (!t.write(chunk)) {
        await new Promise<void>((res) => {
          const done = () => {
            t.off('drain', done);
            t.off('close', done);
            t.off('end', done);
            res();
          };
          t.on('drain', done);
          t.on('close', done);
          t.on('end', done);
        });
      }
    }
  };
  const feeding = feed().catch((e: unknown) => t.destroy(e as Error));
  try {
    await drainTo(t, sink, signal);
  } finally {
    finished = true;
    t.destroy();
  }
  await feeding;
}

/**
 * Pass every chunk `t` produces to `sink` (awaited: backpressure) until it ends.
 * Events, not for-await: lzma-native's readable-stream 3 iterator can miss 'end'.
 */
export function drainTo(t: Transform, sink: ByteSink, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pending: Promise<void> = Promise.resolve();
    let ended = false;
    t.on('data', (c: Buffer) => {
      try {
        signal?.throwIfAborted();
        const r = sink(c);
        if (r instanceof Promise) {
          t.pause();
          pending = r.then(
            () => void t.resume(),
            (e: unknown) => reject(e),
          );
        }
      } catch (e) {
        reject(e);
      }
    });
    t.once('end', () => {
      ended = true;
      pending.then(resolve, reject);
    });
    t.once('error', reject);
    t.once('close', () => {
      if (!ended) reject(new Error('stream closed before its end'));
    });
  });
}

/** Length of a gzip member header (RFC 1952), or throws. */
export function gzipHeaderLength(b: Buffer, where: string): number {
  if (b.length < 10) throw new Error('header cut off');
  if (b[0] !== 0x1f || b[1] !== 0x8b) throw new Error(`bad gzip magic in ${where}`);
  if (b[2] !== 8) throw new Error(`gzip method ${b[2]} is not deflate`);
  const flags = b[3]!;
  let p = 10;
  if (flags & 4) {
    if (b.length < p + 2) throw new Error('header cut off');
    p += 2 + b.readUInt16LE(p);
  }
  for (const bit of [8, 16]) {
    if (flags & bit) {
      const z = b.indexOf(0, p);
      if (z < 0) throw new Error('header cut off');
      p = z + 1;
    }
  }
  if (flags & 2) p += 2;
  if (p > b.length) throw new Error('header cut off');
  return p;
}

async function decodeGzip(src: FileSource, offset: number, sink: ByteSink, signal?: AbortSignal) {
  const head = await readAt(src, offset, 65536);
  let hlen: number;
  try {
    hlen = gzipHeaderLength(head, src.name);
  } catch (e) {
    throw decodeFailure(e, 'gzip', src, offset);
  }
  // Raw inflate of one member: node's gunzip would run on into a following member.
  const inflate = zlib.createInflateRaw({ chunkSize: ZLIB_CHUNK });
  let crc = 0;
  let size = 0;
  try {
    await viaTransform(
      inflate,
      src,
      offset + hlen,
      (c) => {
        crc = zlib.crc32(c, crc);
        size += c.length;
        return sink(c);
      },
      signal,
    );
  } catch (e) {
    if (signal?.aborted) throw e;
    throw decodeFailure(e, 'gzip', src, offset);
  }
  const deflated = inflate.bytesWritten;
  const tail = await readAt(src, offset + hlen + deflated, 8);
  if (tail.length < 8) throw truncated('gzip', src, offset, 'trailer missing');
  if (tail.readUInt32LE(0) !== crc >>> 0 || tail.readUInt32LE(4) !== size % 2 ** 32) {
    throw truncated('gzip', src, offset, 'CRC or length mismatch');
  }
  return hlen + deflated + 8;
}

async function decodeZstd(src: FileSource, offset: number, sink: ByteSink, signal?: AbortSignal) {
  const dctx = new zstdBinding.DCtx();
  let pos = offset;
  for (;;) {
    signal?.throwIfAborted();
    const chunk = await readAt(src, pos, CHUNK);
    if (chunk.length === 0) throw truncated('zstd', src, offset, 'frame not finished at end of file');
    let i = 0;
    while (i < chunk.length) {
      const out = Buffer.allocUnsafe(1 << 17);
      let r: [number, number, number];
      try {
        r = dctx.decompressStream(out, chunk.subarray(i));
      } catch (e) {
        throw decodeFailure(e, 'zstd', src, offset);
      }
      const [ret, produced, consumed] = r;
      i += consumed;
      if (produced > 0) await sink(out.subarray(0, produced));
      // 0: the frame is fully decoded and flushed.
      if (ret === 0) return pos + i - offset;
    }
    pos += chunk.length;
  }
}

/** xz stream header: magic, 2 flag bytes (check id in the low nibble of the second). */
export function xzCheckId(head: Buffer): number {
  return head.length >= 8 ? head[7]! & 0x0f : -1;
}
const XZ_CHECKS: Record<number, string> = { 0: 'none', 1: 'CRC32', 4: 'CRC64', 10: 'SHA-256' };

async function decodeXz(src: FileSource, offset: number, sink: ByteSink, signal?: AbortSignal) {
  const head = await readAt(src, offset, 12);
  if (head.length < 12) throw truncated('xz', src, offset, 'stream header cut off');
  const check = xzCheckId(head);
  if (check !== 0 && check !== 1) {
    throw new InitramfsError(
      'XZ_CHECK',
      `xz stream at offset ${offset} in ${src.name} uses the ${XZ_CHECKS[check] ?? `#${check}`} integrity check; the kernel only reads CRC32 or none (xz --check=crc32)`,
      src.name,
    );
  }
  return lzmaFamily('xz', 'streamDecoder', src, offset, sink, signal);
}

const decodeLzma = (src: FileSource, offset: number, sink: ByteSink, signal?: AbortSignal) =>
  lzmaFamily('lzma', 'aloneDecoder', src, offset, sink, signal);

async function lzmaFamily(
  name: string,
  coder: string,
  src: FileSource,
  offset: number,
  sink: ByteSink,
  signal?: AbortSignal,
) {
  const t = lzma.createStream(coder, {});
  // lzma-native restarts the decoder after a stream ends (for concatenated .xz);
  // we want it to stop there, like the kernel, and tell us how much it consumed.
  if (t.nativeStream) t.nativeStream._restart = null;
  let ended = false;
  t.once('end', () => {
    ended = true;
  });
  try {
    await viaTransform(t, src, offset, sink, signal);
  } catch (e) {
    if (signal?.aborted) throw e;
    throw decodeFailure(e, name, src, offset);
  }
  if (!ended) throw truncated(name, src, offset, 'stream not finished');
  const n = t.totalIn();
  if (offset + n > src.size || n === 0) throw truncated(name, src, offset, 'stream not finished');
  return n;
}

// Legacy lz4 (lz4 -l): magic 0x184C2102, then blocks of a 4-byte LE compressed size +
// an LZ4 block, each decoding to 8 MiB except the last. No end marker: the stream
// ends after a short block, or where the next size word is implausible.
const LZ4_LEGACY_MAGIC = 0x184c2102;
const LZ4_BLOCK = 8 << 20;
const LZ4_BOUND = LZ4_BLOCK + Math.floor(LZ4_BLOCK / 255) + 16;

/** Decode one LZ4 block (the raw block format) into `out`; returns the length written. */
export function lz4DecodeBlock(src: Uint8Array, out: Uint8Array): number {
  let s = 0;
  let d = 0;
  const bad = (why: string) => new Error(`bad LZ4 block: ${why}`);
  while (s < src.length) {
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (s >= src.length) throw bad('literal length cut off');
        b = src[s++]!;
        lit += b;
      } while (b === 255);
    }
    if (s + lit > src.length) throw bad('literals past the end');
    if (d + lit > out.length) throw bad('output overflow');
    out.set(src.subarray(s, s + lit), d);
    s += lit;
    d += lit;
    if (s >= src.length) break; // the last sequence has literals only
    if (s + 2 > src.length) throw bad('offset cut off');
    const off = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (off === 0 || off > d) throw bad('match offset out of range');
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (s >= src.length) throw bad('match length cut off');
        b = src[s++]!;
        len += b;
      } while (b === 255);
    }
    if (d + len > out.length) throw bad('output overflow');
    if (off >= len) {
      out.copyWithin(d, d - off, d - off + len);
      d += len;
    } else {
      for (let k = 0; k < len; k++, d++) out[d] = out[d - off]!;
    }
  }
  return d;
}

async function decodeLz4Legacy(src: FileSource, offset: number, sink: ByteSink, signal?: AbortSignal) {
  let pos = offset;
  const word = async (p: number) => {
    const b = await readAt(src, p, 4);
    return b.length === 4 ? b.readUInt32LE(0) : -1;
  };
  if ((await word(pos)) !== LZ4_LEGACY_MAGIC) throw truncated('lz4', src, offset, 'bad legacy magic');
  pos += 4;
  let blocks = 0;
  const out = Buffer.allocUnsafe(LZ4_BLOCK);
  for (;;) {
    signal?.throwIfAborted();
    const size = await word(pos);
    if (size === LZ4_LEGACY_MAGIC) {
      pos += 4;
      continue;
    }
    const plausible = size > 0 && size <= LZ4_BOUND && pos + 4 + size <= src.size;
    if (!plausible) {
      if (blocks === 0) throw truncated('lz4', src, offset, 'first block missing or cut off');
      break;
    }
    const block = await readAt(src, pos + 4, size);
    let n: number;
    try {
      n = lz4DecodeBlock(block, out);
    } catch (e) {
      throw decodeFailure(e, 'lz4', src, offset);
    }
    await sink(Buffer.from(out.subarray(0, n)));
    pos += 4 + size;
    blocks++;
    if (n < LZ4_BLOCK) break;
  }
  return pos - offset;
}

async function decodeBzip2(src: FileSource, offset: number, sink: ByteSink, signal?: AbortSignal) {
  // seek-bzip is synchronous and byte-wise: read through a window, collect each
  // block's output, hand it on between blocks.
  let pos = offset;
  let win = Buffer.alloc(0);
  let winAt = offset;
  const input = {
    readByte(): number {
      if (pos >= winAt + win.length) {
        const n = Math.min(CHUNK, src.size - pos);
        if (n <= 0) throw new Error('unexpected end of file');
        win = Buffer.allocUnsafe(n);
        readSync(src.fd, win, 0, n, (src.base ?? 0) + pos);
        winAt = pos;
      }
      return win[pos++ - winAt]!;
    },
    read(buf: Uint8Array, off: number, len: number): number {
      for (let k = 0; k < len; k++) buf[off + k] = this.readByte();
      return len;
    },
    seek(p: number) {
      pos = offset + p;
    },
  };
  let parts: Buffer[] = [];
  let cur = Buffer.allocUnsafe(1 << 16);
  let curLen = 0;
  const output = {
    writeByte(b: number) {
      if (curLen === cur.length) {
        parts.push(cur);
        cur = Buffer.allocUnsafe(1 << 16);
        curLen = 0;
      }
      cur[curLen++] = b;
    },
  };
  try {
    const bz = new Bunzip(input, output);
    for (;;) {
      signal?.throwIfAborted();
      if (!bz._init_block()) {
        const crc = bz.reader.read(32) >>> 0;
        if (crc !== bz.streamCRC >>> 0) throw new Error('stream CRC mismatch');
        break;
      }
      bz._read_bunzip();
      parts.push(Buffer.from(cur.subarray(0, curLen)));
      curLen = 0;
      const ready = parts;
      parts = [];
      for (const p of ready) if (p.length) await sink(p);
    }
  } catch (e) {
    if (signal?.aborted) throw e;
    if (e instanceof InitramfsError) throw e;
    throw decodeFailure(e, 'bzip2', src, offset);
  }
  // The stream ends at the byte holding the CRC's last bit (then byte padding).
  return pos - offset;
}

/** An encoder for the codecs we write. xz always with CRC32: the kernel refuses CRC64. */
export function createEncoder(codec: OutputCodec, level?: number): Transform {
  switch (codec) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return zlib.createGzip({ level: level ?? 6, chunkSize: ZLIB_CHUNK });
    case 'zstd':
      return new CompressStream({ compressionLevel: level ?? 3, checksumFlag: true });
    case 'xz':
      return lzma.createStream('easyEncoder', { preset: level ?? 6, check: lzma.CHECK_CRC32 });
  }
}
