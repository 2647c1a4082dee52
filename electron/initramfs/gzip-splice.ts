// gzip with deflate block boundaries, for appending to a .gz without recompressing
// it (the technique of zlib's examples/gzappend.c, written anew): decode once,
// remember where each deflate block starts (bit position, uncompressed offset,
// CRC so far), then keep the old bytes up to a block start, byte-align with an
// empty stored block, append a fresh deflate stream and a new trailer.
// Formats: gzip RFC 1952, deflate RFC 1951.
import { crc32, deflateRawSync } from 'node:zlib';
import zlibInflate from 'pako/lib/zlib/inflate.js';
import ZStream from 'pako/lib/zlib/zstream.js';
import { EmtError } from '../errors.ts';

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
    if (avail >= 1 && buf[off] !== 0x1f) throw notGzip(file, off);
    if (avail >= 2 && buf[off + 1] !== 0x8b) throw notGzip(file, off);
    return null;
  }
  if (buf[off] !== 0x1f || buf[off + 1] !== 0x8b) throw notGzip(file, off);
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

function notGzip(file: string, off: number): GzipError {
  return new GzipError(
    'NOT_GZIP',
    off === 0 ? `${file}: not a gzip file` : `${file}: data after the gzip stream at byte ${off} is not gzip`,
    file,
  );
}

/** A place where a deflate block starts: what to keep, and the stream state there. */
export interface BlockBoundary {
  /** Absolute bit position in the input (bit 0 = LSB of byte 0). */
  bit: number;
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
  private state: ReaderState = 'header';
  private carry: Uint8Array = new Uint8Array(0); // header/trailer bytes split across chunks
  private strm = new ZStream();
  private out = new Uint8Array(OUT_CHUNK);
  private emitted = 0;
  private crc = 0;
  private memberOut = 0;
  private memberStart = 0;

  constructor(
    private readonly file: string,
    private readonly ev: GzipBlockReaderEvents,
  ) {}

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
      p = this.inflate(buf, p, base);
    }
    this.inOffset += chunk.length;
  }

  /** Input is over: it must have ended after a complete member. */
  end(): void {
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
    this.strm = new ZStream();
    zlibInflate.inflateInit2(this.strm, -15);
    this.out = new Uint8Array(OUT_CHUNK); // earlier output may still be held by consumers
    this.crc = 0;
    this.memberOut = this.outOffset;
    this.state = 'deflate';
    // Member start is a block start the reader does not stop at (raw inflate begins mid-state).
    this.ev.onBoundary({
      bit: deflateStart * 8,
      out: this.outOffset,
      member: this.members,
      memberOut: this.memberOut,
      crc: 0,
    });
    this.members++;
  }

  private emit(): void {
    const n = this.strm.next_out - this.emitted;
    if (n <= 0) return;
    const data = this.out.subarray(this.emitted, this.strm.next_out);
    this.emitted = this.strm.next_out;
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
        return s.next_in;
      }
      // 128: stopped at a block start. 64: the block just decoded was the final one, so
      // this is the stream's end, not a place to append after.
      if ((s.data_type & 128) !== 0 && (s.data_type & 64) === 0) {
        const bits = s.state!.bits;
        this.ev.onBoundary({
          bit: (base + s.next_in) * 8 - bits,
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
