// GPT reading, just enough to find the EMTCONFIG partition inside an installer
// image (UEFI spec 2.10 ch. 5.3: header at LBA 1, 128-byte entries).
const SECTOR = 512;

export const BASIC_DATA_TYPE = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';
export const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

export interface GptPartition {
  /** 1-based entry number, for messages only: we never rely on it. */
  number: number;
  typeGuid: string;
  name: string;
  /** Byte offset and length in the image. */
  offset: number;
  size: number;
}

/** GUIDs are stored mixed-endian: the first three fields little-endian. */
export function guidToString(b: Buffer): string {
  const hex = (s: Buffer) => s.toString('hex').toUpperCase();
  const le = (s: Buffer) => hex(Buffer.from(s).reverse());
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
}

/** Where the entry array lives, from the header at LBA 1 (null: no GPT). */
export function parseGptHeader(
  lba1: Buffer,
): { entriesOffset: number; count: number; entrySize: number } | null {
  if (lba1.length < 92 || lba1.toString('latin1', 0, 8) !== 'EFI PART') return null;
  const entriesLba = Number(lba1.readBigUInt64LE(72));
  const count = lba1.readUInt32LE(80);
  const entrySize = lba1.readUInt32LE(84);
  if (entrySize < 128 || count > 4096) return null;
  return { entriesOffset: entriesLba * SECTOR, count, entrySize };
}

export function parseGptEntries(entries: Buffer, count: number, entrySize: number): GptPartition[] {
  const parts: GptPartition[] = [];
  for (let i = 0; i < count && (i + 1) * entrySize <= entries.length; i++) {
    const e = entries.subarray(i * entrySize, (i + 1) * entrySize);
    const type = e.subarray(0, 16);
    if (type.every((x) => x === 0)) continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    const name = e.toString('utf16le', 56, 128).replace(/\0.*$/s, '');
    parts.push({
      number: i + 1,
      typeGuid: guidToString(type),
      name,
      offset: first * SECTOR,
      size: (last - first + 1) * SECTOR,
    });
  }
  return parts;
}

/** FAT volume label from a boot sector (FAT32 at 0x47, FAT12/16 at 0x2B), or null. */
export function fatLabel(bootSector: Buffer): string | null {
  if (bootSector.length < 512 || bootSector[510] !== 0x55 || bootSector[511] !== 0xaa) return null;
  const fat32 = bootSector.readUInt16LE(22) === 0; // sectors per FAT (16-bit) is 0 only on FAT32
  const sigAt = fat32 ? 0x42 : 0x26;
  if (bootSector[sigAt] !== 0x29) return null;
  const at = fat32 ? 0x47 : 0x2b;
  return bootSector.toString('latin1', at, at + 11).trimEnd();
}

export const CONFIG_LABEL = 'EMTCONFIG';

/**
 * The per-stick config partition: by GPT name EMTCONFIG, else a basic-data
 * partition whose FAT label is EMTCONFIG (ISOs built before we named the GPT
 * partitions read "Appended3" there).
 */
export function findConfigPartition(
  parts: readonly GptPartition[],
  bootSectorOf: (p: GptPartition) => Buffer,
): GptPartition | null {
  const byName = parts.find((p) => p.name.toUpperCase() === CONFIG_LABEL);
  if (byName) return byName;
  return (
    parts.find(
      (p) => p.typeGuid === BASIC_DATA_TYPE && fatLabel(bootSectorOf(p))?.toUpperCase() === CONFIG_LABEL,
    ) ?? null
  );
}
