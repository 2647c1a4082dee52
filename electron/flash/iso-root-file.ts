// Reads one small file from the root directory of an ISO 9660 image, without
// mounting it and without xorriso: flash needs only /emt-installer.json.
// ECMA-119: the primary volume descriptor is at sector 16 (2048-byte sectors);
// its root directory record sits at byte 156; a directory record holds its
// length at 0, extent LBA (LE) at 2, data length (LE) at 10, flags at 25,
// identifier length at 32 and the identifier from 33.
import { type FileHandle, open } from 'node:fs/promises';

const SECTOR = 2048;

/** Names as the primary tree spells them: d-characters (A-Z 0-9 _), ';1' version dropped. */
const isoName = (raw: string): string =>
  raw
    .replace(/;1$/, '')
    .replace(/\.$/, '')
    .toUpperCase()
    .replace(/[^A-Z0-9_.]/g, '_');

/** Pure: finds `name` among the records of a root directory extent. */
export function findRootEntry(dir: Buffer, name: string): { lba: number; size: number } | null {
  const want = isoName(name);
  for (let off = 0; off < dir.length; ) {
    const len = dir[off]!;
    if (len === 0) {
      // Records never cross a sector boundary: skip to the next one.
      off = (Math.floor(off / SECTOR) + 1) * SECTOR;
      continue;
    }
    if (off + 33 > dir.length || len < 34) return null;
    const idLen = dir[off + 32]!;
    const flags = dir[off + 25]!;
    const id = dir.toString('latin1', off + 33, off + 33 + idLen);
    if ((flags & 0x02) === 0 && isoName(id) === want)
      return { lba: dir.readUInt32LE(off + 2), size: dir.readUInt32LE(off + 10) };
    off += len;
  }
  return null;
}

async function readAt(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  const { bytesRead } = await fh.read(b, 0, length, position);
  return b.subarray(0, bytesRead);
}

/** The file's bytes, or null when the image is no ISO 9660 or lacks the file. */
export async function readIsoRootFile(
  path: string,
  name: string,
  maxBytes = 1 << 20,
): Promise<Buffer | null> {
  const fh = await open(path, 'r');
  try {
    const pvd = await readAt(fh, SECTOR, 16 * SECTOR);
    if (pvd.length < SECTOR || pvd[0] !== 1 || pvd.toString('latin1', 1, 6) !== 'CD001') return null;
    const rootLba = pvd.readUInt32LE(156 + 2);
    const rootSize = pvd.readUInt32LE(156 + 10);
    if (rootSize === 0 || rootSize > 1 << 20) return null;
    const entry = findRootEntry(await readAt(fh, rootSize, rootLba * SECTOR), name);
    if (!entry || entry.size > maxBytes) return null;
    const data = await readAt(fh, entry.size, entry.lba * SECTOR);
    return data.length === entry.size ? data : null;
  } finally {
    await fh.close();
  }
}
