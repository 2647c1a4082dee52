// Names GPT partitions in an image xorriso wrote (it calls appended partitions
// "Appended2", "Appended3" and has no option to name them). Pure functions over
// bytes, in two halves so a stream can be patched as it passes: the head (LBA 0
// up to the end of the primary entry array) and the tail (backup entry array and
// backup header). Format: UEFI spec 2.10 ch. 5.3 (header at LBA 1, CRC32 of the
// header with its CRC field zeroed, CRC32 of the entry array; names UTF-16LE,
// 36 code units at entry offset 56).
import { crc32 } from 'node:zlib';
import { IsoError } from './errors.ts';
import type { StreamPatch } from './follow-hash.ts';

export const SECTOR = 512;
/** Name field of an entry: offset and size in bytes (36 UTF-16 code units). */
const NAME_AT = 56;
const NAME_BYTES = 72;
const MAX_ENTRIES = 4096;

export type GptNameErrorCode = 'NOT_GPT' | 'BAD_GPT' | 'NO_SUCH_PARTITION' | 'BAD_NAME';

/** A table that cannot be named (a rebuild may meet one in an ISO we did not make). */
export class GptNameError extends IsoError {
  declare readonly code: GptNameErrorCode;
  constructor(code: GptNameErrorCode, message: string) {
    super(code, message);
    this.name = 'GptNameError';
  }
}

/** Partition number (1-based, as sgdisk counts) -> name. */
export type PartitionNames = ReadonlyMap<number, string>;

/** Where the primary table said the backup lives, and the named entries (the backup gets the same). */
export interface PrimaryGpt {
  /** Byte offset of the tail: the backup entry array, then the backup header. */
  tailAt: number;
  backupHeaderAt: number;
  entries: Buffer;
  count: number;
  entrySize: number;
}

interface Header {
  size: number;
  myLba: number;
  altLba: number;
  entriesLba: number;
  count: number;
  entrySize: number;
  entriesCrc: number;
}

function headerCrc(h: Buffer, size: number): number {
  const copy = Buffer.from(h.subarray(0, size));
  copy.writeUInt32LE(0, 16);
  return crc32(copy);
}

function readHeader(b: Buffer, at: number, which: string): Header {
  if (b.length < at + SECTOR || b.toString('latin1', at, at + 8) !== 'EFI PART')
    throw new GptNameError('NOT_GPT', `no GPT ${which} header ('EFI PART' signature)`);
  const h = b.subarray(at, at + SECTOR);
  const size = h.readUInt32LE(12);
  if (size < 92 || size > SECTOR)
    throw new GptNameError('BAD_GPT', `GPT ${which} header size ${size} is invalid`);
  if (headerCrc(h, size) !== h.readUInt32LE(16))
    throw new GptNameError('BAD_GPT', `GPT ${which} header CRC does not match`);
  const count = h.readUInt32LE(80);
  const entrySize = h.readUInt32LE(84);
  if (count < 1 || count > MAX_ENTRIES || entrySize < 128 || entrySize % 8 !== 0)
    throw new GptNameError('BAD_GPT', `GPT ${which} header has ${count} entries of ${entrySize} bytes`);
  return {
    size,
    myLba: Number(h.readBigUInt64LE(24)),
    altLba: Number(h.readBigUInt64LE(32)),
    entriesLba: Number(h.readBigUInt64LE(72)),
    count,
    entrySize,
    entriesCrc: h.readUInt32LE(88),
  };
}

/** Writes the entry array's CRC into the header at `at`, then the header's own CRC. */
function sealHeader(b: Buffer, at: number, size: number, entries: Buffer): void {
  b.writeUInt32LE(crc32(entries), at + 88);
  b.writeUInt32LE(headerCrc(b.subarray(at, at + SECTOR), size), at + 16);
}

function encodeName(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf16le');
  if (name.length === 0 || name.includes('\0') || bytes.length > NAME_BYTES)
    throw new GptNameError('BAD_NAME', `GPT partition name '${name}' must be 1 to 36 UTF-16 characters`);
  return bytes;
}

/** The entry array with `names` set; other entries and fields unchanged. */
function namedEntries(entries: Buffer, count: number, entrySize: number, names: PartitionNames): Buffer {
  const out = Buffer.from(entries);
  for (const [number, name] of names) {
    const at = (number - 1) * entrySize;
    if (
      !Number.isInteger(number) ||
      number < 1 ||
      number > count ||
      out.subarray(at, at + 16).every((x) => x === 0)
    )
      throw new GptNameError('NO_SUCH_PARTITION', `GPT has no partition ${number} to name '${name}'`);
    const field = out.subarray(at + NAME_AT, at + NAME_AT + NAME_BYTES);
    field.fill(0);
    encodeName(name).copy(field);
  }
  return out;
}

/** Bytes from offset 0 the head must hold: LBA 0 to the end of the primary entry array. */
export function gptHeadLength(head: Buffer): number {
  const h = readHeader(head, SECTOR, 'primary');
  return h.entriesLba * SECTOR + h.count * h.entrySize;
}

/**
 * Names partitions in the primary GPT. `head` starts at offset 0 of the image and
 * holds at least gptHeadLength bytes; returns a patched copy and what the tail needs.
 */
export function nameGptHead(head: Buffer, names: PartitionNames): { bytes: Buffer; primary: PrimaryGpt } {
  const h = readHeader(head, SECTOR, 'primary');
  if (h.myLba !== 1) throw new GptNameError('BAD_GPT', `GPT primary header says it is at LBA ${h.myLba}`);
  const entriesAt = h.entriesLba * SECTOR;
  const entriesLen = h.count * h.entrySize;
  if (h.entriesLba < 2 || entriesAt + entriesLen > head.length)
    throw new GptNameError(
      'BAD_GPT',
      `GPT primary entry array (LBA ${h.entriesLba}) is not within the first ${head.length} bytes`,
    );
  const entries = head.subarray(entriesAt, entriesAt + entriesLen);
  if (crc32(entries) !== h.entriesCrc)
    throw new GptNameError('BAD_GPT', 'GPT primary entry array CRC does not match');
  const named = namedEntries(entries, h.count, h.entrySize, names);
  const bytes = Buffer.from(head);
  named.copy(bytes, entriesAt);
  sealHeader(bytes, SECTOR, h.size, named);
  const entrySectors = Math.ceil(entriesLen / SECTOR);
  if (h.altLba <= 1 + entrySectors)
    throw new GptNameError('BAD_GPT', `GPT backup header LBA ${h.altLba} is invalid`);
  return {
    bytes,
    primary: {
      tailAt: (h.altLba - entrySectors) * SECTOR,
      backupHeaderAt: h.altLba * SECTOR,
      entries: named,
      count: h.count,
      entrySize: h.entrySize,
    },
  };
}

/**
 * The backup half: `tail` holds the image bytes from `primary.tailAt` on (at least
 * through the backup header). Returns a patched copy whose entry array equals the
 * named primary one.
 */
export function nameGptTail(tail: Buffer, primary: PrimaryGpt): Buffer {
  const at = primary.backupHeaderAt - primary.tailAt;
  const h = readHeader(tail, at, 'backup');
  if (h.myLba * SECTOR !== primary.backupHeaderAt)
    throw new GptNameError('BAD_GPT', `GPT backup header says it is at LBA ${h.myLba}`);
  if (h.count !== primary.count || h.entrySize !== primary.entrySize)
    throw new GptNameError('BAD_GPT', 'GPT backup header disagrees with the primary on the entry array');
  const entriesAt = h.entriesLba * SECTOR - primary.tailAt;
  const entriesLen = h.count * h.entrySize;
  if (entriesAt < 0 || entriesAt + entriesLen > at)
    throw new GptNameError(
      'BAD_GPT',
      `GPT backup entry array (LBA ${h.entriesLba}) is not right before its header`,
    );
  if (crc32(tail.subarray(entriesAt, entriesAt + entriesLen)) !== h.entriesCrc)
    throw new GptNameError('BAD_GPT', 'GPT backup entry array CRC does not match');
  const bytes = Buffer.from(tail);
  primary.entries.copy(bytes, entriesAt);
  sealHeader(bytes, at, h.size, primary.entries);
  return bytes;
}

/** Both copies in a whole image in memory; returns a patched copy. */
export function nameGptPartitions(image: Buffer, names: PartitionNames): Buffer {
  const headLen = gptHeadLength(image);
  const { bytes: head, primary } = nameGptHead(image.subarray(0, headLen), names);
  if (primary.backupHeaderAt + SECTOR > image.length)
    throw new GptNameError(
      'BAD_GPT',
      `GPT backup header at byte ${primary.backupHeaderAt} is past the image's end`,
    );
  const tail = nameGptTail(image.subarray(primary.tailAt), primary);
  const out = Buffer.from(image);
  head.copy(out, 0);
  tail.copy(out, primary.tailAt);
  return out;
}

/**
 * The naming as a StreamPatch for followHash: the ISO is hashed as named while
 * xorriso writes it. One per image (it keeps the primary table for the tail).
 */
export function gptNamePatch(names: PartitionNames): StreamPatch {
  let primary: PrimaryGpt | null = null;
  return {
    headBytes: 64 * 1024,
    head(bytes) {
      const r = nameGptHead(bytes, names);
      primary = r.primary;
      return { bytes: r.bytes, tailAt: r.primary.tailAt };
    },
    tail(bytes) {
      if (!primary) throw new GptNameError('BAD_GPT', 'GPT tail patched before its head');
      return nameGptTail(bytes, primary);
    },
  };
}
