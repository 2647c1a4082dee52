// The new rootfs.tar.gz: the old one streamed through once (decoded, every entry
// checked by tar-safety) with our installer entries added at its end. Two ways to
// write it:
// - 'recompress': entries copied byte for byte (pax/xattr/sparse headers intact),
//   the ones we replace dropped, ours appended, gzip'd once (zlib level 6).
// - 'splice': the old compressed bytes kept up to the last deflate block start
//   before the tar's end-of-archive blocks, then a fresh deflate stream of the rest
//   plus our entries (gzip-splice.ts). Only the tail is compressed again. Older
//   entries with our names stay in the archive and are shadowed: tar extracts in
//   order and the later entry overwrites the earlier one.
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { crc32, createGzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { EmtError } from '../errors.ts';
import { noProgress, type ProgressSink } from '../progress.ts';
import {
  alignAfterCut,
  type BlockBoundary,
  exactBlockStart,
  freshDeflate,
  GzipBlockReader,
  GzipError,
  gzipTrailer,
} from './gzip-splice.ts';
import { type ExtraFile, INSTALL_ROOT, type InstallerEntry, installerEntries } from './installer-layout.ts';
import { normalizeTarPath, ourPaths } from './tar-safety.ts';
import { TarWalker, type WalkedEntry } from './tar-walker.ts';

export type RootfsMode = 'splice' | 'recompress';

export interface RewriteRootfsOptions {
  /** The old rootfs.tar.gz: a path, or its bytes as a stream. */
  input: string | Readable;
  output: string;
  scriptsDir: string;
  mode: RootfsMode;
  sourceDateEpoch: number;
  extraFiles?: ExtraFile[];
  /** Extra `key=value` lines for installer.conf (e.g. build_id). */
  conf?: Record<string, string>;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** How the input is named in errors when it is a stream (e.g. `initramfs.img:rootfs.tar.gz`). */
  name?: string;
  /** Compressed input size for progress, when the input is a stream. */
  inputSize?: number;
  /**
   * Sees every entry of the old archive (checked by tar-safety), in order: lets a
   * caller index the rootfs (e.g. the tool check) without decoding it again.
   */
  onEntry?: (e: WalkedEntry) => void;
  /** Hash the new archive (default true); the injector skips it: it hashes the whole initramfs. */
  hash?: boolean;
}

export interface RewriteRootfsResult {
  size: number;
  /** sha256 of the new archive, unless `hash: false`. */
  sha256?: string;
  /** Paths (relative, no `./`) of the entries we added, in archive order. */
  entriesAdded: string[];
  mode: RootfsMode;
  /** Entries read from the old archive (extension headers not counted). */
  oldEntries: number;
  /** Uncompressed size of the new tar. */
  tarSize: number;
  /** Splice only: old compressed bytes kept as they were. */
  keptBytes?: number;
  note?: string;
}

/** Recompress level: zlib's default; -9 costs ~2x the time for ~1% on a rootfs. */
export const RECOMPRESS_LEVEL = 6;
const FEED = 1 << 14; // compressed bytes per decode step: bounds what one step can expand to
const WINDOW = 32 * 1024;
const MAX_INFLIGHT = 16 << 20;
const WRITE_BATCH = 1 << 20;
/** Decoded bytes kept past the tar's end to check a native block start against (zeros, usually). */
const PAST_EOF = 64 * 1024;
/** Usable block starts held back, for when the latest one's bit cannot be pinned. */
const KEEP_SAFE = 4;

/** The first input byte a block start may lie in. */
const firstByte = (b: BlockBoundary): number => Math.floor((b.bit - b.slack) / 8);

/** Our entries as tar bytes (ustar, pax where a name needs it), ending with the two zero blocks. */
export async function encodeEntries(entries: InstallerEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const parts: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (b: unknown) => {
      parts.push(b as Buffer);
    });
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    const header = {
      name: e.path,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      uname: e.uname,
      gname: e.gname,
      mtime: new Date(e.mtime * 1000),
      type: e.type,
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
    };
    pack.entry(header, e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0));
  }
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

/** The temp output file: positioned writes, a few in flight so decoding overlaps disk I/O. */
class OutFile {
  size = 0;
  private readonly hash: Hash | null;
  private inflight: { bytes: number; done: Promise<unknown> }[] = [];
  private inflightBytes = 0;
  private constructor(
    readonly fh: FileHandle,
    readonly tmp: string,
    readonly output: string,
    hash: boolean,
  ) {
    this.hash = hash ? createHash('sha256') : null;
  }

  static async create(output: string, hash = true): Promise<OutFile> {
    // Same directory as the output, so the final rename is atomic.
    const tmp = join(
      dirname(output),
      `.${basename(output)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
    );
    return new OutFile(await open(tmp, 'wx', 0o644), tmp, output, hash);
  }

  private batch: Uint8Array[] = [];
  private batchBytes = 0;

  /**
   * Takes ownership of `b` (it must not change until flushed). Small pieces (the
   * splice hands over 16 KiB slices) are gathered into 1 MiB writes: per-call cost
   * of thousands of small writes outweighed the copy.
   */
  async write(b: Uint8Array): Promise<void> {
    if (b.length === 0) return;
    this.hash?.update(b);
    this.batch.push(b);
    this.batchBytes += b.length;
    if (this.batchBytes >= WRITE_BATCH) await this.flushBatch();
  }

  private async flushBatch(): Promise<void> {
    if (this.batchBytes === 0) return;
    const b = this.batch.length === 1 ? this.batch[0]! : Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    const done = this.writeAll(b, this.size);
    done.catch(() => {}); // awaited in order below
    this.size += b.length;
    this.inflight.push({ bytes: b.length, done });
    this.inflightBytes += b.length;
    while (this.inflightBytes > MAX_INFLIGHT) await this.settleOldest();
  }

  private async writeAll(b: Uint8Array, pos: number): Promise<void> {
    let off = 0;
    try {
      while (off < b.length) off += (await this.fh.write(b, off, b.length - off, pos + off)).bytesWritten;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new EmtError('io', 'WRITE', `${this.output}: cannot write (${code})`, this.output);
    }
  }

  private async settleOldest(): Promise<void> {
    const w = this.inflight.shift()!;
    this.inflightBytes -= w.bytes;
    await w.done;
  }

  async commit(output: string): Promise<string | undefined> {
    await this.flushBatch();
    while (this.inflight.length > 0) await this.settleOldest();
    await this.fh.close();
    await rename(this.tmp, output);
    return this.hash?.digest('hex');
  }

  async discard(): Promise<void> {
    await Promise.allSettled(this.inflight.map((w) => w.done));
    await this.fh.close().catch(() => {});
    await rm(this.tmp, { force: true });
  }
}

interface Ctx {
  file: string;
  blob: Buffer;
  entries: InstallerEntry[];
  out: OutFile;
  chunks: AsyncIterable<Buffer>;
  tick: (done: number) => void;
  signal: AbortSignal | undefined;
  onEntry: ((e: WalkedEntry) => void) | undefined;
}

/** Feeds the input to `reader` in small slices, awaiting `after` between them. */
async function feed(ctx: Ctx, reader: GzipBlockReader, after: (chunk: Buffer, off: number) => Promise<void>) {
  let off = 0;
  for await (const chunk of ctx.chunks) {
    ctx.signal?.throwIfAborted();
    for (let p = 0; p < chunk.length; p += FEED) {
      const part = chunk.subarray(p, Math.min(p + FEED, chunk.length));
      reader.push(part);
      await after(part, off);
      off += part.length;
    }
    ctx.tick(off);
  }
  reader.end();
}

async function recompress(
  ctx: Ctx,
): Promise<Omit<RewriteRootfsResult, 'sha256' | 'size' | 'mode' | 'entriesAdded'>> {
  const ours = ourPaths(ctx.entries);
  const gzip = createGzip({ level: RECOMPRESS_LEVEL, chunkSize: 1 << 20 });
  const drain = (async () => {
    for await (const c of gzip) await ctx.out.write(c as Buffer);
  })();
  drain.catch(() => {}); // surfaced by the await below
  let full = false;
  let tarSize = 0;
  const put = (b: Uint8Array): void => {
    tarSize += b.length;
    if (!gzip.write(b)) full = true;
  };
  const walker = new TarWalker({
    file: ctx.file,
    ours,
    // We replace our leaves and our whole install tree; everything else is copied.
    onEntry: (e) => {
      ctx.onEntry?.(e);
      const p = normalizeTarPath(e.name);
      return ours.leaves.has(p) || p === INSTALL_ROOT || p.startsWith(`${INSTALL_ROOT}/`);
    },
    keep: put,
  });
  const reader = new GzipBlockReader(ctx.file, { onData: (d) => walker.push(d), onBoundary: () => {} });
  try {
    await feed(ctx, reader, async () => {
      if (full) {
        full = false;
        // A failed write (disk full) ends the consumer: stop waiting for a drain then.
        await Promise.race([once(gzip, 'drain'), drain]);
      }
    });
    walker.end();
    put(ctx.blob);
    gzip.end();
    await drain;
  } catch (e) {
    gzip.destroy();
    await drain.catch(() => {});
    throw e;
  }
  return { oldEntries: walker.entries, tarSize };
}

interface Held {
  off: number;
  buf: Uint8Array;
}

/** Bytes [from, to) out of a queue of chunks with absolute offsets. */
function slice(q: Held[], from: number, to: number): Buffer {
  const parts: Uint8Array[] = [];
  for (const h of q) {
    const a = Math.max(from, h.off);
    const b = Math.min(to, h.off + h.buf.length);
    if (a < b) parts.push(h.buf.subarray(a - h.off, b - h.off));
  }
  const out = Buffer.concat(parts);
  if (out.length !== to - from) throw new Error(`internal: held bytes [${from}, ${to}) incomplete`);
  return out;
}

async function splice(
  ctx: Ctx,
): Promise<Omit<RewriteRootfsResult, 'sha256' | 'size' | 'mode' | 'entriesAdded'>> {
  const walker = new TarWalker({
    file: ctx.file,
    ours: ourPaths(ctx.entries),
    ...(ctx.onEntry ? { onEntry: (e: WalkedEntry) => void ctx.onEntry!(e) } : {}),
  });
  const inq: Held[] = []; // compressed input not yet written
  const outq: Held[] = []; // decompressed data from (safes[0].out - WINDOW) on
  const pending: BlockBoundary[] = [];
  // The last few usable block starts, oldest first: a native one whose bit cannot be
  // pinned (a stored block reads alike from several bits) gives way to the one before.
  const safes: BlockBoundary[] = [];
  let written = 0;

  // A block start is usable once it cannot lie past the end-of-archive marker.
  const promote = (): void => {
    const lim = walker.minEof;
    while (pending.length > 0 && pending[0]!.out <= lim) {
      safes.push(pending.shift()!);
      if (safes.length > KEEP_SAFE) safes.shift();
    }
  };
  let past = 0; // decoded bytes held past the end of the tar: they pin a native boundary's bit
  const reader = new GzipBlockReader(ctx.file, {
    onData: (d) => {
      if (walker.done) {
        if (past < PAST_EOF) outq.push({ off: reader.outOffset - d.length, buf: d });
        past += d.length;
        return;
      }
      outq.push({ off: reader.outOffset - d.length, buf: d });
      walker.push(d);
      promote();
    },
    onBoundary: (b) => {
      if (walker.done) return;
      pending.push(b);
      promote();
    },
  });

  const flushUpTo = async (upTo: number): Promise<void> => {
    while (inq.length > 0 && written < upTo) {
      const h = inq[0]!;
      const end = Math.min(upTo, h.off + h.buf.length);
      await ctx.out.write(h.buf.subarray(written - h.off, end - h.off));
      written = end;
      if (end === h.off + h.buf.length) inq.shift();
    }
  };
  const trimOut = (): void => {
    const s = safes[0];
    const keepFrom = s ? s.out - WINDOW : 0;
    while (outq.length > 1 && outq[0]!.off + outq[0]!.buf.length <= keepFrom) outq.shift();
  };

  await feed(ctx, reader, async (chunk, off) => {
    // The slice was decoded already; its bytes join the queue before anything is written.
    const s0 = safes[0];
    const needed = s0 ? firstByte(s0) : 0;
    if (!walker.done || needed < off + chunk.length) inq.push({ off, buf: chunk });
    const s = safes[0];
    if (s && firstByte(s) - written >= WRITE_BATCH) await flushUpTo(firstByte(s));
    trimOut();
  });
  if (!walker.done) {
    walker.end();
    promote();
  }
  const eof = walker.eof!;
  if (safes.length === 0) throw new Error('internal: no deflate block start before the end of the tar');

  // Pin the latest block start whose bit can be pinned.
  const inEnd = inq.at(-1)!.off + inq.at(-1)!.buf.length;
  const outEnd = outq.at(-1)!.off + outq.at(-1)!.buf.length;
  const window = (b: BlockBoundary): Buffer => slice(outq, Math.max(b.memberOut, b.out - WINDOW), b.out);
  let cut: BlockBoundary | undefined;
  let dict: Buffer = Buffer.alloc(0);
  let bit: number | null = null;
  for (let i = safes.length - 1; i >= 0 && bit === null; i--) {
    cut = safes[i]!;
    dict = window(cut);
    const memberEnd = reader.memberEnds[cut.member] ?? Number.POSITIVE_INFINITY;
    bit = exactBlockStart(
      cut,
      slice(inq, firstByte(cut), inEnd),
      firstByte(cut),
      dict,
      slice(outq, cut.out, Math.min(outEnd, memberEnd)),
      memberEnd <= outEnd,
    );
  }
  if (bit === null || !cut) {
    throw new GzipError(
      'SPLICE',
      `${ctx.file}: cannot place the splice point near byte ${firstByte(safes.at(-1)!)} (use --rootfs recompress)`,
      ctx.file,
    );
  }
  const tail = slice(outq, cut.out, eof);
  const byte = Math.floor(bit / 8);
  await flushUpTo(byte);
  const kept = written;
  const crcAtEof = crc32(tail, cut.crc);
  const bitInByte = bit % 8;
  const align = alignAfterCut(bitInByte === 0 ? 0 : slice(inq, byte, byte + 1)[0]!, bitInByte);
  await ctx.out.write(align);
  await ctx.out.write(freshDeflate(Buffer.concat([tail, ctx.blob]), dict));
  await ctx.out.write(gzipTrailer(crc32(ctx.blob, crcAtEof), eof - cut.memberOut + ctx.blob.length));
  const dropped = reader.members - 1 - cut.member;
  return {
    oldEntries: walker.entries,
    tarSize: eof + ctx.blob.length,
    keptBytes: kept,
    ...(dropped > 0 ? { note: `${dropped} trailing gzip member(s) past the tar's end dropped` } : {}),
  };
}

/** Writes `output`: the old rootfs.tar.gz with the installer added (see the file comment). */
export async function rewriteRootfsTar(opts: RewriteRootfsOptions): Promise<RewriteRootfsResult> {
  opts.signal?.throwIfAborted();
  const file = typeof opts.input === 'string' ? opts.input : (opts.name ?? 'rootfs.tar.gz');
  const entries = await installerEntries(opts.scriptsDir, opts.sourceDateEpoch, opts.extraFiles, opts.conf);
  const blob = await encodeEntries(entries);
  const total =
    typeof opts.input === 'string'
      ? await stat(opts.input).then(
          (st) => st.size,
          (e: NodeJS.ErrnoException) => {
            throw new EmtError('initramfs', 'OPEN', `${file}: cannot read (${e.code ?? e.message})`, file);
          },
        )
      : (opts.inputSize ?? null);
  const stream =
    typeof opts.input === 'string' ? createReadStream(opts.input, { highWaterMark: 1 << 20 }) : opts.input;
  const progress = opts.onProgress ?? noProgress;
  const t0 = Date.now();
  let last = 0;
  const tick = (done: number): void => {
    const now = Date.now();
    if (now - last < 250) return;
    last = now;
    const secs = (now - t0) / 1000;
    progress({
      stage: 'rootfs',
      done,
      total,
      unit: 'bytes',
      bytesPerSecond: secs > 0 ? done / secs : 0,
      detail: file,
    });
  };
  const out = await OutFile.create(opts.output, opts.hash ?? true).catch((e: NodeJS.ErrnoException) => {
    if (typeof opts.input !== 'string') opts.input.destroy();
    throw new EmtError('io', 'OUT', `${opts.output}: cannot write (${e.code ?? e.message})`, opts.output);
  });
  const ctx: Ctx = {
    file,
    blob,
    entries,
    out,
    chunks: stream as AsyncIterable<Buffer>,
    tick,
    signal: opts.signal,
    onEntry: opts.onEntry,
  };
  try {
    const r = opts.mode === 'splice' ? await splice(ctx) : await recompress(ctx);
    const sha256 = await out.commit(opts.output);
    progress({ stage: 'rootfs', done: total ?? out.size, total, unit: 'bytes', detail: file });
    return {
      ...r,
      size: out.size,
      ...(sha256 !== undefined ? { sha256 } : {}),
      mode: opts.mode,
      entriesAdded: entries.map((e) => e.path),
    };
  } catch (e) {
    if (typeof opts.input !== 'string' || !stream.destroyed) stream.destroy();
    await out.discard();
    throw e;
  }
}
