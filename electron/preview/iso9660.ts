// ISO 9660 reading, directory extents only (ECMA-119): volume descriptors from
// sector 16, the tree walked from the root record, names from Rock Ridge (SUSP
// "NM" entries, IEEE P1282) when present, else Joliet (UCS-2 BE, ECMA-119 SVD
// with escape %/@ %/C %/E), else the primary d-character names.
// A directory record: length at 0, extent LBA (LE) at 2, data length (LE) at 10,
// flags at 25 (0x02 directory, 0x80 multi-extent), name length at 32, name at 33.
import { PreviewError } from './errors.ts';
import type { ByteReader } from './reader.ts';

export const SECTOR = 2048;
/** A hostile tree cannot make us walk forever. */
const MAX_ENTRIES = 500_000;
const MAX_DIR_BYTES = 16 << 20;

export interface VolumeDescriptors {
  volumeId: string;
  /** Volume space size in bytes. */
  size: number;
  root: { lba: number; size: number };
  joliet: { lba: number; size: number } | null;
  /** LBA of the El Torito boot catalog, when a boot record points at one. */
  bootCatalog: number | null;
  /** Publisher, preparer and application ids (what made the ISO). */
  application: string;
  preparer: string;
}

export interface IsoEntry {
  /** Absolute path, '/'-separated, as Rock Ridge / Joliet spell it. */
  path: string;
  dir: boolean;
  /** Byte offset of the (first) extent in the image, and the file's size. */
  offset: number;
  size: number;
}

const strA = (b: Buffer, from: number, len: number) => b.toString('latin1', from, from + len).trim();

/** Pure: parses the descriptor set from sector 16 on (pass at least until the terminator). */
export function parseVolumeDescriptors(sectors: Buffer, name: string): VolumeDescriptors {
  let pvd: Buffer | null = null;
  let joliet: VolumeDescriptors['joliet'] = null;
  let bootCatalog: number | null = null;
  for (let off = 0; off + SECTOR <= sectors.length; off += SECTOR) {
    const d = sectors.subarray(off, off + SECTOR);
    if (d.toString('latin1', 1, 6) !== 'CD001') break;
    const type = d[0]!;
    if (type === 255) break;
    if (type === 0 && d.toString('latin1', 7, 30) === 'EL TORITO SPECIFICATION')
      bootCatalog = d.readUInt32LE(71);
    if (type === 1 && !pvd) pvd = d;
    if (type === 2 && d[88] === 0x25 && d[89] === 0x2f && [0x40, 0x43, 0x45].includes(d[90]!))
      joliet = { lba: d.readUInt32LE(156 + 2), size: d.readUInt32LE(156 + 10) };
  }
  if (!pvd) throw new PreviewError('NOT_ISO', `${name}: no ISO 9660 volume descriptor at sector 16`, name);
  return {
    volumeId: strA(pvd, 40, 32),
    size: pvd.readUInt32LE(80) * SECTOR,
    root: { lba: pvd.readUInt32LE(156 + 2), size: pvd.readUInt32LE(156 + 10) },
    joliet,
    bootCatalog,
    preparer: strA(pvd, 446, 128),
    application: strA(pvd, 574, 128),
  };
}

export async function readVolumeDescriptors(r: ByteReader): Promise<VolumeDescriptors> {
  const head = await r.read(16 * SECTOR, 8 * SECTOR);
  return parseVolumeDescriptors(head, r.name);
}

export interface DirRecord {
  name: string;
  dir: boolean;
  lba: number;
  size: number;
  multiExtent: boolean;
  /** Rock Ridge name, when an NM entry gave one (possibly continued in a CE area). */
  rrName: string | null;
  /** A CE continuation: more SUSP entries elsewhere. */
  continuation: { lba: number; offset: number; length: number } | null;
  /** Bytes of the SUSP area (for SP detection on the root's "."). */
  susp: Buffer;
}

/** Pure: SUSP entries of a system-use area; NM pieces joined, CE noted. */
export function parseSusp(area: Buffer): {
  nm: string | null;
  ce: DirRecord['continuation'];
  sp: number | null;
} {
  let nm: string | null = null;
  let ce: DirRecord['continuation'] = null;
  let sp: number | null = null;
  for (let p = 0; p + 4 <= area.length; ) {
    const sig = area.toString('latin1', p, p + 2);
    const len = area[p + 2]!;
    if (len < 4 || p + len > area.length) break;
    if (sig === 'NM' && len >= 5) {
      const flags = area[p + 4]!;
      if ((flags & 0x06) === 0) nm = (nm ?? '') + area.toString('utf8', p + 5, p + len);
    } else if (sig === 'CE' && len >= 28) {
      ce = {
        lba: area.readUInt32LE(p + 4),
        offset: area.readUInt32LE(p + 12),
        length: area.readUInt32LE(p + 20),
      };
    } else if (sig === 'SP' && len >= 7) {
      sp = area[p + 6]!;
    } else if (sig === 'ST') break;
    p += len;
  }
  return { nm, ce, sp };
}

/** Pure: the records of one directory extent (skipping "." and ".."), names decoded per `joliet`. */
export function parseDirectory(dir: Buffer, opts: { joliet: boolean; suspSkip: number }): DirRecord[] {
  const out: DirRecord[] = [];
  for (let off = 0; off < dir.length; ) {
    const len = dir[off]!;
    if (len === 0) {
      // Records never cross a sector boundary: the rest of this sector is padding.
      off = (Math.floor(off / SECTOR) + 1) * SECTOR;
      continue;
    }
    if (len < 34 || off + len > dir.length) break;
    const rec = dir.subarray(off, off + len);
    off += len;
    const idLen = rec[32]!;
    if (33 + idLen > len) continue;
    const id = rec.subarray(33, 33 + idLen);
    if (idLen === 1 && (id[0] === 0 || id[0] === 1)) continue;
    const flags = rec[25]!;
    const suspAt = 33 + idLen + (idLen % 2 === 0 ? 1 : 0) + opts.suspSkip;
    const susp = suspAt < len ? rec.subarray(suspAt) : Buffer.alloc(0);
    const s = parseSusp(susp);
    let name = opts.joliet ? Buffer.from(id).swap16().toString('utf16le') : id.toString('latin1');
    name = name.replace(/;\d+$/, '');
    if (!opts.joliet && !(flags & 0x02)) name = name.replace(/\.$/, '');
    out.push({
      name,
      dir: (flags & 0x02) !== 0,
      lba: rec.readUInt32LE(2),
      size: rec.readUInt32LE(10),
      multiExtent: (flags & 0x80) !== 0,
      rrName: s.nm,
      continuation: s.ce,
      susp,
    });
  }
  return out;
}

/** Joins multi-extent records (files over 4 GiB) into one entry of the summed size. */
function joinExtents(records: DirRecord[]): DirRecord[] {
  const out: DirRecord[] = [];
  let open: DirRecord | null = null;
  for (const r of records) {
    if (open && open.name === r.name) {
      open.size += r.size;
      open.multiExtent = r.multiExtent;
      if (!r.multiExtent) open = null;
      continue;
    }
    const copy = { ...r };
    out.push(copy);
    open = r.multiExtent ? copy : null;
  }
  return out;
}

/** Walks the whole tree (directory extents only). Rock Ridge names when the root says SP. */
export async function readTree(
  r: ByteReader,
  vd: VolumeDescriptors,
): Promise<{ entries: IsoEntry[]; names: 'rockridge' | 'joliet' | 'iso9660' }> {
  const rootRaw = await readExtent(r, vd.root.lba, vd.root.size);
  // Rock Ridge is announced by an SP entry in the root's "." record (SUSP 5.3).
  const dotLen = rootRaw[0] ?? 0;
  const dotSusp = dotLen >= 34 ? parseSusp(rootRaw.subarray(34, dotLen)) : null;
  const rockRidge = dotSusp?.sp !== null && dotSusp?.sp !== undefined;
  const useJoliet = !rockRidge && vd.joliet !== null;
  const root = useJoliet ? vd.joliet! : vd.root;
  const suspSkip = rockRidge ? (dotSusp?.sp ?? 0) : 0;
  const entries: IsoEntry[] = [];
  const seen = new Set<number>([root.lba]);
  const queue: { path: string; lba: number; size: number; raw?: Buffer }[] = [
    { path: '', lba: root.lba, size: root.size, ...(useJoliet ? {} : { raw: rootRaw }) },
  ];
  while (queue.length > 0) {
    const d = queue.shift()!;
    const raw = d.raw ?? (await readExtent(r, d.lba, d.size));
    const records = joinExtents(parseDirectory(raw, { joliet: useJoliet, suspSkip }));
    for (const rec of records) {
      let name = rec.rrName;
      if (rockRidge && name === null && rec.continuation) {
        const c = rec.continuation;
        const area = await r.read(c.lba * SECTOR + c.offset, Math.min(c.length, SECTOR));
        name = parseSusp(area).nm;
      }
      name = name ?? rec.name;
      if (name.includes('/') || name === '.' || name === '..' || name === '') continue;
      const path = `${d.path}/${name}`;
      entries.push({ path, dir: rec.dir, offset: rec.lba * SECTOR, size: rec.dir ? 0 : rec.size });
      if (entries.length > MAX_ENTRIES)
        throw new PreviewError(
          'TREE_TOO_BIG',
          `${r.name}: more than ${MAX_ENTRIES} entries in the ISO tree`,
          r.name,
        );
      if (rec.dir && !seen.has(rec.lba)) {
        seen.add(rec.lba);
        queue.push({ path, lba: rec.lba, size: rec.size });
      }
    }
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, names: rockRidge ? 'rockridge' : useJoliet ? 'joliet' : 'iso9660' };
}

async function readExtent(r: ByteReader, lba: number, size: number): Promise<Buffer> {
  if (size > MAX_DIR_BYTES || lba * SECTOR + size > r.size)
    throw new PreviewError(
      'BAD_DIRECTORY',
      `${r.name}: a directory extent at sector ${lba} lies outside the image`,
      r.name,
    );
  return r.read(lba * SECTOR, size);
}

/** Case-insensitive lookup (ISO names from other tools differ in case). */
export function findEntry(entries: readonly IsoEntry[], path: string): IsoEntry | undefined {
  const exact = entries.find((e) => e.path === path);
  if (exact) return exact;
  const low = path.toLowerCase();
  return entries.find((e) => e.path.toLowerCase() === low);
}

/** A small file's bytes, or null when it is missing or larger than `max`. */
export async function readIsoFile(
  r: ByteReader,
  entries: readonly IsoEntry[],
  path: string,
  max = 1 << 20,
): Promise<Buffer | null> {
  const e = findEntry(entries, path);
  if (!e || e.dir || e.size > max) return null;
  return r.read(e.offset, e.size);
}
