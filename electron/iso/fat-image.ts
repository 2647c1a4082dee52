// FAT file system images built in-process with FatFs (js-fatfs, wasm), made
// reproducible: FatFs's clock is driven from the build's date, and the volume
// label and serial (which this FatFs build cannot set) are patched in after mkfs.
// Layout facts: Microsoft "FAT: General Overview of On-Disk Format" (BPB offsets).

import { open, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as FatFs from 'js-fatfs';
import { IsoError } from './errors.ts';

export type FatType = 12 | 16 | 32;

export interface FatFile {
  /** '/'-separated path inside the image, e.g. `EFI/BOOT/BOOTX64.EFI`. */
  path: string;
  /** The bytes, or the path of a file on disk to copy in. */
  data: Buffer | Uint8Array | string;
}

export interface FatImageOptions {
  sizeBytes: number;
  fat: FatType;
  /** 1-11 characters of A-Z 0-9 _ - (stored in the boot sector and the root directory). */
  label: string;
  /** Volume serial number (32 bits). */
  serial: number;
  /** Seconds since 1970 (SOURCE_DATE_EPOCH): every timestamp in the image, UTC. */
  dateEpoch: number;
  files: FatFile[];
}

const SECTOR = 512;
// Cluster-count limits of the FAT types (Microsoft spec): FAT12 < 4085 <= FAT16 < 65525 <= FAT32.
// We stay a few clusters clear of them, because tools round the edges differently.
const FAT12_MAX = 4084 - 16;
const FAT16_MIN = 4085 + 16;
const FAT16_MAX = 65524 - 16;
const FAT32_MIN = 65525 + 16;
const FAT_EPOCH_MIN = 315532800; // 1980-01-01, the first date FAT can store
const FAT_EPOCH_MAX = 4354819199; // 2107-12-31
const CHUNK = 1 << 20;

const fail = (code: string, message: string, file?: string): never => {
  throw new IsoError(code, message, file);
};

/** Validates a FAT volume label; returns it padded to the 11-byte field. */
export function fatLabelField(label: string): string {
  if (!/^[A-Z0-9_-]{1,11}$/.test(label))
    fail('BAD_FAT_LABEL', `FAT label '${label}' must be 1-11 of A-Z 0-9 _ -`);
  return label.padEnd(11, ' ');
}

/**
 * Sectors per cluster for a volume of `totalSectors` that gives the wanted FAT
 * type: the smallest power of two (1..64) whose cluster count lands in its range.
 * FatFs picks FAT12 vs FAT16 from the rough count total/spc first, then checks
 * the exact count, so both must agree; it refuses (FR_MKFS_ABORTED) otherwise.
 */
export function clusterSectors(totalSectors: number, fat: FatType): number | null {
  const entrySize = fat === 12 ? 1.5 : fat === 16 ? 2 : 4;
  const reserved = fat === 32 ? 32 : 1;
  const rootSectors = fat === 32 ? 0 : 32; // 512 entries
  for (let spc = 1; spc <= 64; spc *= 2) {
    const rough = Math.floor(totalSectors / spc);
    // data = total - reserved - root - 2 FATs, each covering (clusters + 2) entries.
    const clusters = Math.floor(
      (totalSectors - reserved - rootSectors - (2 * 2 * entrySize) / SECTOR) /
        (spc + (2 * entrySize) / SECTOR),
    );
    const ok =
      fat === 12
        ? rough <= FAT12_MAX
        : fat === 16
          ? rough >= FAT16_MIN && clusters >= FAT16_MIN && clusters <= FAT16_MAX
          : clusters >= FAT32_MIN;
    if (ok && clusters > 16) return spc;
  }
  return null;
}

// Just the WebAssembly API we use (the project's lib settings leave it untyped).
interface WasmMemory {
  buffer: ArrayBuffer;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  Instance: new (mod: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

// The wasm module is compiled once; each image gets a fresh instance (FatFs keeps global state).
let wasmModule: Promise<object> | undefined;
function fatfsWasm(): Promise<object> {
  wasmModule ??= (async () => {
    const entry = createRequire(import.meta.url).resolve('js-fatfs');
    return wasm.compile(await readFile(join(dirname(entry), 'fatfs.wasm')));
  })();
  return wasmModule;
}

type Imports = Record<string, Record<string, unknown>>;

/**
 * FatFs asks the C library for the time (get_fattime -> time() -> localtime()),
 * which emscripten answers from Date.now() and the local zone. We swap those two
 * imports (found by their function names, not the minified keys) for the fixed
 * date in UTC. `memory` returns the instance's memory once it exists.
 */
function fixClock(imports: Imports, dateEpoch: number, memory: () => WasmMemory): void {
  const env =
    Object.values(imports)[0] ?? fail('FATFS_CLOCK', 'js-fatfs: no wasm imports to drive its clock');
  const keyFor = (name: string): string => {
    const key = Object.keys(env).find(
      (k) => typeof env[k] === 'function' && (env[k] as () => void).name === name,
    );
    return (
      key ??
      fail('FATFS_CLOCK', `js-fatfs: cannot find its ${name} import to fix the clock (package changed?)`)
    );
  };
  const d = new Date(dateEpoch * 1000);
  // struct tm: sec min hour mday mon year wday yday isdst gmtoff (int32 each).
  const tm = [
    d.getUTCSeconds(),
    d.getUTCMinutes(),
    d.getUTCHours(),
    d.getUTCDate(),
    d.getUTCMonth(),
    d.getUTCFullYear() - 1900,
    d.getUTCDay(),
    Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000),
    0,
    0,
  ];
  env[keyFor('_emscripten_date_now')] = () => dateEpoch * 1000;
  env[keyFor('__localtime_js')] = (_lo: number, _hi: number, ptr: number) => {
    const view = new DataView(memory().buffer);
    for (const [i, v] of tm.entries()) view.setInt32(ptr + i * 4, v, true);
  };
}

async function startFatFs(image: Buffer, dateEpoch: number, readOnly = false): Promise<FatFs.FatFs> {
  const mod = await fatfsWasm();
  const diskio: FatFs.DiskIO = {
    initialize: () => 0,
    status: () => 0,
    read: (ff, _pdrv, buff, sector, count) => {
      ff.HEAPU8.set(image.subarray(sector * SECTOR, (sector + count) * SECTOR), buff);
      return FatFs.RES_OK;
    },
    write: (ff, _pdrv, buff, sector, count) => {
      if (readOnly) return FatFs.RES_WRPRT;
      image.set(ff.HEAPU8.subarray(buff, buff + count * SECTOR), sector * SECTOR);
      return FatFs.RES_OK;
    },
    ioctl: (ff, _pdrv, cmd, buff) => {
      if (cmd === FatFs.CTRL_SYNC) return FatFs.RES_OK;
      if (cmd === FatFs.GET_SECTOR_COUNT) ff.setValue(buff, image.length / SECTOR, 'i32');
      else if (cmd === FatFs.GET_SECTOR_SIZE) ff.setValue(buff, SECTOR, 'i16');
      else if (cmd === FatFs.GET_BLOCK_SIZE) ff.setValue(buff, 1, 'i32');
      else return FatFs.RES_PARERR;
      return FatFs.RES_OK;
    },
  };
  let memory: WasmMemory | undefined;
  const instantiateWasm = (imports: Imports, receive: (i: object) => unknown) => {
    fixClock(
      imports,
      dateEpoch,
      () => memory ?? fail('FATFS_CLOCK', 'js-fatfs asked the time before it started'),
    );
    const instance = new wasm.Instance(mod, imports);
    memory = Object.values(instance.exports).find((e): e is WasmMemory => e instanceof wasm.Memory);
    return receive(instance);
  };
  return FatFs.create({ diskio, instantiateWasm } as FatFs.FatFsOptions);
}

/** FAT's packed local date and time (2-second resolution); we store UTC. */
export function fatDateTime(epoch: number): { date: number; time: number } {
  const d = new Date(epoch * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

interface Geometry {
  type: FatType;
  clusters: number;
  rootDirOffset: number;
  backupBootSector: number;
}

/** Reads the BPB FatFs wrote and classifies it as the spec does (by cluster count). */
export function readGeometry(image: Buffer): Geometry {
  const bps = image.readUInt16LE(0x0b);
  const spc = image.readUInt8(0x0d);
  const reserved = image.readUInt16LE(0x0e);
  const nFats = image.readUInt8(0x10);
  const rootEntries = image.readUInt16LE(0x11);
  const fatSize = image.readUInt16LE(0x16) || image.readUInt32LE(0x24);
  const total = image.readUInt16LE(0x13) || image.readUInt32LE(0x20);
  const rootSectors = Math.ceil((rootEntries * 32) / bps);
  const firstData = reserved + nFats * fatSize + rootSectors;
  const clusters = Math.floor((total - firstData) / spc);
  const type: FatType = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  const rootDirOffset =
    type === 32
      ? (firstData + (image.readUInt32LE(0x2c) - 2) * spc) * bps
      : (reserved + nFats * fatSize) * bps;
  return { type, clusters, rootDirOffset, backupBootSector: type === 32 ? image.readUInt16LE(0x32) : 0 };
}

// FatFs was built without label support and takes the serial from its clock: set
// both as the spec places them (FAT12/16 at 0x27/0x2B/0x36, FAT32 at 0x43/0x47/0x52).
function patchBootSector(image: Buffer, g: Geometry, labelField: string, serial: number): void {
  const base = g.type === 32 ? 0x43 : 0x27;
  const sectors = g.type === 32 ? [0, g.backupBootSector] : [0];
  for (const s of sectors) {
    const o = s * SECTOR;
    image.writeUInt32LE(serial >>> 0, o + base);
    image.write(labelField, o + base + 4, 11, 'latin1');
    image.write(g.type === 32 ? 'FAT32   ' : `FAT${g.type}   `, o + base + 15, 8, 'latin1');
  }
}

// The label tools show (blkid, Windows) is the root directory's volume-label entry.
function addLabelEntry(image: Buffer, g: Geometry, labelField: string, dateEpoch: number): void {
  const o = g.rootDirOffset;
  if (image[o] !== 0) fail('FAT_LAYOUT', 'root directory is not empty after mkfs');
  const { date, time } = fatDateTime(dateEpoch);
  image.write(labelField, o, 11, 'latin1');
  image[o + 11] = 0x08; // ATTR_VOLUME_ID
  image.writeUInt16LE(time, o + 22);
  image.writeUInt16LE(date, o + 24);
}

const BAD_NAME = /[\u0000-\u001f"*:<>?\\|]/;

function checkPath(path: string): string[] {
  const parts = path.split('/');
  if (path.length === 0 || path.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    fail(
      'FAT_BAD_PATH',
      `FAT image path '${path}' must be relative, '/'-separated, without '.', '..' or empty parts`,
    );
  }
  for (const p of parts) {
    if (BAD_NAME.test(p) || p.length > 255 || p.endsWith('.') || p.endsWith(' ')) {
      fail('FAT_BAD_PATH', `FAT image path '${path}': '${p}' is not a valid FAT file name`);
    }
  }
  return parts;
}

const fatfsName = (r: number): string =>
  ['OK', 'DISK_ERR', 'INT_ERR', 'NOT_READY', 'NO_FILE', 'NO_PATH', 'INVALID_NAME', 'DENIED', 'EXIST'][r] ??
  `FR ${r}`;

function check(r: number, what: string, file?: string): void {
  if (r !== FatFs.FR_OK) fail('FATFS', `FatFs ${what} failed: ${fatfsName(r)}`, file);
}

async function* chunksOf(data: FatFile['data']): AsyncGenerator<Uint8Array> {
  if (typeof data !== 'string') {
    for (let i = 0; i < data.length; i += CHUNK) yield data.subarray(i, i + CHUNK);
    return;
  }
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(data, 'r');
  } catch (e) {
    return fail('FAT_INPUT', `cannot read ${data}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, data);
  }
  try {
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null).catch((e: NodeJS.ErrnoException) => {
        throw new IsoError('FAT_INPUT', `cannot read ${data}: ${e.code ?? String(e)}`, data);
      });
      if (bytesRead === 0) break;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

function validate(o: FatImageOptions): string {
  if (![12, 16, 32].includes(o.fat)) fail('FAT_GEOMETRY', `FAT type ${o.fat} must be 12, 16 or 32`);
  if (
    !Number.isInteger(o.sizeBytes) ||
    o.sizeBytes % SECTOR !== 0 ||
    o.sizeBytes < 64 * 1024 ||
    o.sizeBytes > 2 ** 31
  ) {
    fail('FAT_GEOMETRY', `FAT image size ${o.sizeBytes} must be a multiple of 512 between 64 KiB and 2 GiB`);
  }
  if (!Number.isInteger(o.serial) || o.serial < 0 || o.serial > 0xffffffff) {
    fail('FAT_SERIAL', `FAT serial ${o.serial} must be a 32-bit unsigned number`);
  }
  if (!Number.isInteger(o.dateEpoch) || o.dateEpoch < FAT_EPOCH_MIN || o.dateEpoch > FAT_EPOCH_MAX) {
    fail('FAT_DATE', `date ${o.dateEpoch} is outside what FAT can store (1980-2107)`);
  }
  const seen = new Set<string>();
  for (const f of o.files) {
    checkPath(f.path);
    const key = f.path.toUpperCase(); // FAT names are case-insensitive
    if (seen.has(key)) fail('FAT_BAD_PATH', `FAT image path '${f.path}' is given twice`);
    seen.add(key);
  }
  return fatLabelField(o.label);
}

/** Builds a FAT image (no partition table: a "super floppy", as partitions and El Torito want). */
export async function makeFatImage(o: FatImageOptions): Promise<Buffer> {
  const labelField = validate(o);
  const image = Buffer.alloc(o.sizeBytes);
  const spc =
    clusterSectors(o.sizeBytes / SECTOR, o.fat) ??
    fail('FAT_GEOMETRY', `${o.sizeBytes} bytes cannot hold a FAT${o.fat} file system`);
  const ff = await startFatFs(image, o.dateEpoch);
  const work = ff.malloc(32 * 1024);
  const fs = ff.malloc(FatFs.sizeof_FATFS);
  const fp = ff.malloc(FatFs.sizeof_FIL);
  const bw = ff.malloc(4);
  const buf = ff.malloc(CHUNK);
  try {
    const fmt = (o.fat === 32 ? FatFs.FM_FAT32 : FatFs.FM_FAT) | FatFs.FM_SFD;
    const params = { fmt, n_fat: 2, align: 1, n_root: o.fat === 32 ? 0 : 512, au_size: spc * SECTOR };
    check(ff.f_mkfs('', params, work, 32 * 1024), `mkfs FAT${o.fat} of ${o.sizeBytes} bytes`);
    const g = readGeometry(image);
    if (g.type !== o.fat)
      fail('FAT_GEOMETRY', `mkfs gave FAT${g.type} (${g.clusters} clusters), not FAT${o.fat}`);
    patchBootSector(image, g, labelField, o.serial);
    addLabelEntry(image, g, labelField, o.dateEpoch);

    check(ff.f_mount(fs, '', 1), 'mount');
    const made = new Set<string>();
    for (const f of o.files) {
      const parts = checkPath(f.path);
      for (let i = 1; i < parts.length; i++) {
        const dir = `/${parts.slice(0, i).join('/')}`;
        if (made.has(dir.toUpperCase())) continue;
        const r = ff.f_mkdir(dir);
        if (r !== FatFs.FR_OK && r !== FatFs.FR_EXIST) check(r, `mkdir ${dir}`, f.path);
        made.add(dir.toUpperCase());
      }
      const source = typeof f.data === 'string' ? f.data : undefined;
      check(ff.f_open(fp, `/${f.path}`, FatFs.FA_WRITE | FatFs.FA_CREATE_NEW), `create ${f.path}`, source);
      for await (const chunk of chunksOf(f.data)) {
        ff.HEAPU8.set(chunk, buf);
        check(ff.f_write(fp, buf, chunk.length, bw), `write ${f.path}`, source);
        if (ff.getValue(bw, 'i32') !== chunk.length) {
          fail(
            'FAT_FULL',
            `${f.path} does not fit in the ${o.sizeBytes}-byte FAT image '${o.label}'`,
            source,
          );
        }
      }
      check(ff.f_close(fp), `close ${f.path}`, source);
    }
    check(ff.f_unmount(''), 'unmount');
  } finally {
    for (const p of [buf, bw, fp, fs, work]) ff.free(p);
  }
  return image;
}

/** What readFatFiles found: the FAT type, the boot sector's label, and the files asked for. */
export interface FatContents {
  type: FatType;
  /** Trailing spaces removed. */
  label: string;
  /** Each path asked for: its bytes (up to `maxFileBytes`), or null when absent. */
  files: Map<string, Buffer | null>;
}

/**
 * Reads an existing FAT image without changing it: null when the bytes are not a
 * FAT file system (no boot signature, impossible geometry, or FatFs cannot mount it).
 */
export async function readFatFiles(
  image: Buffer,
  paths: string[],
  maxFileBytes = CHUNK,
): Promise<FatContents | null> {
  if (image.length < 4 * SECTOR || image.length % SECTOR !== 0) return null;
  if (image.readUInt16LE(0x1fe) !== 0xaa55 || image.readUInt16LE(0x0b) !== SECTOR) return null;
  const spc = image.readUInt8(0x0d);
  if (spc === 0 || (spc & (spc - 1)) !== 0 || image.readUInt8(0x10) === 0) return null;
  const g = readGeometry(image);
  if (!(g.clusters > 0)) return null;
  const ff = await startFatFs(image, FAT_EPOCH_MIN, true);
  const fs = ff.malloc(FatFs.sizeof_FATFS);
  const fp = ff.malloc(FatFs.sizeof_FIL);
  const br = ff.malloc(4);
  const buf = ff.malloc(maxFileBytes);
  try {
    if (ff.f_mount(fs, '', 1) !== FatFs.FR_OK) return null;
    const files = new Map<string, Buffer | null>();
    for (const p of paths) {
      if (ff.f_open(fp, `/${p}`, FatFs.FA_READ) !== FatFs.FR_OK) {
        files.set(p, null);
        continue;
      }
      check(ff.f_read(fp, buf, maxFileBytes, br), `read ${p}`);
      files.set(p, Buffer.from(ff.HEAPU8.subarray(buf, buf + ff.getValue(br, 'i32'))));
      ff.f_close(fp);
    }
    const base = g.type === 32 ? 0x47 : 0x2b;
    return { type: g.type, label: image.toString('latin1', base, base + 11).trimEnd(), files };
  } finally {
    for (const p of [buf, br, fp, fs]) ff.free(p);
  }
}
