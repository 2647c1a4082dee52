// Read-only FAT12/16/32 over a byte range of the image (Microsoft FAT spec
// "FAT: General Overview of On-Disk Format" 1.03): the BPB in sector 0, the FAT
// read once, directories walked with long names (LFN, attr 0x0F). Enough to list
// the ESP and the EMTCONFIG partition and read their small files.
import type { ByteReader } from './reader.ts';

export interface FatFileEntry {
  /** '/'-separated path from the volume root, without a leading '/'. */
  path: string;
  dir: boolean;
  size: number;
  cluster: number;
}

export interface FatVolume {
  type: 12 | 16 | 32;
  label: string | null;
  files: FatFileEntry[];
  /** A file's bytes (files up to `max` bytes; null when bigger or missing). */
  read(path: string, max?: number): Promise<Buffer | null>;
}

interface Bpb {
  bytesPerSector: number;
  sectorsPerCluster: number;
  reserved: number;
  fats: number;
  rootEntries: number;
  totalSectors: number;
  fatSectors: number;
  rootCluster: number;
  type: 12 | 16 | 32;
  label: string | null;
}

/** Pure: the BPB, or null when sector 0 is no FAT boot sector. */
export function parseBpb(s0: Buffer): Bpb | null {
  if (s0.length < 512 || s0[510] !== 0x55 || s0[511] !== 0xaa) return null;
  const bytesPerSector = s0.readUInt16LE(11);
  const sectorsPerCluster = s0[13]!;
  if (![512, 1024, 2048, 4096].includes(bytesPerSector) || sectorsPerCluster === 0) return null;
  if ((sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) return null;
  const reserved = s0.readUInt16LE(14);
  const fats = s0[16]!;
  const rootEntries = s0.readUInt16LE(17);
  const totalSectors = s0.readUInt16LE(19) || s0.readUInt32LE(32);
  const fat16Size = s0.readUInt16LE(22);
  const fatSectors = fat16Size || s0.readUInt32LE(36);
  if (reserved === 0 || fats === 0 || fatSectors === 0 || totalSectors === 0) return null;
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const dataSectors = totalSectors - (reserved + fats * fatSectors + rootSectors);
  const clusters = Math.floor(dataSectors / sectorsPerCluster);
  const type = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  const sigAt = type === 32 ? 0x42 : 0x26;
  const labelAt = type === 32 ? 0x47 : 0x2b;
  const label = s0[sigAt] === 0x29 ? s0.toString('latin1', labelAt, labelAt + 11).trimEnd() : null;
  return {
    bytesPerSector,
    sectorsPerCluster,
    reserved,
    fats,
    rootEntries,
    totalSectors,
    fatSectors,
    rootCluster: type === 32 ? s0.readUInt32LE(44) : 0,
    type,
    label: label === 'NO NAME' ? null : label,
  };
}

/** Pure: the entries of one directory's bytes; the volume label entry is returned as `label`. */
export function parseFatDirectory(dir: Buffer): {
  entries: { name: string; dir: boolean; size: number; cluster: number }[];
  label: string | null;
} {
  const entries: { name: string; dir: boolean; size: number; cluster: number }[] = [];
  let label: string | null = null;
  let lfn: string[] = [];
  for (let off = 0; off + 32 <= dir.length; off += 32) {
    const e = dir.subarray(off, off + 32);
    if (e[0] === 0) break;
    if (e[0] === 0xe5) {
      lfn = [];
      continue;
    }
    const attr = e[11]!;
    if (attr === 0x0f) {
      const part = Buffer.concat([e.subarray(1, 11), e.subarray(14, 26), e.subarray(28, 32)]).toString(
        'utf16le',
      );
      const seq = e[0]! & 0x1f;
      lfn[seq - 1] = part.replace(/\uffff/g, '').replace(/\0.*$/s, '');
      continue;
    }
    if (attr & 0x08) {
      if (!(attr & 0x10)) label = e.toString('latin1', 0, 11).trimEnd();
      lfn = [];
      continue;
    }
    const base = e.toString('latin1', 0, 8).trimEnd();
    const ext = e.toString('latin1', 8, 11).trimEnd();
    // NT case bits (0x08 base, 0x10 extension lower case) as Linux and Windows write them.
    const nt = e[12]!;
    const short = `${nt & 0x08 ? base.toLowerCase() : base}${ext ? `.${nt & 0x10 ? ext.toLowerCase() : ext}` : ''}`;
    const name = lfn.length > 0 ? lfn.join('') : short;
    lfn = [];
    if (name === '.' || name === '..') continue;
    entries.push({
      name,
      dir: (attr & 0x10) !== 0,
      size: e.readUInt32LE(28),
      cluster: (e.readUInt16LE(20) << 16) | e.readUInt16LE(26),
    });
  }
  return { entries, label };
}

const MAX_FILES = 100_000;

/** Opens the FAT volume at `offset` (`length` bytes) of the image, or null when it is none. */
export async function openFat(r: ByteReader, offset: number, length: number): Promise<FatVolume | null> {
  const bpb = parseBpb(await r.read(offset, 512));
  if (!bpb) return null;
  const bps = bpb.bytesPerSector;
  const clusterBytes = bps * bpb.sectorsPerCluster;
  const fatBytes = bpb.fatSectors * bps;
  if (fatBytes > 64 << 20 || bpb.totalSectors * bps > length + bps) return null;
  const fat = await r.read(offset + bpb.reserved * bps, fatBytes);
  const rootDirAt = offset + (bpb.reserved + bpb.fats * bpb.fatSectors) * bps;
  const rootDirBytes = bpb.rootEntries * 32;
  const dataAt = rootDirAt + Math.ceil(rootDirBytes / bps) * bps;
  const maxCluster = Math.floor((bpb.totalSectors * bps - (dataAt - offset)) / clusterBytes) + 1;
  const next = (c: number): number => {
    if (bpb.type === 32) return fat.readUInt32LE(c * 4) & 0x0fffffff;
    if (bpb.type === 16) return fat.readUInt16LE(c * 2);
    const v = fat.readUInt16LE(Math.floor(c * 1.5));
    return c & 1 ? v >> 4 : v & 0xfff;
  };
  const eoc = bpb.type === 32 ? 0x0ffffff8 : bpb.type === 16 ? 0xfff8 : 0xff8;
  const chain = (first: number): number[] => {
    const out: number[] = [];
    for (let c = first; c >= 2 && c < eoc && c <= maxCluster; c = next(c)) {
      if (out.length > maxCluster) break; // a loop in a hostile FAT
      out.push(c);
    }
    return out;
  };
  const readChain = async (first: number, size: number | null): Promise<Buffer> => {
    const parts: Buffer[] = [];
    let left = size ?? Number.POSITIVE_INFINITY;
    for (const c of chain(first)) {
      if (left <= 0) break;
      const n = Math.min(clusterBytes, left);
      parts.push(await r.read(dataAt + (c - 2) * clusterBytes, n));
      left -= n;
    }
    return Buffer.concat(parts);
  };
  const files: FatFileEntry[] = [];
  let label = bpb.label;
  const walk = async (raw: Buffer, prefix: string, depth: number) => {
    const d = parseFatDirectory(raw);
    if (depth === 0 && d.label) label = d.label;
    for (const e of d.entries) {
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      files.push({ path, dir: e.dir, size: e.dir ? 0 : e.size, cluster: e.cluster });
      if (files.length > MAX_FILES) return;
      if (e.dir && depth < 16 && e.cluster >= 2)
        await walk(await readChain(e.cluster, 1 << 20), path, depth + 1);
    }
  };
  const rootRaw =
    bpb.type === 32 ? await readChain(bpb.rootCluster, 1 << 20) : await r.read(rootDirAt, rootDirBytes);
  await walk(rootRaw, '', 0);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    type: bpb.type,
    label,
    files,
    async read(path, max = 1 << 20) {
      const low = path.replace(/^\/+/, '').toLowerCase();
      const f = files.find((x) => x.path.toLowerCase() === low);
      if (!f || f.dir || f.size > max) return null;
      if (f.size === 0) return Buffer.alloc(0);
      return readChain(f.cluster, f.size);
    },
  };
}
