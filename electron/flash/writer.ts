// The write + verify engine. Pure of elevation: the CLI runs it in-process when
// already root, the elevated writer process runs the very same functions.
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isEmtError } from '../errors.ts';
import {
  alignedBuffers,
  dropFileCache,
  flushBlockCache,
  O_DIRECT,
  rereadPartitions,
  unmountAll,
} from './block-device.ts';
import { type Drive, listDrives } from './drive-list.ts';
import { judgeDrive } from './drive-policy.ts';
import { FlashError } from './flash-error.ts';
import { type FlashLog, openFlashLog } from './flash-log.ts';
import { type ExpectedImage, openExpectedImage } from './image-source.ts';
import { type FlashPhase, type FlashProgressSink, ProgressMeter } from './progress-meter.ts';
import { type ResolvedTarget, resolveTarget } from './targets.ts';

export const CHUNK = 4 << 20;
/** Written last, so an interrupted write leaves no partition table to auto-mount. */
export const HEAD = 1 << 20;
/** Reads kept in flight while reading back: one request at a time leaves the device idle while we hash. */
const READ_DEPTH = 3;

export interface FlashRequest {
  imagePath: string;
  devices: string[];
  /** Per-stick EMTCONFIG partition image, laid over the image at its GPT offset. */
  configImagePath?: string;
  /** One EMTCONFIG image per device, in the order of `devices` (overrides configImagePath). */
  configImagePaths?: string[];
  verify: boolean;
  /** The user confirmed explicit targets (loop devices, image files) and large drives. */
  yes: boolean;
  /** The user chose "show all drives": fixed, non-USB drives may be written. */
  showAll: boolean;
  largeDriveBytes?: number;
  appPath?: string;
  logDir?: string;
}

export type TargetStatus = 'ok' | 'refused' | 'failed' | 'cancelled' | 'mismatch';

export interface TargetResult {
  device: string;
  status: TargetStatus;
  imageSize: number;
  bytesWritten: number;
  /** sha256 of what must be on the target (image + config overlay). */
  sha256: string | null;
  /** null when not verified. */
  verified: boolean | null;
  readBackSha256?: string;
  /** First byte offset where the target differs from what must be there. */
  firstDifference?: number;
  error?: { code: string; message: string };
  seconds: number;
  /** One line for a person. */
  message: string;
}

export interface FlashOutcome {
  results: TargetResult[];
  logFile: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: FlashProgressSink;
  /** Drive list source (tests pass fixtures; default: drivelist). */
  listDrives?: () => Promise<Drive[]>;
  log?: FlashLog;
}

class Cancelled extends Error {}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

function describeIoError(device: string, e: unknown): FlashError {
  if (isEmtError(e)) return e as FlashError;
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'EBUSY':
      return new FlashError('BUSY', `${device}: is in use (mounted or opened by another program)`, device);
    case 'EACCES':
    case 'EPERM':
      return new FlashError(
        'ACCESS_DENIED',
        `${device}: access denied (needs administrator rights; on Windows, security software such as Controlled Folder Access can block raw disk writes)`,
        device,
      );
    case 'ENOSPC':
      return new FlashError('NO_SPACE', `${device}: no space left while writing`, device);
    case 'EIO':
      return new FlashError(
        'IO_ERROR',
        `${device}: I/O error (a failing stick or a loose connection?)`,
        device,
      );
    default:
      return new FlashError('IO_FAILED', `${device}: ${err.message ?? String(e)}`, device);
  }
}

async function writeFully(fh: FileHandle, buf: Buffer, len: number, pos: number): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesWritten } = await fh.write(buf, done, len - done, pos + done);
    if (bytesWritten <= 0) throw new FlashError('SHORT_WRITE', `wrote nothing at offset ${pos + done}`);
    done += bytesWritten;
  }
}

async function readFully(fh: FileHandle, buf: Buffer, len: number, pos: number): Promise<number> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Right after unmounting, udev probes, desktop automounters and (on Windows)
 * security scanners hold a drive for a moment: retry EBUSY/EPERM a few times.
 */
async function openPatiently(path: string, flags: number, isBlock: boolean, tries = 5): Promise<FileHandle> {
  for (let i = 1; ; i++) {
    try {
      return await open(path, flags);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!isBlock || i >= tries || !['EBUSY', 'EPERM'].includes(code ?? '')) throw e;
      await new Promise((r) => setTimeout(r, 400 * i));
    }
  }
}

interface Opened {
  fh: FileHandle;
  bufs: Buffer[];
  direct: boolean;
}

/** Opens with O_DIRECT (+O_EXCL on Linux block devices) and matching buffers, else buffered. */
async function openForIo(
  path: string,
  baseFlags: number,
  t: ResolvedTarget,
  sizes: number[],
  wantDirect: boolean,
): Promise<Opened> {
  // O_EXCL on a Linux block device: EBUSY if anything has it mounted or open exclusively.
  const writing = (baseFlags & constants.O_RDWR) !== 0;
  const excl = writing && t.isBlock && process.platform === 'linux' ? constants.O_EXCL : 0;
  if (wantDirect && O_DIRECT) {
    let fh: FileHandle | null = null;
    try {
      fh = await openPatiently(path, baseFlags | excl | O_DIRECT, t.isBlock);
      const bufs: Buffer[] = [];
      for (const size of sizes) {
        const b = await alignedBuffers(fh, 1, size, t.logicalBlockSize);
        if (!b) throw Object.assign(new Error('no aligned buffer'), { code: 'EINVAL' });
        bufs.push(b[0]!);
      }
      return { fh, bufs, direct: true };
    } catch (e) {
      await fh?.close();
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    }
  }
  const fh = await openPatiently(path, baseFlags | excl, t.isBlock);
  return { fh, bufs: sizes.map((s) => Buffer.allocUnsafeSlow(s)), direct: false };
}

interface WriteContext {
  image: ExpectedImage;
  meter: ProgressMeter;
  signal: AbortSignal | undefined;
  log: FlashLog;
}

/**
 * Writes the expected image to an opened target: wipe the old partition tables,
 * the body from 1 MiB on, then the first MiB last. Hashes what it writes only when
 * asked (`hash`): with verify on, the read-back pass hashes instead, where the
 * sha256 overlaps the slower device read rather than holding up the writes.
 */
async function writeBody(
  t: ResolvedTarget,
  io: Opened,
  ctx: WriteContext,
  progress: { bytes: number },
  hash: Hash | null,
): Promise<void> {
  const { image, meter, signal } = ctx;
  const { fh } = io;
  const [a, b, head] = io.bufs as [Buffer, Buffer, Buffer];
  const align = io.direct || t.isBlock ? t.logicalBlockSize : 1; // raw disks want whole sectors
  const size = image.size;

  if (t.isBlock && t.drive.size !== null && t.drive.size >= 2 * HEAD) {
    // Zero both ends first: the old MBR/GPT (and its backup at the drive's end)
    // must not describe partitions whose content we are about to overwrite.
    meter.start('wipe', 2 * HEAD);
    head.fill(0);
    await writeFully(fh, head, HEAD, 0);
    await writeFully(fh, head, HEAD, roundUp(t.drive.size - HEAD, t.logicalBlockSize));
    await fh.datasync();
    meter.update(2 * HEAD, true);
  }

  const headLen = await image.read(head, 0);
  if (headLen !== Math.min(HEAD, size))
    throw new FlashError('IMAGE_SHORT', `${image.path}: shorter than it said`);
  hash?.update(head.subarray(0, headLen));

  meter.start('write', size);
  let off = Math.min(HEAD, size);
  let cur = a;
  let next = b;
  let pending = off < size ? image.read(cur, off) : Promise.resolve(0);
  while (off < size) {
    const n = await pending;
    if (n === 0) throw new FlashError('IMAGE_SHORT', `${image.path}: ended at ${off} of ${size} bytes`);
    if (signal?.aborted) throw new Cancelled();
    const len = roundUp(n, align);
    if (len > n) cur.fill(0, n, len);
    const nextOff = off + n;
    pending = nextOff < size ? image.read(next, nextOff) : Promise.resolve(0);
    pending.catch(() => {}); // if we stop early, an in-flight read's failure is moot
    const w = writeFully(fh, cur, len, off);
    hash?.update(cur.subarray(0, n));
    await w;
    off = nextOff;
    progress.bytes = off - Math.min(HEAD, size);
    meter.update(progress.bytes);
    [cur, next] = [next, cur];
  }
  if (signal?.aborted) throw new Cancelled();

  const headWrite = roundUp(headLen, align);
  if (headWrite > headLen) head.fill(0, headLen, headWrite);
  await writeFully(fh, head, headWrite, 0);
  await fh.datasync();
  progress.bytes = size;
  meter.update(size, true);
  if (!t.isBlock && io.direct) await fh.truncate(size); // drop O_DIRECT's tail padding
}

export interface ReadBack {
  /** sha256 of what must be on the target (image + config overlay). */
  sha256: string;
  /** sha256 of the bytes read back from the target; only when all of them were read (no difference). */
  readBackSha256?: string;
  /** null when every byte read back equals the expected one. */
  firstDifference: number | null;
  direct: boolean;
}

/** Opens the target for reading past the page cache: O_DIRECT, else BLKFLSBUF / fadvise DONTNEED. */
async function openReadBack(t: ResolvedTarget, path: string): Promise<Opened> {
  const io = await openForIo(path, constants.O_RDONLY, t, Array(READ_DEPTH).fill(CHUNK), true).catch((e) => {
    throw describeIoError(t.drive.device, e);
  });
  if (!io.direct) {
    if (t.isBlock && process.platform === 'linux') await flushBlockCache(path);
    else if (!t.isBlock) await dropFileCache(path).catch(() => {});
  }
  return io;
}

/**
 * Reads the target back past the page cache and compares it byte for byte with
 * the expected bytes (image + overlay, re-read from the image alongside), with
 * READ_DEPTH chunks in flight so the device never waits for the compare. The
 * sha256 is taken over the bytes read back; as each chunk compared equal to the
 * expected one it is also the expected bytes' sha256, and a memcmp names the
 * first differing offset where a hash could only say "somewhere". On a
 * difference the image alone is read on to finish the expected hash (there is
 * then no read-back hash); the device is not read further.
 */
async function readBack(
  t: ResolvedTarget,
  path: string,
  image: ExpectedImage,
  meter: ProgressMeter | null,
  signal: AbortSignal | undefined,
): Promise<ReadBack> {
  const io = await openReadBack(t, path);
  const align = io.direct || t.isBlock ? t.logicalBlockSize : 1; // raw disks want whole sectors
  const size = image.size;
  const got = io.bufs;
  const exp = got.map(() => Buffer.allocUnsafeSlow(CHUNK));
  const hash = createHash('sha256');
  const read = (slot: number, off: number) => {
    const n = Math.min(CHUNK, size - off);
    // allSettled: a slot is only free again once both of its reads have ended
    return Promise.allSettled([
      readFully(io.fh, got[slot]!, roundUp(n, align), off),
      image.read(exp[slot]!, off),
    ]).then(([g, e]) => {
      if (g.status === 'rejected') throw g.reason;
      if (e.status === 'rejected') throw e.reason;
      return { n, g: g.value, e: e.value, slot };
    });
  };
  const queue: ReturnType<typeof read>[] = [];
  let next = 0;
  let slot = 0;
  const fill = () => {
    while (queue.length < READ_DEPTH && next < size) {
      const r = read(slot, next);
      r.catch(() => {}); // a later read failing while an earlier one is awaited is not unhandled
      queue.push(r);
      next += Math.min(CHUNK, size - next);
      slot = (slot + 1) % READ_DEPTH;
    }
  };
  let off = 0;
  let firstDifference: number | null = null;
  meter?.start('verify', size);
  try {
    fill();
    while (off < size) {
      const { n, g, e, slot: s } = await queue.shift()!;
      if (signal?.aborted) throw new Cancelled();
      if (e < n) throw new FlashError('IMAGE_SHORT', `${image.path}: changed while verifying`, image.path);
      const want = exp[s]!.subarray(0, n);
      if (g < n || !got[s]!.subarray(0, n).equals(want)) {
        const have = got[s]!.subarray(0, Math.min(n, g));
        let k = 0;
        while (k < have.length && have[k] === want[k]) k++;
        firstDifference = off + k;
        hash.update(want); // from here on the hash is the expected image's alone
        off += n;
        break;
      }
      // The bytes read back: equal to the expected ones, so one hash is both.
      hash.update(got[s]!.subarray(0, n));
      off += n;
      fill(); // the slot just compared is free again
      meter?.update(off);
    }
  } finally {
    await Promise.allSettled(queue); // never close the fd under a read in flight
    await io.fh.close();
  }
  // A difference: finish the expected hash from the image alone (the result still names it).
  for (const buf = exp[0]!; off < size; ) {
    if (signal?.aborted) throw new Cancelled();
    const e = await image.read(buf, off);
    if (e === 0) throw new FlashError('IMAGE_SHORT', `${image.path}: changed while verifying`, image.path);
    hash.update(buf.subarray(0, Math.min(e, size - off)));
    off += e;
  }
  if (firstDifference === null) meter?.update(size, true);
  const digest = hash.digest('hex');
  return {
    sha256: digest,
    ...(firstDifference === null ? { readBackSha256: digest } : {}),
    firstDifference,
    direct: io.direct,
  };
}

async function loadConfig(path: string | undefined): Promise<Buffer | undefined> {
  if (!path) return undefined;
  try {
    return await readFile(path);
  } catch (e) {
    throw new FlashError(
      'CONFIG_UNREADABLE',
      `${path}: cannot read the config image: ${(e as Error).message}`,
      path,
    );
  }
}

/** Resolves and judges every target; refusals become results, never writes. */
async function admit(
  req: FlashRequest,
  imageSize: number,
  list: () => Promise<Drive[]>,
): Promise<{ target?: ResolvedTarget; refused?: TargetResult; device: string }[]> {
  let cached: Promise<Drive[]> | null = null;
  const listed = () => {
    cached ??= list();
    return cached;
  };
  const imagePath = req.imagePath;
  const out: { target?: ResolvedTarget; refused?: TargetResult; device: string }[] = [];
  for (const device of req.devices) {
    const refuse = (code: string, message: string): void => {
      out.push({
        device,
        refused: {
          device,
          status: 'refused',
          imageSize,
          bytesWritten: 0,
          sha256: null,
          verified: null,
          error: { code, message },
          seconds: 0,
          message: `refused: ${message}`,
        },
      });
    };
    try {
      const target = await resolveTarget(device, listed);
      const verdict = judgeDrive(target.drive, {
        imagePath,
        imageSize,
        showAll: req.showAll,
        ...(req.appPath ? { appPath: req.appPath } : {}),
        ...(req.largeDriveBytes ? { largeDriveBytes: req.largeDriveBytes } : {}),
      });
      if (!verdict.allowed) refuse(verdict.reason.code, verdict.reason.message);
      else if (verdict.needsConfirmation && !req.yes)
        refuse('NEEDS_CONFIRMATION', `${verdict.needsConfirmation.message} (confirm with --yes)`);
      else if (out.some((o) => o.target?.path === target.path)) refuse('DUPLICATE', `${device}: named twice`);
      else out.push({ device, target });
    } catch (e) {
      if (!isEmtError(e)) throw e;
      refuse(e.code, e.message);
    }
  }
  return out;
}

async function flashOne(
  t: ResolvedTarget,
  req: FlashRequest,
  configImage: Buffer | undefined,
  opts: RunOptions,
  log: FlashLog,
): Promise<TargetResult> {
  const device = t.drive.device;
  const started = performance.now();
  const meter = new ProgressMeter(device, opts.onProgress ?? (() => {}));
  const progress = { bytes: 0 };
  let image: ExpectedImage | null = null;
  let tmp: string | null = null;
  let phase: FlashPhase = 'prepare';
  const result = (
    status: TargetStatus,
    extra: Partial<TargetResult> & { message: string },
  ): TargetResult => ({
    device,
    status,
    imageSize: image?.size ?? 0,
    bytesWritten: progress.bytes,
    sha256: null,
    verified: null,
    seconds: Math.round((performance.now() - started) / 10) / 100,
    ...extra,
  });
  try {
    image = await openExpectedImage(req.imagePath, configImage);
    if (image.config)
      log.line(
        `${device}: EMTCONFIG overlay at ${image.config.partition.offset} (${image.config.bytes.length} of ${image.config.partition.size} bytes, GPT entry ${image.config.partition.number} '${image.config.partition.name}')`,
      );
    if (t.drive.kind === 'drive' && t.drive.mountpoints.length > 0) {
      phase = 'unmount';
      meter.start('unmount', null);
      log.line(`${device}: unmounting ${t.drive.mountpoints.join(', ')}`);
      await unmountAll(device, t.drive.mountpoints);
    }
    // Image files are written beside the target and renamed into place at the end.
    const path = t.isBlock
      ? t.path
      : join(dirname(t.path), `.${basename(t.path)}.emt-${randomBytes(4).toString('hex')}`);
    if (!t.isBlock) {
      tmp = path;
      await (await open(path, 'wx', 0o644)).close();
    }
    phase = 'write';
    const io = await openForIo(path, constants.O_RDWR, t, [CHUNK, CHUNK, HEAD], t.isBlock).catch((e) => {
      throw describeIoError(device, e);
    });
    // Without verify the write pass is the only chance to hash what was written.
    const hash = req.verify ? null : createHash('sha256');
    try {
      log.line(
        `${device}: writing ${image.size} bytes from ${req.imagePath} (${io.direct ? 'O_DIRECT' : 'buffered'})`,
      );
      await writeBody(t, io, { image, meter, signal: opts.signal, log }, progress, hash);
    } finally {
      await io.fh.close();
    }
    // Let the kernel see the new partition table now (best effort; udev would later).
    if (t.isBlock && process.platform === 'linux') await rereadPartitions(t.path).catch(() => {});
    if (hash) {
      const sha256 = hash.digest('hex');
      log.line(`${device}: written, sha256 ${sha256}`);
      if (tmp) await rename(tmp, t.path);
      tmp = null;
      return result('ok', { sha256, message: `${device}: written (${image.size} bytes), not verified` });
    }
    log.line(`${device}: written`);
    phase = 'verify';
    const rb = await readBack(t, path, image, meter, opts.signal);
    const sha256 = rb.sha256;
    log.line(
      `${device}: read back ${rb.direct ? 'with O_DIRECT' : 'after dropping caches'}: ${rb.firstDifference === null ? `equal, sha256 ${sha256}` : `differs at ${rb.firstDifference}`}`,
    );
    if (rb.firstDifference !== null) {
      const at = rb.firstDifference;
      return result('mismatch', {
        sha256,
        verified: false,
        firstDifference: at,
        error: {
          code: 'VERIFY_MISMATCH',
          message: `${device}: verification failed: first difference at byte ${at}`,
        },
        message: `${device}: verification failed: first difference at byte ${at}; the stick is not usable`,
      });
    }
    if (tmp) await rename(tmp, t.path);
    tmp = null;
    return result('ok', {
      sha256,
      verified: true,
      ...(rb.readBackSha256 ? { readBackSha256: rb.readBackSha256 } : {}),
      message: `${device}: written and verified (${image.size} bytes, sha256 ${sha256.slice(0, 16)}...)`,
    });
  } catch (e) {
    if (e instanceof Cancelled) {
      log.line(`${device}: cancelled during ${phase} after ${progress.bytes} bytes`);
      return result('cancelled', {
        error: { code: 'CANCELLED', message: `${device}: cancelled` },
        message:
          phase === 'verify'
            ? t.isBlock
              ? `${device}: cancelled while verifying; all ${image?.size ?? 0} bytes were written but not checked`
              : `${device}: cancelled while verifying; the new file was removed and ${device} is as it was`
            : t.isBlock
              ? `${device}: cancelled after writing ${progress.bytes} of ${image?.size ?? 0} bytes; the stick is not usable (its partition table is wiped): write it again`
              : `${device}: cancelled after writing ${progress.bytes} of ${image?.size ?? 0} bytes to a temp file, now removed; ${device} is as it was`,
      });
    }
    const err = describeIoError(device, e);
    log.line(`${device}: failed during ${phase}: ${err.message}`);
    return result('failed', {
      error: { code: err.code, message: err.message },
      message: `${device}: failed during ${phase}: ${err.message}${progress.bytes === 0 ? '' : t.isBlock ? '; the stick is not usable' : `; ${device} is as it was (the temp file was removed)`}`,
    });
  } finally {
    await image?.close();
    if (tmp) await unlink(tmp).catch(() => {});
  }
}

/** Writes (and verifies) the image to every admitted target at once; one failing never stops the others. */
export async function flash(req: FlashRequest, opts: RunOptions = {}): Promise<FlashOutcome> {
  const log = opts.log ?? openFlashLog('flash', req.logDir);
  log.line(
    `flash ${req.imagePath} -> ${req.devices.join(', ')} (verify ${req.verify}, yes ${req.yes}, all ${req.showAll})`,
  );
  if (req.configImagePaths && req.configImagePaths.length !== req.devices.length)
    throw new FlashError(
      'USAGE',
      `${req.configImagePaths.length} config images for ${req.devices.length} devices: give one per device`,
    );
  // Each stick may get its own EMTCONFIG image; all are read (and checked) before any write.
  const byPath = new Map<string | undefined, Promise<Buffer | undefined>>();
  const configImages = await Promise.all(
    req.devices.map((_, i) => {
      const p = req.configImagePaths?.[i] ?? req.configImagePath;
      if (!byPath.has(p)) byPath.set(p, loadConfig(p));
      return byPath.get(p)!;
    }),
  );
  let imageSize = 0;
  for (const c of new Set(configImages)) {
    const probe = await openExpectedImage(req.imagePath, c);
    imageSize = probe.size;
    await probe.close();
  }
  // Policy compares paths: judge the image by its real path, not a symlink to it.
  const real = { ...req, imagePath: await realpath(req.imagePath) };
  const admitted = await admit(real, imageSize, opts.listDrives ?? listDrives);
  const results = await Promise.all(
    admitted.map(async (a, i) => {
      if (a.refused) {
        log.line(a.refused.message);
        return a.refused;
      }
      return flashOne(a.target!, req, configImages[i], opts, log);
    }),
  );
  for (const r of results) log.line(`result ${r.device}: ${r.status}: ${r.message}`);
  return { results, logFile: log.path };
}

export interface VerifyRequest {
  imagePath: string;
  device: string;
  configImagePath?: string;
  logDir?: string;
}

/** Compares a target with an image (+ config overlay), past the page cache. Never writes. */
export async function verifyTarget(req: VerifyRequest, opts: RunOptions = {}): Promise<TargetResult> {
  const log = opts.log ?? openFlashLog('verify', req.logDir);
  const started = performance.now();
  const image = await openExpectedImage(req.imagePath, await loadConfig(req.configImagePath));
  try {
    const t = await resolveTarget(req.device, opts.listDrives ?? listDrives);
    const size = t.isBlock ? t.drive.size : (await stat(t.path).catch(() => null))?.size;
    if (size === null || size === undefined)
      throw new FlashError('NO_TARGET', `${req.device}: does not exist or reports no size`, req.device);
    const base = {
      device: t.drive.device,
      imageSize: image.size,
      bytesWritten: 0,
      verified: false,
      seconds: 0,
    };
    const secs = () => Math.round((performance.now() - started) / 10) / 100;
    if (size < image.size) {
      const message = `${t.drive.device}: is ${size} bytes, shorter than the image (${image.size} bytes)`;
      return {
        ...base,
        status: 'mismatch',
        sha256: null,
        firstDifference: size,
        error: { code: 'TOO_SHORT', message },
        message,
        seconds: secs(),
      };
    }
    const meter = new ProgressMeter(t.drive.device, opts.onProgress ?? (() => {}));
    const rb = await readBack(t, t.path, image, meter, opts.signal);
    log.line(
      `verify ${req.imagePath} on ${t.drive.device}: ${rb.firstDifference === null ? 'match' : `differs at ${rb.firstDifference}`}`,
    );
    if (rb.firstDifference !== null) {
      const message = `${t.drive.device}: differs from ${req.imagePath} at byte ${rb.firstDifference}`;
      return {
        ...base,
        status: 'mismatch',
        sha256: rb.sha256,
        firstDifference: rb.firstDifference,
        error: { code: 'VERIFY_MISMATCH', message },
        message,
        seconds: secs(),
      };
    }
    return {
      ...base,
      status: 'ok',
      verified: true,
      sha256: rb.sha256,
      ...(rb.readBackSha256 ? { readBackSha256: rb.readBackSha256 } : {}),
      message: `${t.drive.device}: holds ${req.imagePath} byte for byte (sha256 ${rb.sha256.slice(0, 16)}...)`,
      seconds: secs(),
    };
  } catch (e) {
    if (e instanceof Cancelled)
      throw new FlashError('CANCELLED', `${req.device}: verification cancelled`, req.device);
    throw describeIoError(req.device, e);
  } finally {
    await image.close();
  }
}
