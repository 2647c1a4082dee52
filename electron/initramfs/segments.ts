// Walk an initramfs as the kernel does (init/initramfs.c unpack_to_rootfs): at a
// 4-aligned offset an ASCII '0' starts a plain newc cpio; NUL bytes are padding;
// anything else is a compressed stream picked by its two magic bytes, which must
// decode to whole cpio archives (ending at a TRAILER!!!).
import { open } from 'node:fs/promises';
import type { ProgressSink } from '../progress.ts';
import { type Codec, codecFromMagic, decodeAt, type FileSource, readAt } from './codecs.ts';
import { type CpioEntry, type CpioHandlers, CpioParser, normalName, S_IFMT, S_IFREG } from './cpio.ts';
import { InitramfsError } from './errors.ts';

export const ROOTFS_NAME = 'rootfs.tar.gz';

export interface Segment {
  index: number;
  /** Byte offset in the initramfs file. */
  offset: number;
  /** Bytes in the file (compressed length, or the plain cpio up to its TRAILER). */
  length: number;
  codec: Codec;
  /** cpio entries, not counting TRAILER!!! */
  entries: number;
  /** Size of the cpio stream it holds. */
  uncompressedSize: number;
  /** rootfs.tar.gz in this segment: where its data sits in the uncompressed stream. */
  rootfs: { dataOffset: number; size: number; entryOffset: number } | null;
}

export interface InitramfsLayout {
  file: string;
  size: number;
  segments: Segment[];
  /** The segment whose rootfs.tar.gz the kernel keeps (the last one), or -1. */
  rootfsSegment: number;
}

export interface WalkOptions {
  /** Name used in messages (defaults to the path). */
  displayName?: string;
  /** Per segment, handlers to see its entries (entry/data/end) as they stream past. */
  handlers?: (segment: {
    index: number;
    offset: number;
    codec: Codec;
  }) => CpioHandlers | undefined | Promise<CpioHandlers | undefined>;
  /** Called (and awaited) after each segment has been walked whole. */
  onSegment?: (segment: Segment) => void | Promise<void>;
  /** Only this byte range of the file is the initramfs (one inside an ISO image). */
  region?: { offset: number; length: number };
  /** Refuse absolute and `..` entry names. */
  strictNames?: boolean;
  onProgress?: ProgressSink;
  signal?: AbortSignal;
}

/** The segments as inspect and preview report them (plain values, no offsets inside rootfs). */
export const segmentSummaries = (layout: InitramfsLayout) =>
  layout.segments.map((s) => ({
    index: s.index,
    offset: s.offset,
    length: s.length,
    codec: s.codec,
    entries: s.entries,
    size: s.uncompressedSize,
    rootfs: s.rootfs !== null,
  }));

export const isRootfsEntry = (e: CpioEntry): boolean =>
  normalName(e.name) === ROOTFS_NAME && (e.mode & S_IFMT) === S_IFREG;

/** Header + name + pad, i.e. where an entry's data starts relative to its header. */
const dataStart = (e: CpioEntry) => e.offset + 110 + e.nameSize + ((4 - ((110 + e.nameSize) % 4)) % 4);

export async function walkInitramfs(path: string, opts: WalkOptions = {}): Promise<InitramfsLayout> {
  const name = opts.displayName ?? path;
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new InitramfsError('OPEN', `cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? e}`, name);
  }
  try {
    const st = await fh.stat();
    // A block device's stat size is 0: there the region's length is taken as given.
    const r = opts.region;
    const size = !r
      ? st.size
      : st.isBlockDevice()
        ? r.length
        : Math.min(r.length, Math.max(0, st.size - r.offset));
    const src: FileSource = { fd: fh.fd, size, name, base: opts.region?.offset ?? 0 };
    const segments: Segment[] = [];
    let pos = 0;
    while (pos < size) {
      opts.signal?.throwIfAborted();
      const head = await readAt(src, pos, 4096);
      // NUL padding between segments, as the kernel skips it.
      let z = 0;
      while (z < head.length && head[z] === 0) z++;
      if (z > 0) {
        pos += z;
        continue;
      }
      const index = segments.length;
      if (head[0] === 0x30 && pos % 4 === 0) {
        const inner = await opts.handlers?.({ index, offset: pos, codec: 'none' });
        segments.push(await plainSegment(src, pos, index, inner, opts));
      } else {
        const codec = codecFromMagic(head);
        if (codec === null) {
          const hex = [...head.subarray(0, 2)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
          throw new InitramfsError(
            'UNKNOWN_CODEC',
            `unknown codec (bytes ${hex}) at offset ${pos} in ${name}`,
            name,
          );
        }
        if (codec === 'lzo') {
          throw new InitramfsError(
            'UNSUPPORTED_CODEC',
            `lzo-compressed segment at offset ${pos} in ${name} is not supported`,
            name,
          );
        }
        if (codec === 'none') throw new Error('unreachable');
        const inner = await opts.handlers?.({ index, offset: pos, codec });
        segments.push(await compressedSegment(src, pos, index, codec, inner, opts));
      }
      await opts.onSegment?.(segments[index]!);
      pos = segments[index]!.offset + segments[index]!.length;
      opts.onProgress?.({ stage: 'walk', done: pos, total: size, unit: 'bytes', detail: name });
    }
    if (segments.length === 0) throw new InitramfsError('EMPTY', `${name} holds no cpio data`, name);
    let rootfsSegment = -1;
    for (const s of segments) if (s.rootfs) rootfsSegment = s.index;
    return { file: path, size, segments, rootfsSegment };
  } finally {
    await fh.close().catch(() => {});
  }
}

function tracker(seg: Segment, inner: CpioHandlers | undefined): CpioHandlers {
  return {
    entry: async (e) => {
      if (isRootfsEntry(e)) seg.rootfs = { dataOffset: dataStart(e), size: e.size, entryOffset: e.offset };
      return inner ? inner.entry(e) : false;
    },
    data: inner?.data?.bind(inner),
    end: inner?.end?.bind(inner),
    trailer: inner?.trailer?.bind(inner),
  };
}

async function plainSegment(
  src: FileSource,
  offset: number,
  index: number,
  inner: CpioHandlers | undefined,
  opts: WalkOptions,
): Promise<Segment> {
  const seg: Segment = {
    index,
    offset,
    length: 0,
    codec: 'none',
    entries: 0,
    uncompressedSize: 0,
    rootfs: null,
  };
  const where = `the plain cpio segment at offset ${offset} in ${src.name}`;
  const parser = new CpioParser(tracker(seg, inner), where, {
    single: true,
    strictNames: opts.strictNames,
  });
  let pos = offset;
  while (!parser.done) {
    opts.signal?.throwIfAborted();
    const chunk = await readAt(src, pos, 1 << 20);
    if (chunk.length === 0) {
      parser.end();
      break;
    }
    pos += await parser.write(chunk);
  }
  seg.length = parser.pos;
  seg.uncompressedSize = parser.pos;
  seg.entries = parser.entries;
  return seg;
}

async function compressedSegment(
  src: FileSource,
  offset: number,
  index: number,
  codec: Exclude<Codec, 'none'>,
  inner: CpioHandlers | undefined,
  opts: WalkOptions,
): Promise<Segment> {
  const seg: Segment = { index, offset, length: 0, codec, entries: 0, uncompressedSize: 0, rootfs: null };
  const where = `the ${codec} segment at offset ${offset} in ${src.name}`;
  const parser = new CpioParser(tracker(seg, inner), where, {
    strictNames: opts.strictNames,
  });
  seg.length = await decodeAt(src, offset, codec, async (c) => void (await parser.write(c)), opts.signal);
  try {
    parser.end();
  } catch (e) {
    // The kernel needs each compressed stream to hold whole archives.
    if (e instanceof InitramfsError && (e.code === 'NO_TRAILER' || e.code === 'CPIO_TRUNCATED')) {
      const why = e.code === 'CPIO_TRUNCATED' ? `: ${e.message}` : '';
      throw new InitramfsError(
        'NO_TRAILER',
        `the ${codec} stream at offset ${offset} in ${src.name} does not end at a cpio TRAILER!!! (the kernel refuses this)${why}`,
        src.name,
      );
    }
    throw e;
  }
  seg.uncompressedSize = parser.pos;
  seg.entries = parser.entries;
  return seg;
}
