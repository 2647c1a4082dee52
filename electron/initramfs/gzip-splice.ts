// gzip with deflate block boundaries, for appending to a .gz without recompressing
// it (the technique of zlib's examples/gzappend.c, written anew): decode once,
// remember where each deflate block starts (bit position, uncompressed offset,
// CRC so far), then keep the old bytes up to a block start, byte-align with an
// empty stored block, append a fresh deflate stream and a new trailer.
// Two decoders: Node's own zlib (C, ~5x faster than pako) stopping at every block
// end (Z_BLOCK), which tells the byte but not the bit where the next block starts
// (Node does not expose zlib's data_type), and pako's port, which tells the bit.
// The native one is the default; the one boundary a splice cuts at is then pinned
// to its bit by exactBlockStart (at most 8 tiny trial decodes).
// Formats: gzip RFC 1952, deflate RFC 1951.
import { crc32, createInflateRaw, deflateRawSync } from 'node:zlib';
import zlibInflate from 'pako/lib/zlib/inflate.js';
import ZStream from 'pako/lib/zlib/zstream.js';
import { EmtError } from '../errors.ts';
import { CONTENT_HEAD_BYTES, notGzipMessage } from './content-kind.ts';

export class GzipError extends EmtError {
  constructor(code: string, message: string, file?: string) {
    super('initramfs', code, message, file);
    this.name = 'GzipError';
  }
}

const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;
const Z_BLOCK = 5;
const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/**
 * Length of the gzip member header at `off`, or null when `buf` ends before it does.
 * Handles FEXTRA, FNAME, FCOMMENT and FHCRC; throws on anything that is not gzip.
 */
export function gzipHeaderLength(buf: Uint8Array, off: number, file: string): number | null {
  const avail = buf.length - off;
  if (avail < 10) {
    if (avail >= 1 && buf[off] !== 0x1f) throw notGzip(file, buf, off);
    if (avail >= 2 && buf[off + 1] !== 0x8b) throw notGzip(file, buf, off);
    return null;
  }
  if (buf[off] !== 0x1f || buf[off + 1] !== 0x8b) throw notGzip(file, buf, off);
  if (buf[off + 2] !== 8)
    throw new GzipError('BAD_GZIP', `${file}: gzip member at byte ${off} is not deflate`, file);
  const flg = buf[off + 3]!;
  if (flg & 0xe0)
    throw new GzipError('BAD_GZIP', `${file}: gzip header at byte ${off} has reserved flags set`, file);
  let p = off + 10;
  if (flg & FEXTRA) {
    if (p + 2 > buf.length) return null;
    p += 2 + (buf[p]! | (buf[p + 1]! << 8));
    if (p > buf.length) return null;
  }
  for (const f of [FNAME, FCOMMENT]) {
    if (flg & f) {
      while (p < buf.length && buf[p] !== 0) p++;
      if (p >= buf.length) return null;
      p++;
    }
  }
  if (flg & FHCRC) p += 2;
  return p > buf.length ? null : p - off;
}

function notGzip(file: string, buf: Uint8Array, off: number): GzipError {
  return new GzipError(
    'NOT_GZIP',
    off === 0
      ? `${file}: not a gzip file: ${notGzipMessage('it', buf.subarray(0, CONTENT_HEAD_BYTES))}`
      : `${file}: data after the gzip stream at byte ${off} is not gzip`,
    file,
  );
}

/** A place where a deflate block starts: what to keep, and the stream state there. */
export interface BlockBoundary {
  /** Absolute bit position in the input (bit 0 = LSB of byte 0); with slack, the latest it can be. */
  bit: number;
  /** The block starts in [bit - slack, bit]: 0 when exact (pako), 7 from the native decoder. */
  slack: number;
  /** Uncompressed offset (over all members). */
  out: number;
  /** Index of the gzip member it lies in. */
  member: number;
  /** Uncompressed offset where that member's data starts. */
  memberOut: number;
  /** CRC-32 of the member's data up to `out`. */
  crc: number;
}

export interface GzipBlockReaderEvents {
  /** Decompressed bytes, in order; each array is fresh (safe to keep). */
  onData(data: Uint8Array): void;
  /** Called after all data before it went to onData. */
  onBoundary(b: BlockBoundary): void;
}

type ReaderState = 'header' | 'deflate' | 'trailer' | 'after';

const OUT_CHUNK = 1 << 18;

export type InflateEngine = 'native' | 'pako';

/** The parts of a Node zlib object the sync Z_BLOCK loop drives (what zlib's own sync API uses). */
interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  onerror: (message: string, errno: number) => void;
}

interface NativeInflater {
  handle: NativeHandle;
  /** [avail_out, avail_in] after each writeSync. */
  state: Uint32Array;
  close(): void;
  error: string | null;
}

/**
 * A raw inflater on Node's zlib, driven call by call. Node's public API has no
 * Z_BLOCK loop (its sync path closes the stream after one call), so this uses the
 * handle its sync API uses; when a Node version lacks that shape, null (pako then).
 */
function nativeInflater(): NativeInflater | null {
  const z = createInflateRaw() as unknown as {
    _handle?: NativeHandle;
    _writeState?: unknown;
    close(): void;
  };
  const handle = z._handle;
  if (!handle || typeof handle.writeSync !== 'function' || !(z._writeState instanceof Uint32Array)) {
    z.close();
    return null;
  }
  const n: NativeInflater = { handle, state: z._writeState, close: () => z.close(), error: null };
  handle.onerror = (message) => {
    n.error = message;
  };
  return n;
}

let nativeWorks: boolean | undefined;
/** Whether this Node's zlib can be driven block by block (checked once). */
export function nativeInflateAvailable(): boolean {
  if (nativeWorks === undefined) {
    const n = nativeInflater();
    nativeWorks = n !== null;
    n?.close();
  }
  return nativeWorks;
}

/**
 * Push-driven gzip decoder (pako's inflate with Z_BLOCK) that reports every deflate
 * block start. Checks every member's CRC-32 and ISIZE. Multiple members are decoded
 * in turn; trailing zero bytes after the last one are tolerated (as gzip does).
 */
export class GzipBlockReader {
  /** Bytes of input consumed. */
  inOffset = 0;
  outOffset = 0;
  members = 0;
  /** Uncompressed offset where each finished member's data ends. */
  readonly memberEnds: number[] = [];
  readonly engine: InflateEngine;
  private state: ReaderState = 'header';
  private carry: Uint8Array = new Uint8Array(0); // header/trailer bytes split across chunks
  private strm = new ZStream();
  private native: NativeInflater | null = null;
  private out = new Uint8Array(OUT_CHUNK);
  private produced = 0; // native: bytes of `out` filled
  private emitted = 0;
  private deferred: BlockBoundary | null = null; // native: a stop that may be the stream's end
  private crc = 0;
  private memberOut = 0;
  private memberStart = 0;

  constructor(
    private readonly file: string,
    private readonly ev: GzipBlockReaderEvents,
    engine?: InflateEngine,
  ) {
    this.engine = engine ?? (nativeInflateAvailable() ? 'native' : 'pako');
  }

  push(chunk: Uint8Array): void {
    let buf = chunk;
    let base = this.inOffset; // absolute offset of buf[0]
    if (this.carry.length > 0) {
      buf = Buffer.concat([this.carry, chunk]);
      base -= this.carry.length;
      this.carry = new Uint8Array(0);
    }
    let p = 0;
    while (p < buf.length) {
      if (this.state === 'after') {
        // gzip (the tool) ignores trailing zeros; anything else must be a new member.
        while (p < buf.length && buf[p] === 0) p++;
        if (p >= buf.length) break;
        this.state = 'header';
      }
      if (this.state === 'header') {
        const n = gzipHeaderLength(buf, p, this.file);
        if (n === null) {
          this.carry = buf.slice(p);
          break;
        }
        this.memberStart = base + p;
        p += n;
        this.startMember(base + p);
        continue;
      }
      if (this.state === 'trailer') {
        if (buf.length - p < 8) {
          this.carry = buf.slice(p);
          break;
        }
        const dv = new DataView(buf.buffer, buf.byteOffset + p, 8);
        const wantCrc = dv.getUint32(0, true);
        const wantSize = dv.getUint32(4, true);
        if (wantCrc !== this.crc >>> 0 || wantSize !== (this.outOffset - this.memberOut) % 2 ** 32) {
          throw new GzipError(
            'BAD_GZIP',
            `${this.file}: gzip member at byte ${this.memberStart} fails its CRC/size check (corrupt)`,
            this.file,
          );
        }
        p += 8;
        this.state = 'after';
        continue;
      }
      p = this.engine === 'native' ? this.inflateNative(buf, p, base) : this.inflate(buf, p, base);
    }
    this.inOffset += chunk.length;
  }

  /** Input is over: it must have ended after a complete member. */
  end(): void {
    this.native?.close();
    this.native = null;
    if (this.state === 'after') return;
    const what =
      this.members === 0 && this.state === 'header' ? 'not a complete gzip file' : 'gzip data is truncated';
    throw new GzipError(
      'TRUNCATED',
      `${this.file}: ${what} (input ends at byte ${this.inOffset})`,
      this.file,
    );
  }

  private startMember(deflateStart: number): void {
    if (this.engine === 'native') {
      this.native?.close();
      this.native = nativeInflater();
      if (!this.native) throw new Error('internal: native zlib became unavailable');
      this.deferred = null;
    } else {
      this.strm = new ZStream();
      zlibInflate.inflateInit2(this.strm, -15);
    }
    this.out = new Uint8Array(OUT_CHUNK); // earlier output may still be held by consumers
    this.produced = 0;
    this.emitted = 0;
    this.crc = 0;
    this.memberOut = this.outOffset;
    this.state = 'deflate';
    // Member start is a block start the reader does not stop at (raw inflate begins mid-state).
    this.ev.onBoundary({
      bit: deflateStart * 8,
      slack: 0,
      out: this.outOffset,
      member: this.members,
      memberOut: this.memberOut,
      crc: 0,
    });
    this.members++;
  }

  private emit(upTo = this.strm.next_out): void {
    const n = upTo - this.emitted;
    if (n <= 0) return;
    const data = this.out.subarray(this.emitted, upTo);
    this.emitted = upTo;
    this.outOffset += n;
    this.crc = crc32(data, this.crc);
    this.ev.onData(data);
  }

  private inflate(buf: Uint8Array, p: number, base: number): number {
    const s = this.strm;
    s.input = buf;
    s.next_in = p;
    s.avail_in = buf.length - p;
    for (;;) {
      if (s.output !== this.out || s.avail_out === 0) {
        if (s.avail_out === 0 && s.output === this.out) this.out = new Uint8Array(OUT_CHUNK);
        s.output = this.out;
        s.next_out = 0;
        s.avail_out = OUT_CHUNK;
        this.emitted = 0;
      }
      const ret = zlibInflate.inflate(s, Z_BLOCK);
      if (ret !== Z_OK && ret !== Z_STREAM_END && ret !== Z_BUF_ERROR) {
        throw new GzipError(
          'BAD_GZIP',
          `${this.file}: corrupt deflate data near byte ${base + s.next_in}: ${s.msg || `code ${ret}`}`,
          this.file,
        );
      }
      this.emit();
      if (ret === Z_STREAM_END) {
        this.state = 'trailer';
        this.memberEnds.push(this.outOffset);
        return s.next_in;
      }
      // 128: stopped at a block start. 64: the block just decoded was the final one, so
      // this is the stream's end, not a place to append after.
      if ((s.data_type & 128) !== 0 && (s.data_type & 64) === 0) {
        const bits = s.state!.bits;
        this.ev.onBoundary({
          bit: (base + s.next_in) * 8 - bits,
          slack: 0,
          out: this.outOffset,
          member: this.members - 1,
          memberOut: this.memberOut,
          crc: this.crc >>> 0,
        });
      }
      if (s.avail_in === 0 && s.avail_out > 0) return buf.length;
      if (ret === Z_BUF_ERROR && s.avail_out > 0) {
        throw new GzipError(
          'BAD_GZIP',
          `${this.file}: deflate decoder stalled near byte ${base + s.next_in}`,
          this.file,
        );
      }
    }
  }
  /**
   * Node's zlib with Z_BLOCK: each call stops at the end of a block, having taken the
   * byte that holds the next block's first bits (0-7 of them still unused). A stop
   * is reported only once the next call makes progress: after the final block the
   * next call makes none (the stream is over), and that stop is no place to append.
   */
  private inflateNative(buf: Uint8Array, p: number, base: number): number {
    const n = this.native!;
    while (p < buf.length) {
      if (this.produced === OUT_CHUNK) {
        this.out = new Uint8Array(OUT_CHUNK);
        this.produced = 0;
        this.emitted = 0;
      }
      n.handle.writeSync(Z_BLOCK, buf, p, buf.length - p, this.out, this.produced, OUT_CHUNK - this.produced);
      if (n.error !== null) {
        throw new GzipError(
          'BAD_GZIP',
          `${this.file}: corrupt deflate data near byte ${base + p}: ${n.error}`,
          this.file,
        );
      }
      const availOut = n.state[0]!;
      const used = buf.length - p - n.state[1]!;
      const made = OUT_CHUNK - this.produced - availOut;
      p += used;
      if (used === 0 && made === 0) {
        this.deferred = null;
        n.close();
        this.native = null;
        this.state = 'trailer';
        this.memberEnds.push(this.outOffset);
        return p;
      }
      if (this.deferred) {
        this.ev.onBoundary(this.deferred);
        this.deferred = null;
      }
      this.produced += made;
      this.emit(this.produced);
      if (availOut > 0 && p < buf.length) {
        this.deferred = {
          bit: (base + p) * 8,
          slack: 7,
          out: this.outOffset,
          member: this.members - 1,
          memberOut: this.memberOut,
          crc: this.crc >>> 0,
        };
      }
    }
    return p;
  }
}

/**
 * The bytes that follow the kept prefix of a deflate stream cut at `bitInByte` bits
 * into `lastByte`: that byte with our bits cleared, an empty stored block (its 3
 * header bits go into the partly used byte, spilling into the next one when fewer
 * than 3 bits are free), so the fresh deflate stream starts byte-aligned.
 * With bitInByte = 0 the cut is already aligned: nothing is needed.
 */
export function alignAfterCut(lastByte: number, bitInByte: number): Buffer {
  if (bitInByte === 0) return Buffer.alloc(0);
  const kept = lastByte & ((1 << bitInByte) - 1); // BFINAL=0, BTYPE=00: all zero bits
  const spill = bitInByte > 5 ? [0] : [];
  return Buffer.from([kept, ...spill, 0x00, 0x00, 0xff, 0xff]); // LEN=0, NLEN=~0
}

/** A final raw deflate stream for `data`, primed with the window that precedes it. */
export function freshDeflate(data: Uint8Array, dictionary: Uint8Array, level = 6): Buffer {
  return deflateRawSync(data, { level, ...(dictionary.length > 0 ? { dictionary } : {}) });
}

/** gzip trailer: CRC-32 and ISIZE (size mod 2^32), little endian. */
export function gzipTrailer(crc: number, size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(crc >>> 0, 0);
  b.writeUInt32LE(size % 2 ** 32, 4);
  return b;
}

/**
 * Pins a block start known to lie in [b.bit - b.slack, b.bit] to its bit: the one
 * candidate from which the stream, decoded block by block (primed with `dictionary`,
 * the 32 KiB before it), reproduces `expected` (what the stream decodes to from
 * there on). `input` holds the compressed bytes from byte `inputStart` on, at or
 * before the earliest candidate. The true start always fits, so a single fit is it;
 * several fits happen (a stored block's header reads alike from neighbouring zero
 * bits) and give null, as does none: the caller then cuts at an earlier block.
 */
export function exactBlockStart(
  b: Pick<BlockBoundary, 'bit' | 'slack'>,
  input: Uint8Array,
  inputStart: number,
  dictionary: Uint8Array,
  expected: Uint8Array,
  /** `expected` runs to the end of the deflate stream: a fit must end right there. */
  endsStream = false,
): number | null {
  if (b.slack === 0) return b.bit;
  const fits: number[] = [];
  for (let bit = b.bit; bit >= b.bit - b.slack && bit >= inputStart * 8; bit--) {
    if (decodesTo({ input, inputStart }, bit, dictionary, expected, endsStream)) fits.push(bit);
  }
  return fits.length === 1 ? fits[0]! : null;
}

interface Held {
  input: Uint8Array;
  inputStart: number;
}

/** `n` (<= 24) bits at absolute bit `bit`, LSB first as deflate reads them; null past the end. */
function bitsAt(h: Held, bit: number, n: number): number | null {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const at = bit + i;
    const byte = h.input[Math.floor(at / 8) - h.inputStart];
    if (byte === undefined) return null;
    v |= ((byte >>> (at % 8)) & 1) << i;
  }
  return v;
}

/** The bit string starting `k` bits into `buf`, as bytes (LSB first). */
function shiftBits(buf: Uint8Array, k: number): Uint8Array {
  if (k === 0) return buf;
  const out = new Uint8Array(buf.length);
  for (let i = 0; i < buf.length; i++) out[i] = (buf[i]! >>> k) | ((buf[i + 1] ?? 0) << (8 - k));
  return out;
}

const lastWindow = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const all = Buffer.concat([a, b]);
  return all.subarray(Math.max(0, all.length - 32768));
};

/**
 * Whether decoding from absolute bit `start` gives `expected` (and, with `ends`, then
 * ends). Stored blocks are read on the input's own byte grid (their data starts at
 * the next byte boundary); Huffman blocks do not care about the grid, so pako
 * decodes each one from a bit-shifted copy, stopping at its end (Z_BLOCK).
 */
function decodesTo(
  h: Held,
  start: number,
  dictionary: Uint8Array,
  expected: Uint8Array,
  ends: boolean,
): boolean {
  let bit = start;
  let got = 0;
  let window = dictionary.subarray(Math.max(0, dictionary.length - 32768));
  for (;;) {
    if (!ends && got >= expected.length) return true;
    const head = bitsAt(h, bit, 3);
    if (head === null) return false;
    const final = (head & 1) === 1;
    const type = head >>> 1;
    let block: Uint8Array;
    if (type === 0) {
      const p = Math.ceil((bit + 3) / 8);
      const len = bitsAt(h, p * 8, 16);
      const nlen = bitsAt(h, p * 8 + 16, 16);
      if (len === null || nlen === null || (len ^ 0xffff) !== nlen) return false;
      const from = p + 4 - h.inputStart;
      if (from + len > h.input.length) return false;
      block = h.input.subarray(from, from + len);
      bit = (p + 4 + len) * 8;
    } else if (type === 3) {
      return false;
    } else {
      const s = new ZStream();
      zlibInflate.inflateInit2(s, -15);
      if (window.length > 0 && zlibInflate.inflateSetDictionary(s, window) !== Z_OK) return false;
      const rel = Math.floor(bit / 8) - h.inputStart;
      s.input = shiftBits(h.input.subarray(rel), bit % 8);
      s.next_in = 0;
      s.avail_in = s.input.length;
      // Room for one byte past what is expected: more output than that is a misfit.
      s.output = new Uint8Array(expected.length - got + 1);
      s.next_out = 0;
      s.avail_out = s.output.length;
      let ret = Z_OK;
      do ret = zlibInflate.inflate(s, Z_BLOCK);
      while (ret === Z_OK && (s.data_type & 128) === 0 && s.avail_out > 0 && s.avail_in > 0);
      const ended = ret === Z_STREAM_END || (ret === Z_OK && (s.data_type & 128) !== 0);
      const bits = s.state?.bits ?? 0;
      zlibInflate.inflateEnd(s);
      block = s.output.subarray(0, s.next_out);
      if (!ended) {
        // Out of room (all expected bytes produced) or out of input.
        return !ends && got + block.length > expected.length && matches(block, expected, got);
      }
      bit += s.next_in * 8 - bits;
    }
    if (got + block.length > expected.length) return !ends && matches(block, expected, got);
    if (!matches(block, expected, got)) return false;
    got += block.length;
    if (final) return got === expected.length;
    window = lastWindow(window, block);
  }
}

/** Whether `block` equals `expected` from `at` on, as far as both go. */
function matches(block: Uint8Array, expected: Uint8Array, at: number): boolean {
  const n = Math.min(block.length, expected.length - at);
  return Buffer.from(block.buffer, block.byteOffset, n).equals(expected.subarray(at, at + n));
}
