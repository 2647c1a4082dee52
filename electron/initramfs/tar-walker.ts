// A push-driven tar reader that tracks byte offsets: where each entry (with its
// pax/GNU extension headers) starts and ends, and where the end-of-archive zero
// blocks begin. rootfs-tar.ts needs those offsets (the splice point; dropping an
// entry's exact bytes), which tar-stream does not expose. Every entry goes
// through tar-safety before its bytes are passed on.
// Format: POSIX ustar + pax (IEEE 1003.1-2008 "pax Interchange Format"), GNU tar
// long names ('L'/'K') and old GNU sparse ('S' with extension blocks).
import {
  type OurPaths,
  TarArchiveGuard,
  type TarEntryInfo,
  type TarEntryType,
  TarSafetyError,
} from './tar-safety.ts';

const BLOCK = 512;
/** Pax / long-name payloads are small; anything bigger is a malformed or hostile archive. */
const MAX_EXT = 1 << 20;

export interface WalkedEntry extends TarEntryInfo {
  /** Offset of the entry's first block (its first extension header, if any). */
  start: number;
  /** Offset just past its data padding: the next entry's start. */
  end: number;
  mode: number;
}

export interface TarWalkerOptions {
  /** Named in error messages. */
  file: string;
  ours?: OurPaths;
  /** Sees each validated entry; returning true drops its bytes from `keep`. */
  onEntry?: (e: WalkedEntry) => boolean | undefined;
  /** Receives the bytes of kept entries, in order, up to the end-of-archive marker. */
  keep?: (bytes: Uint8Array) => void;
}

type State = 'header' | 'ext' | 'sparse' | 'data' | 'done';

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'contiguous-file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  S: 'file',
};

function cstr(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString('utf8');
}

/** Octal (NUL/space padded) or GNU base-256 (high bit set) numeric field; NaN if malformed. */
export function parseNumeric(b: Uint8Array, off: number, len: number): number {
  if ((b[off]! & 0x80) !== 0) {
    if (b[off] === 0xff) return Number.NaN; // negative: never valid for sizes here
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  const s = cstr(b, off, len).trim();
  if (s === '') return 0;
  return /^[0-7]+$/.test(s) ? Number.parseInt(s, 8) : Number.NaN;
}

function checksumOk(h: Uint8Array): boolean {
  const want = parseNumeric(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 32 : h[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return want === unsigned || want === signed;
}

/** Pax records: "<len> <key>=<value>\n", len counting the whole record. */
export function parsePax(data: Uint8Array, file: string): Map<string, string> {
  const out = new Map<string, string>();
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  while (p < buf.length && buf[p] !== 0) {
    const sp = buf.indexOf(0x20, p);
    const len = sp > p ? Number(buf.toString('latin1', p, sp)) : Number.NaN;
    if (!Number.isInteger(len) || len <= sp - p || p + len > buf.length || buf[p + len - 1] !== 0x0a) {
      throw new TarSafetyError(
        'BAD_HEADER',
        `${file}: malformed pax header record at byte ${p} of a pax block`,
        file,
      );
    }
    const rec = buf.toString('utf8', sp + 1, p + len - 1);
    const eq = rec.indexOf('=');
    if (eq <= 0)
      throw new TarSafetyError('BAD_HEADER', `${file}: malformed pax header record '${rec}'`, file);
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    p += len;
  }
  return out;
}

const isZero = (b: Uint8Array): boolean => {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
};

export class TarWalker {
  /** Bytes consumed so far. */
  offset = 0;
  /** Offset of the end-of-archive marker, once seen (or at end() if the archive has none). */
  eof: number | null = null;
  entries = 0;

  private state: State = 'header';
  private readonly block = new Uint8Array(BLOCK);
  private blockFill = 0;
  private remaining = 0; // data bytes (incl. padding) left in 'data' / 'ext'
  private ext: { type: string; size: number; parts: Uint8Array[]; got: number } | null = null;
  private pax = new Map<string, string>();
  private longName: string | undefined;
  private longLink: string | undefined;
  private pending: Uint8Array[] = []; // raw extension blocks awaiting the main header
  private entryStart = -1;
  private dropping = false;
  private current: WalkedEntry | null = null;

  private readonly guard: TarArchiveGuard;

  constructor(private readonly opts: TarWalkerOptions) {
    this.guard = new TarArchiveGuard(opts.file, opts.ours);
  }

  /** Lower bound of the end-of-archive offset: the next header cannot start before it. */
  get minEof(): number {
    if (this.eof !== null) return this.eof;
    if (this.state === 'data' || this.state === 'ext') return this.offset + this.remaining;
    return this.offset - this.blockFill;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  push(chunk: Uint8Array): void {
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      if (this.state === 'done') {
        this.offset += n - p;
        return;
      }
      if (this.state === 'data') {
        const take = Math.min(this.remaining, n - p);
        if (!this.dropping && this.opts.keep) this.opts.keep(chunk.subarray(p, p + take));
        p += take;
        this.offset += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'header';
        continue;
      }
      if (this.state === 'ext') {
        const e = this.ext!;
        const take = Math.min(this.remaining, n - p);
        const part = chunk.slice(p, p + take);
        e.parts.push(part);
        this.pending.push(part);
        e.got += take;
        p += take;
        this.offset += take;
        this.remaining -= take;
        if (this.remaining === 0) this.finishExt();
        continue;
      }
      // 'header' and 'sparse' read whole 512-byte blocks.
      const take = Math.min(BLOCK - this.blockFill, n - p);
      this.block.set(chunk.subarray(p, p + take), this.blockFill);
      this.blockFill += take;
      p += take;
      this.offset += take;
      if (this.blockFill === BLOCK) {
        this.blockFill = 0;
        if (this.state === 'sparse') this.onSparseBlock();
        else this.onHeader(this.offset - BLOCK);
      }
    }
  }

  /** Input is over: a cut inside an entry is refused with the entry named. */
  end(): void {
    if (this.state === 'done') return;
    if (this.state === 'header' && this.blockFill === 0 && this.pending.length === 0) {
      this.eof = this.offset; // no end-of-archive marker: tolerated, like GNU tar does
      this.state = 'done';
      return;
    }
    const what = this.current ? `entry '${this.current.name}'` : 'a tar header';
    const claimed = this.current ? ` claims ${this.current.size} bytes, but` : '';
    throw new TarSafetyError(
      'TRUNCATED',
      `${this.opts.file}: ${what}${claimed} the archive ends at byte ${this.offset} (truncated tar)`,
      this.opts.file,
      this.current?.name,
    );
  }

  private fail(code: string, msg: string, entry?: string): never {
    throw new TarSafetyError(code, `${this.opts.file}: ${msg}`, this.opts.file, entry);
  }

  private onHeader(at: number): void {
    const h = this.block;
    if (isZero(h)) {
      if (this.pending.length > 0)
        this.fail('BAD_HEADER', `extension header at byte ${at} is followed by no entry`);
      this.eof = at;
      this.state = 'done';
      this.current = null;
      return;
    }
    if (!checksumOk(h))
      this.fail('BAD_HEADER', `bad tar header checksum at byte ${at} (not a tar, or corrupt)`);
    if (this.entryStart < 0) this.entryStart = at;
    const typeflag = String.fromCharCode(h[156]!);
    let size = parseNumeric(h, 124, 12);
    if (Number.isNaN(size)) this.fail('BAD_HEADER', `malformed size field in the tar header at byte ${at}`);

    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_EXT) this.fail('BAD_HEADER', `extension header at byte ${at} claims ${size} bytes`);
      this.ext = { type: typeflag, size, parts: [], got: 0 };
      this.pending.push(h.slice());
      this.remaining = Math.ceil(size / BLOCK) * BLOCK;
      this.state = 'ext';
      if (this.remaining === 0) this.finishExt();
      return;
    }

    const ustar = cstr(h, 257, 6) === 'ustar' && h[262] === 0; // POSIX ustar has the prefix field
    let name = cstr(h, 0, 100);
    if (ustar) {
      const prefix = cstr(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    let linkname = cstr(h, 157, 100);
    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkname = this.longLink;
    const paxPath = this.pax.get('path');
    if (paxPath !== undefined) name = paxPath;
    const paxLink = this.pax.get('linkpath');
    if (paxLink !== undefined) linkname = paxLink;
    const paxSize = this.pax.get('size');
    if (paxSize !== undefined) {
      if (!/^[0-9]+$/.test(paxSize))
        this.fail('BAD_HEADER', `entry '${name}': malformed pax size '${paxSize}'`, name);
      size = Number(paxSize);
    }
    const type = TYPES[typeflag] ?? 'other';
    if (typeflag === 'M') this.fail('UNSUPPORTED', `entry '${name}' is a multi-volume continuation`, name);
    const sizeLess = type === 'directory' || type === 'symlink' || type === 'link' || type.endsWith('device');
    if ((sizeLess || type === 'fifo') && size !== 0) size = 0; // these carry no data (GNU tar skips none)
    const entry: WalkedEntry = {
      name,
      type,
      size,
      mode: parseNumeric(h, 100, 8),
      start: this.entryStart,
      end: 0,
      ...(type === 'symlink' || type === 'link' ? { linkname } : {}),
    };
    this.guard.check(entry);
    this.entries++;
    this.current = entry;
    this.pax = new Map();
    this.longName = undefined;
    this.longLink = undefined;

    // Old GNU sparse: the header's isextended byte chains 512-byte sparse map blocks
    // that the size field does not count.
    if (typeflag === 'S' && h[482] !== 0) {
      this.pending.push(h.slice());
      this.state = 'sparse';
      return;
    }
    this.beginData(h.slice());
  }

  private onSparseBlock(): void {
    this.pending.push(this.block.slice());
    if (this.block[504] === 0) this.beginData(null); // else more extension blocks follow
  }

  private beginData(header: Uint8Array | null): void {
    const e = this.current!;
    if (header) this.pending.push(header);
    this.remaining = Math.ceil(e.size / BLOCK) * BLOCK;
    e.end = this.offset + this.remaining;
    this.dropping = this.opts.onEntry?.(e) === true;
    if (!this.dropping && this.opts.keep) for (const b of this.pending) this.opts.keep(b);
    this.pending = [];
    this.entryStart = -1;
    this.state = this.remaining > 0 ? 'data' : 'header';
  }

  private finishExt(): void {
    const e = this.ext!;
    this.ext = null;
    this.state = 'header';
    const data = Buffer.concat(e.parts).subarray(0, e.size);
    if (e.type === 'x') for (const [k, v] of parsePax(data, this.opts.file)) this.pax.set(k, v);
    else if (e.type === 'L') this.longName = cstr(data, 0, data.length);
    else if (e.type === 'K') this.longLink = cstr(data, 0, data.length);
    else {
      // A global pax header stands alone: it is kept as an entry of its own.
      parsePax(data, this.opts.file);
      if (this.opts.keep) for (const b of this.pending) this.opts.keep(b);
      this.pending = [];
      this.entryStart = -1;
    }
  }
}
