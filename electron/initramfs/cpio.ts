// newc cpio, as the kernel reads it (Documentation/driver-api/early-userspace/buffer-format.rst):
// a 110-byte ASCII header ("070701" or "070702" + 13 fields of 8 hex digits), the
// NUL-terminated name, header+name padded to 4, the data padded to 4; an archive ends
// with the entry "TRAILER!!!". Pure header encode/decode plus a push parser and a writer.
import { Readable } from 'node:stream';
import { InitramfsError } from './errors.ts';

export const CPIO_HEADER_SIZE = 110;
export const TRAILER_NAME = 'TRAILER!!!';
const MAX_NAME = 4096;

export interface CpioHeader {
  magic: '070701' | '070702';
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  /** Name length including its NUL. */
  nameSize: number;
  /** Sum of data bytes for 070702, else 0. */
  check: number;
}

export interface CpioEntry extends CpioHeader {
  name: string;
  /** The name's raw bytes (without NUL), for faithful re-encoding. */
  nameBytes: Buffer;
  /** Offset of the header within the (uncompressed) cpio stream. */
  offset: number;
}

const FIELDS = [
  'ino',
  'mode',
  'uid',
  'gid',
  'nlink',
  'mtime',
  'size',
  'devMajor',
  'devMinor',
  'rdevMajor',
  'rdevMinor',
  'nameSize',
  'check',
] as const;

export const pad4 = (n: number): number => (4 - (n % 4)) % 4;

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

/** Decode a 110-byte header; null when the bytes are not a newc header. */
export function parseHeader(buf: Uint8Array): CpioHeader | null {
  if (buf.length < CPIO_HEADER_SIZE) return null;
  const b = Buffer.from(buf.buffer, buf.byteOffset, CPIO_HEADER_SIZE);
  const magic = b.toString('latin1', 0, 6);
  if (magic !== '070701' && magic !== '070702') return null;
  const h: Partial<CpioHeader> = { magic };
  for (let i = 0; i < FIELDS.length; i++) {
    const text = b.toString('latin1', 6 + i * 8, 14 + i * 8);
    if (!/^[0-9a-fA-F]{8}$/.test(text)) return null;
    h[FIELDS[i]!] = Number.parseInt(text, 16);
  }
  return h as CpioHeader;
}

const hex8 = (n: number): string => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
};

/** Header + name + padding, ready to be followed by the data and pad4(size) NULs. */
export function encodeHeader(entry: Omit<CpioHeader, 'nameSize'> & { name: string | Buffer }): Buffer {
  const name = typeof entry.name === 'string' ? Buffer.from(entry.name, 'utf8') : entry.name;
  const nameSize = name.length + 1;
  const fields: CpioHeader = { ...entry, nameSize };
  let text = entry.magic;
  for (const f of FIELDS) text += hex8(fields[f]);
  const len = CPIO_HEADER_SIZE + nameSize;
  const out = Buffer.alloc(len + pad4(len));
  out.write(text, 0, 'latin1');
  name.copy(out, CPIO_HEADER_SIZE);
  return out;
}

/** A plain file header with reproducible fields: root owner, nlink 1, no devices. */
export function fileHeader(
  name: string,
  size: number,
  opts: { ino: number; mode: number; mtime: number },
): Buffer {
  return encodeHeader({
    magic: '070701',
    name,
    ino: opts.ino,
    mode: opts.mode,
    uid: 0,
    gid: 0,
    nlink: 1,
    mtime: opts.mtime,
    size,
    devMajor: 0,
    devMinor: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    check: 0,
  });
}

export function trailer(): Buffer {
  return encodeHeader({
    magic: '070701',
    name: TRAILER_NAME,
    ino: 0,
    mode: 0,
    uid: 0,
    gid: 0,
    nlink: 1,
    mtime: 0,
    size: 0,
    devMajor: 0,
    devMinor: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    check: 0,
  });
}

/** Name as the kernel resolves it at the root ("./a" and "/a" are "a"). */
export function normalName(name: string): string {
  return name.replace(/^(\.?\/)+/, '');
}

/** Absolute or `..` names: refused wherever we extract or rewrite. */
export function unsafeName(name: string): boolean {
  if (name.startsWith('/')) return true;
  return name.split('/').includes('..');
}

/** newc "crc" (070702) check field: the data bytes summed as unsigned, modulo 2^32. */
export function byteSum(start: number, data: Uint8Array): number {
  let s = start;
  for (let i = 0; i < data.length; i++) s += data[i]!;
  return s >>> 0;
}

export interface CpioHandlers {
  /** A header was read. Return false to skip (not receive) its data. */
  entry(e: CpioEntry): boolean | undefined | Promise<boolean | undefined>;
  /** A slice of the current entry's data (only when entry() did not return false). */
  data?(e: CpioEntry, chunk: Buffer): void | Promise<void>;
  /** The current entry's data is complete. */
  end?(e: CpioEntry): void | Promise<void>;
  /** A TRAILER!!! was read (an archive ended); `offset` is the position right after it. */
  trailer?(offset: number): void | Promise<void>;
}

type State = 'header' | 'name' | 'data' | 'datapad' | 'reset';

/**
 * Push parser over one cpio stream (possibly several archives back to back, as the
 * kernel accepts). Feed with write(); finish with end(), which checks the stream
 * stopped cleanly after a TRAILER (or, with `single`, that the first TRAILER came).
 */
export class CpioParser {
  /** Bytes consumed so far (position in the uncompressed stream). */
  pos = 0;
  entries = 0;
  trailers = 0;
  private state: State = 'header';
  private acc: Buffer[] = [];
  private accLen = 0;
  private need = CPIO_HEADER_SIZE;
  private header: CpioHeader | null = null;
  private current: CpioEntry | null = null;
  private wanted = false;
  private left = 0;
  /** Running byte sum of a 070702 regular file's data, to compare with its `check` field. */
  private sum: number | null = null;
  private readonly where: string;

  constructor(
    private readonly handlers: CpioHandlers,
    /** Context for messages, e.g. "segment at offset 0 in initrd.img". */
    where: string,
    private readonly opts: { strictNames?: boolean; single?: boolean } = {},
  ) {
    this.where = where;
  }

  /** True when a single-archive parse has seen its TRAILER (the caller stops feeding). */
  get done(): boolean {
    return Boolean(this.opts.single) && this.trailers > 0 && this.state === 'reset';
  }

  /** Feed bytes; returns how many were used (less than given only once `done`). */
  async write(chunk: Buffer): Promise<number> {
    let i = 0;
    while (i < chunk.length) {
      if (this.done) return i;
      switch (this.state) {
        case 'reset': {
          // Between archives the kernel skips NULs, then expects the next header.
          while (i < chunk.length && chunk[i] === 0) {
            i++;
            this.pos++;
          }
          if (i < chunk.length) this.setState('header', CPIO_HEADER_SIZE);
          break;
        }
        case 'header':
        case 'name': {
          const take = Math.min(this.need - this.accLen, chunk.length - i);
          this.acc.push(chunk.subarray(i, i + take));
          this.accLen += take;
          i += take;
          this.pos += take;
          if (this.accLen === this.need) await this.gotFixed();
          break;
        }
        case 'data': {
          const take = Math.min(this.left, chunk.length - i);
          const slice = chunk.subarray(i, i + take);
          i += take;
          this.pos += take;
          this.left -= take;
          if (this.sum !== null) this.sum = byteSum(this.sum, slice);
          if (this.wanted && take > 0) await this.handlers.data?.(this.current!, slice);
          if (this.left === 0) await this.finishData();
          break;
        }
        case 'datapad': {
          const take = Math.min(this.left, chunk.length - i);
          i += take;
          this.pos += take;
          this.left -= take;
          if (this.left === 0) this.afterEntry();
          break;
        }
      }
    }
    return i;
  }

  /** Input ended: anything but a clean stop after a TRAILER is an error. */
  end(): void {
    if (this.state === 'reset') return;
    if (this.state === 'datapad') {
      // Trailing pad cut off by the end of the stream: harmless after a TRAILER only.
      if (this.current?.name === TRAILER_NAME) return;
    }
    const e = this.current;
    if ((this.state === 'data' || this.state === 'datapad') && e) {
      throw new InitramfsError(
        'CPIO_TRUNCATED',
        `cpio entry '${e.name}' at offset ${e.offset} in ${this.where} claims ${e.size} bytes, but the data ends after ${e.size - this.left} of them`,
      );
    }
    if (this.state === 'name' && this.header) {
      throw new InitramfsError(
        'CPIO_TRUNCATED',
        `cpio header at offset ${this.pos - this.accLen} in ${this.where} is cut off inside its name`,
      );
    }
    if (this.accLen > 0 || this.trailers === 0) {
      throw new InitramfsError(
        'NO_TRAILER',
        `cpio data in ${this.where} ends at offset ${this.pos} without a TRAILER!!! entry`,
      );
    }
    throw new InitramfsError('NO_TRAILER', `cpio data in ${this.where} does not end at a TRAILER!!! entry`);
  }

  private setState(s: State, need: number): void {
    this.state = s;
    this.need = need;
    this.acc = [];
    this.accLen = 0;
  }

  private async gotFixed(): Promise<void> {
    const buf = this.acc.length === 1 ? this.acc[0]! : Buffer.concat(this.acc);
    if (this.state === 'header') {
      const start = this.pos - CPIO_HEADER_SIZE;
      const h = parseHeader(buf);
      if (!h) {
        throw new InitramfsError(
          'CPIO_BAD_HEADER',
          `no cpio header at offset ${start} in ${this.where} (bytes ${buf.subarray(0, 6).toString('hex')})`,
        );
      }
      if (h.nameSize < 1 || h.nameSize > MAX_NAME) {
        throw new InitramfsError(
          'CPIO_BAD_HEADER',
          `cpio header at offset ${start} in ${this.where} has a bad name size ${h.nameSize}`,
        );
      }
      this.header = h;
      const len = CPIO_HEADER_SIZE + h.nameSize;
      this.setState('name', h.nameSize + pad4(len));
      return;
    }
    const h = this.header!;
    const start = this.pos - CPIO_HEADER_SIZE - this.need;
    const nameBytes = Buffer.from(buf.subarray(0, h.nameSize - 1));
    const name = nameBytes.toString('utf8');
    const e: CpioEntry = { ...h, name, nameBytes, offset: start };
    this.current = e;
    if (name === TRAILER_NAME) {
      this.trailers++;
      this.setState('reset', 0);
      this.header = null;
      await this.handlers.trailer?.(this.pos);
      return;
    }
    if (this.opts.strictNames && unsafeName(name)) {
      throw new InitramfsError(
        'UNSAFE_NAME',
        `cpio entry '${name}' at offset ${start} in ${this.where} is an absolute or '..' path`,
      );
    }
    this.entries++;
    const r = await this.handlers.entry(e);
    this.wanted = r !== false;
    this.left = h.size;
    // The kernel checks the sum for regular files only (init/initramfs.c, do_copy).
    this.sum = h.magic === '070702' && (h.mode & S_IFMT) === S_IFREG ? 0 : null;
    this.state = 'data';
    this.acc = [];
    this.accLen = 0;
    if (h.size === 0) await this.finishData();
  }

  private async finishData(): Promise<void> {
    const e = this.current!;
    if (this.sum !== null && this.sum !== e.check) {
      throw new InitramfsError(
        'CPIO_BAD_CHECKSUM',
        `cpio entry '${e.name}' at offset ${e.offset} in ${this.where} has a wrong data checksum (header ${hex8(e.check)}, data sums to ${hex8(this.sum)}): the kernel refuses it at boot ("bad data checksum")`,
      );
    }
    this.sum = null;
    if (this.wanted) await this.handlers.end?.(this.current!);
    this.left = pad4(this.pos);
    this.state = 'datapad';
    if (this.left === 0) this.afterEntry();
  }

  private afterEntry(): void {
    this.setState('header', CPIO_HEADER_SIZE);
    this.header = null;
  }
}

export interface CpioWriteEntry {
  header: Omit<CpioHeader, 'nameSize'> & { name: string | Buffer };
  /** The data: bytes, or a stream of exactly header.size bytes. */
  data?: Buffer | AsyncIterable<Buffer>;
}

/**
 * A streaming cpio writer: entries in, bytes out. Positions count from `start`
 * (so data padding stays 4-aligned in the output file).
 */
export interface CpioWriteOptions {
  /** Output position of the first byte (keeps data padding aligned in a bigger file). */
  start?: number;
  /** Like `cpio --reproducible`: inodes numbered 1, 2, ... in order, device numbers 0. */
  reproducible?: boolean;
  /** Owner and group 0 for every entry. */
  rootOwner?: boolean;
}

export async function* cpioBytes(
  entries: AsyncIterable<CpioWriteEntry> | Iterable<CpioWriteEntry>,
  opts: CpioWriteOptions = {},
) {
  let pos = opts.start ?? 0;
  let ino = 0;
  for await (const e of entries) {
    const h = { ...e.header };
    if (opts.reproducible) Object.assign(h, { ino: ++ino, devMajor: 0, devMinor: 0 });
    if (opts.rootOwner) Object.assign(h, { uid: 0, gid: 0 });
    const head = encodeHeader(h);
    yield head;
    pos += head.length;
    let n = 0;
    if (Buffer.isBuffer(e.data)) {
      if (e.data.length > 0) yield e.data;
      n = e.data.length;
    } else if (e.data) {
      for await (const c of e.data) {
        n += c.length;
        if (n > e.header.size) break;
        yield c;
      }
    }
    if (n !== e.header.size) {
      throw new InitramfsError(
        'CPIO_SIZE',
        `cpio entry '${e.header.name}': expected ${e.header.size} bytes, got ${n}`,
      );
    }
    pos += n;
    const p = pad4(pos);
    if (p) yield Buffer.alloc(p);
    pos += p;
  }
  const t = trailer();
  yield t;
}

export const cpioReadable = (
  entries: Iterable<CpioWriteEntry> | AsyncIterable<CpioWriteEntry>,
  opts: CpioWriteOptions = {},
) => Readable.from(cpioBytes(entries, opts), { objectMode: false });

/** Thin streaming shell: run a parser over any byte source (a Readable, a file stream). */
export async function readCpio(
  source: AsyncIterable<Buffer | Uint8Array>,
  handlers: CpioHandlers,
  where: string,
  opts: { strictNames?: boolean; single?: boolean } = {},
): Promise<CpioParser> {
  const p = new CpioParser(handlers, where, opts);
  for await (const c of source) {
    await p.write(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    if (p.done) return p;
  }
  p.end();
  return p;
}
