// Is the OS image what it claims to be? The installer picks its decompressor from
// the image's first bytes (installer-scripts/steps/30-choose-disk.sh: gzip, xz,
// zstd, else raw), so a broken stream would only show on every node at install.
// With a matching published sha256 the bytes are the published ones: the cheap
// check of the container's header and trailer is enough (a wrong kind of file).
// Without one, the whole stream is decompressed and its own checks (gzip CRC32 and
// length, xz check, zstd frame end) must hold.
// Formats: gzip RFC 1952; xz file format 1.0.4 (stream header/footer, 12 bytes
// each, CRC32 over the flags); zstd RFC 8878 (frame magic 0xFD2FB528).
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib, { crc32 } from 'node:zlib';
import lzma from 'lzma-native';
import { BuildError } from './build-error.ts';

export type OsImageCodec = 'gzip' | 'xz' | 'zstd' | 'raw';

export interface OsImageCheck {
  codec: OsImageCodec;
  /** Whether a checksum was given (and, once the build is through, matched). */
  checksum: boolean;
  /** 'ends': header and trailer (a matching checksum was given); 'stream': the whole stream decoded. */
  mode: 'ends' | 'stream';
  /** Bytes the stream decompressed to (mode 'stream', compressed images). */
  rawBytes?: number;
}

type ZstdBinding = typeof import('zstd-napi/binding.js');
const zstdBinding = createRequire(import.meta.url)('zstd-napi/binding.js') as ZstdBinding;

/** The installer's own rule, on the first 6 bytes. */
export function osImageCodec(head: Uint8Array): OsImageCodec {
  const hex = Buffer.from(head.subarray(0, 6)).toString('hex');
  if (hex.startsWith('1f8b')) return 'gzip';
  if (hex === 'fd377a585a00') return 'xz';
  if (hex.startsWith('28b52ffd')) return 'zstd';
  return 'raw';
}

/** The codec a file name promises, or null for names that promise none (.img, .raw). */
export function codecOfName(name: string): OsImageCodec | null {
  if (/\.(gz|tgz)$/i.test(name)) return 'gzip';
  if (/\.xz$/i.test(name)) return 'xz';
  if (/\.(zst|zstd)$/i.test(name)) return 'zstd';
  return null;
}

const corrupt = (path: string, why: string) =>
  new BuildError('OS_IMAGE_CORRUPT', `OS image ${path}: ${why}; every install from it would fail`, path);

async function readEnds(path: string, size: number): Promise<{ head: Buffer; tail: Buffer }> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    await fh.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(size, 12));
    await fh.read(tail, 0, tail.length, size - tail.length);
    return { head, tail };
  } finally {
    await fh.close();
  }
}

/**
 * The cheap check, for stage 1: the name and the content agree, and the container's
 * header (and, for xz, its footer) is sound. Returns the codec the installer will use.
 */
export async function checkOsImageEnds(path: string, size: number): Promise<OsImageCodec> {
  const { head, tail } = await readEnds(path, size);
  const codec = osImageCodec(head);
  const named = codecOfName(path);
  if (named && named !== codec)
    throw corrupt(
      path,
      `is named as ${named} but ${codec === 'raw' ? `is not ${named} data (it starts with ${head.subarray(0, 4).toString('hex')})` : `holds ${codec} data`}`,
    );
  if (codec === 'gzip') checkGzipHead(path, head, size);
  else if (codec === 'xz') checkXzEnds(path, head, tail);
  else if (codec === 'zstd') checkZstdHead(path, head);
  return codec;
}

function checkGzipHead(path: string, head: Buffer, size: number): void {
  if (head[2] !== 8 || (head[3]! & 0xe0) !== 0)
    throw corrupt(path, 'its gzip header is not a deflate header');
  // Header (10) + the smallest deflate block + trailer (8).
  if (size < 20) throw corrupt(path, `its gzip stream is cut short (${size} bytes)`);
  try {
    // The first 64 KiB must inflate: random bytes after a gzip magic do not.
    // (Output capped: 64 KiB of deflate may stand for 64 MiB.)
    zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: 16 * 2 ** 20 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return;
    throw corrupt(path, `its gzip stream does not decode (${(e as Error).message})`);
  }
}

function checkXzEnds(path: string, head: Buffer, tail: Buffer): void {
  if (head.length < 12 || tail.length < 12) throw corrupt(path, 'its xz stream is cut short');
  if (crc32(head.subarray(6, 8)) !== head.readUInt32LE(8))
    throw corrupt(path, 'its xz stream header is damaged');
  // Footer: CRC32, backward size, flags, "YZ"; the flags repeat the header's.
  if (tail.toString('latin1', 10, 12) !== 'YZ' || crc32(tail.subarray(4, 10)) !== tail.readUInt32LE(0))
    throw corrupt(path, 'its xz stream has no intact footer (cut short or damaged)');
  if (!tail.subarray(8, 10).equals(head.subarray(6, 8)))
    throw corrupt(path, 'its xz stream footer does not match its header');
}

function checkZstdHead(path: string, head: Buffer): void {
  const dctx = new zstdBinding.DCtx();
  try {
    dctx.decompressStream(Buffer.allocUnsafe(1 << 17), head);
  } catch (e) {
    throw corrupt(path, `its zstd frame does not decode (${(e as Error).message})`);
  }
}

export interface StreamTestOptions {
  signal?: AbortSignal;
  /** Compressed bytes read since the last call. */
  onBytes?: (n: number) => void;
}

/**
 * Decompresses the whole image and lets the codec check it. gzip and xz decode on
 * the libuv thread pool (zlib, liblzma), beside the build's main-thread work, so
 * on two cores it overlaps the inject and the hash.
 */
export async function testOsImageStream(
  path: string,
  codec: OsImageCodec,
  opts: StreamTestOptions = {},
): Promise<OsImageCheck> {
  if (codec === 'raw') return { codec, checksum: false, mode: 'stream' };
  let rawBytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      rawBytes += chunk.length;
      cb();
    },
  });
  const source = createReadStream(path, { highWaterMark: 1 << 20 });
  source.on('data', (c) => opts.onBytes?.(c.length));
  const sig = opts.signal ? { signal: opts.signal } : {};
  try {
    if (codec === 'gzip') await pipeline(source, zlib.createGunzip({ chunkSize: 1 << 20 }), sink, sig);
    else if (codec === 'xz') await pipeline(source, lzma.createStream('streamDecoder', {}), sink, sig);
    else
      await pipeline(
        source,
        zstdDecoder((n) => {
          rawBytes += n;
        }),
        sig,
      );
  } catch (e) {
    if (opts.signal?.aborted) throw new BuildError('CANCELLED', `cancelled while testing ${path}`, path);
    if (e instanceof BuildError) throw e;
    throw corrupt(path, `its ${codec} stream is truncated or corrupt (${(e as Error).message})`);
  }
  return { codec, checksum: false, mode: 'stream', rawBytes };
}

/** zstd frames back to back until the input ends, which must be at a frame's end. */
function zstdDecoder(onRaw: (n: number) => void): Writable {
  let dctx = new zstdBinding.DCtx();
  let inFrame = false;
  const out = Buffer.allocUnsafe(1 << 17);
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      try {
        let i = 0;
        while (i < chunk.length) {
          const [ret, produced, consumed] = dctx.decompressStream(out, chunk.subarray(i));
          i += consumed;
          onRaw(produced);
          inFrame = ret !== 0;
          if (ret === 0) dctx = new zstdBinding.DCtx();
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    final(cb) {
      // Output still held in the decoder (its buffer was full) is not an early end.
      for (let n = 0; inFrame && n < 1 << 16; n++) {
        const [ret, produced] = dctx.decompressStream(out, Buffer.alloc(0));
        onRaw(produced);
        inFrame = ret !== 0;
        if (produced === 0) break;
      }
      cb(inFrame ? new Error('the last frame is not finished: the file ends early') : null);
    },
  });
}

/** One line for the build output: what was checked, and why no more or less. */
export function describeOsImageCheck(c: OsImageCheck): string {
  if (c.mode === 'ends')
    return c.codec === 'raw'
      ? 'OS image: raw, its sha256 matches the given checksum'
      : `OS image: ${c.codec}, its sha256 matches the given checksum; the ${c.codec} header and trailer were checked`;
  if (c.codec === 'raw')
    return 'OS image: raw, no checksum given (--os-image-sha256): nothing to test it against';
  const mib = ((c.rawBytes ?? 0) / 2 ** 20).toFixed(1);
  return `OS image: ${c.codec}, no checksum given (--os-image-sha256): its whole stream was decompressed (${mib} MiB) and is intact`;
}
