// A bootkit from the Bootkit OS build output (`emt-bootkit.tar.gz`: the whole root
// file system, the kernel and a dracut initramfs under /boot). The published bootkit
// is that kernel, and that initramfs with the tarball appended as `rootfs.tar.gz` in
// a trailing uncompressed newc segment (the kernel unpacks initramfs segments in
// turn, see Documentation/driver-api/early-userspace/buffer-format.rst), which
// dracut's tmpfs root module unpacks into a tmpfs. No unpack to disk, no root.
//   scan the tarball (until /boot is done) -> check kernel + initramfs
//   -> (drop /boot from the rootfs) -> append rootfs.tar.gz -> rename -> (pack)
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { EmtError, isCancelled } from '../errors.ts';
import { fileHeader, pad4, S_IFREG, trailer } from '../initramfs/cpio.ts';
import { ROOTFS_NAME, walkInitramfs } from '../initramfs/segments.ts';
import { normalizeTarPath } from '../initramfs/tar-safety.ts';
import { TarWalker } from '../initramfs/tar-walker.ts';
import { noProgress, type ProgressSink } from '../progress.ts';
import { BootkitError } from './errors.ts';
import { readKernelVersion } from './kernel-version.ts';

/** newc's size field is 8 hex digits. */
export const MAX_ROOTFS_BYTES = 0xffff_ffff;
/** Bigger members are not a kernel or an initramfs but a hostile or broken archive. */
const MAX_KERNEL_BYTES = 256 * 2 ** 20;
const MAX_INITRAMFS_BYTES = 2 * 2 ** 30;
/** Files that mark a root file system (os-release, as systemd and dracut read it). */
const ROOTFS_MARKERS = ['etc/os-release', 'usr/lib/os-release'];

const KERNEL_RE = /^boot\/vmlinuz-(.+)$/;
const INITRAMFS_RE = /^boot\/(?:initramfs-(.+)\.img|initrd\.img-(.+))$/;

export interface BootFiles {
  version: string;
  /** Entry names in the tarball, e.g. "boot/vmlinuz-6.12.1-emt". */
  kernel: string | null;
  initramfs: string | null;
}

export interface OsBuildScan {
  /** Per kernel version found under /boot, sorted by version string. */
  boot: BootFiles[];
  /** The os-release found (null: not a root file system). */
  rootfsMarker: string | null;
  /** False when the scan stopped once /boot and a marker were seen. */
  readWhole: boolean;
  /** Compressed bytes of the tarball read by the scan. */
  bytesScanned: number;
}

/** Pure: which kernel + initramfs pair to take, or the error a user reads. */
export function chooseBootFiles(scan: OsBuildScan, from: string, wanted?: string): BootFiles {
  const pairs = scan.boot.filter((b) => b.kernel);
  const list = () => pairs.map((b) => b.version).join(', ');
  if (wanted !== undefined) {
    const hit = scan.boot.find((b) => b.version === wanted);
    if (!hit?.kernel)
      throw new BootkitError(
        'NO_KERNEL',
        `${from}: no /boot/vmlinuz-${wanted} (kernels inside: ${list() || 'none'})`,
        from,
      );
    return checkPair(hit, from);
  }
  if (pairs.length === 0)
    throw new BootkitError(
      'NO_KERNEL',
      `${from}: no /boot/vmlinuz-<version> inside (is this the Bootkit OS build output, emt-bootkit.tar.gz?)`,
      from,
    );
  if (pairs.length > 1)
    throw new BootkitError(
      'SEVERAL_KERNELS',
      `${from}: several kernels under /boot (${list()}): choose one with --kernel-version`,
      from,
    );
  return checkPair(pairs[0]!, from);
}

function checkPair(b: BootFiles, from: string): BootFiles {
  if (!b.initramfs)
    throw new BootkitError(
      'NO_INITRAMFS',
      `${from}: /boot/vmlinuz-${b.version} has no /boot/initramfs-${b.version}.img beside it: ` +
        'the image config must build a dracut initramfs with the tmpfs root module (90tmpfsroot)',
      from,
    );
  return b;
}

/** Entry name without "./" or a leading "/". */
const entryName = (raw: string): string => normalizeTarPath(raw).replace(/^\/+/, '');

function versionOf(name: string): { kind: 'kernel' | 'initramfs'; version: string } | null {
  const k = KERNEL_RE.exec(name);
  if (k) return { kind: 'kernel', version: k[1]! };
  const i = INITRAMFS_RE.exec(name);
  if (i) return { kind: 'initramfs', version: (i[1] ?? i[2])! };
  return null;
}

export interface ScanOptions {
  from: string;
  /** Where each kernel/initramfs member is written (they are small beside the rootfs). */
  extractTo: (kind: 'kernel' | 'initramfs', version: string) => string;
  /** Only extract this version's files. */
  version?: string;
  /** Read the whole gzip stream (tests its integrity) instead of stopping after /boot. */
  whole?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
}

/**
 * One pass over the tarball: lists /boot's kernels and initramfs images (writing
 * them out) and looks for os-release. Stops once /boot's subtree has ended and a
 * marker was seen: a tar made by walking a tree keeps a folder's entries together.
 */
export async function scanOsBuild(o: ScanOptions): Promise<OsBuildScan> {
  const boot = new Map<string, BootFiles>();
  let marker: string | null = null;
  let inBoot = false;
  let bootDone = false;
  let stopped = false;
  let read = 0;
  const total = (await stat(o.from)).size;
  const progress = o.onProgress ?? noProgress;
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const name = entryName(header.name);
    const skip = () => {
      stream.on('end', () => next());
      stream.resume();
    };
    const underBoot = name === 'boot' || name.startsWith('boot/');
    if (underBoot) inBoot = true;
    else if (inBoot) bootDone = true;
    if (ROOTFS_MARKERS.includes(name) && (header.type === 'file' || header.type === 'symlink')) marker = name;
    if (!o.whole && bootDone && marker) {
      stopped = true;
      ac.abort();
      return skip();
    }
    const v = header.type === 'file' ? versionOf(name) : null;
    if (!v) return skip();
    const rec = boot.get(v.version) ?? { version: v.version, kernel: null, initramfs: null };
    rec[v.kind] = name;
    boot.set(v.version, rec);
    if (o.version !== undefined && v.version !== o.version) return skip();
    const cap = v.kind === 'kernel' ? MAX_KERNEL_BYTES : MAX_INITRAMFS_BYTES;
    const size = header.size ?? 0;
    if (size > cap) {
      next(
        new BootkitError(
          'TOO_LARGE',
          `${o.from}:${name} claims ${size} bytes; a ${v.kind} is at most ${cap / 2 ** 20} MiB`,
          o.from,
        ),
      );
      return;
    }
    pipeline(stream, createWriteStream(o.extractTo(v.kind, v.version))).then(
      () => next(),
      (e: Error) => next(e),
    );
  });

  const source = createReadStream(o.from, { highWaterMark: 1 << 20 });
  source.on('data', (c) => {
    read += c.length;
    progress({ stage: 'scan', done: read, total, unit: 'bytes' });
  });
  try {
    await pipeline(source, zlib.createGunzip({ chunkSize: 1 << 20 }), extract, { signal: ac.signal });
  } catch (e) {
    if (!stopped) {
      if (o.signal?.aborted || e instanceof BootkitError) throw e;
      throw new BootkitError(
        'BAD_TARBALL',
        `${o.from} is not a readable tar.gz: ${(e as Error).message}`,
        o.from,
      );
    }
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  return {
    boot: [...boot.values()].sort((a, b) => a.version.localeCompare(b.version)),
    rootfsMarker: marker,
    readWhole: !stopped,
    bytesScanned: read,
  };
}

/**
 * The rootfs tarball without /boot (the node keeps the rootfs in RAM; the kernel
 * and initramfs there are never used once booted). Costs a decode + gzip of it all.
 */
export async function dropBoot(
  from: string,
  out: string,
  signal?: AbortSignal,
  onProgress: ProgressSink = noProgress,
): Promise<{ dropped: number; tarballSha256: string }> {
  let dropped = 0;
  const hash = createHash('sha256');
  const gzip = zlib.createGzip({ level: 6, chunkSize: 1 << 20 });
  const walker = new TarWalker({
    file: from,
    onEntry: (e) => {
      const n = entryName(e.name);
      const drop = n === 'boot' || n.startsWith('boot/');
      if (drop) dropped++;
      return drop;
    },
    keep: (b) => {
      gzip.write(Buffer.from(b));
    },
  });
  const total = (await stat(from)).size;
  let read = 0;
  const source = createReadStream(from, { highWaterMark: 1 << 20 });
  source.on('data', (c) => {
    read += c.length;
    hash.update(c as Buffer);
    onProgress({ stage: 'drop-boot', done: read, total, unit: 'bytes' });
  });
  const written = pipeline(gzip, createWriteStream(out), { signal: signal ?? new AbortController().signal });
  try {
    const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
    await pipeline(
      source,
      gunzip,
      async (chunks: AsyncIterable<Buffer>) => {
        for await (const c of chunks) {
          walker.push(c);
          // Backpressure: the gzip side is the slow one; never queue the tarball in memory.
          if (gzip.writableNeedDrain) await once(gzip, 'drain');
        }
        walker.end();
        // The end-of-archive marker: two zero blocks.
        gzip.end(Buffer.alloc(1024));
      },
      { signal: signal ?? new AbortController().signal },
    );
    await written;
  } catch (e) {
    gzip.destroy();
    await written.catch(() => {});
    if (signal?.aborted || isCancelled(e) || e instanceof EmtError) throw e;
    throw new BootkitError('BAD_TARBALL', `${from} is not a readable tar.gz: ${(e as Error).message}`, from);
  }
  return { dropped, tarballSha256: hash.digest('hex') };
}

/**
 * Appends `rootfs.tar.gz` (the bytes of `rootfs`) to the initramfs at `initramfs`
 * as a trailing newc segment; returns the sha256 of the rootfs bytes copied.
 */
export async function appendRootfsSegment(
  initramfs: string,
  rootfs: string,
  mtime: number,
  opts: { hash?: boolean; signal?: AbortSignal; onProgress?: ProgressSink } = {},
): Promise<{ rootfsSha256: string | null; rootfsSize: number; segmentOffset: number; size: number }> {
  const { signal, onProgress = noProgress } = opts;
  const size = (await stat(rootfs)).size;
  if (size > MAX_ROOTFS_BYTES)
    throw new BootkitError(
      'TOO_LARGE',
      `${rootfs}: ${size} bytes; a cpio entry holds at most 4 GiB - 1 (newc size field)`,
      rootfs,
    );
  const start = (await stat(initramfs)).size;
  const lead = pad4(start);
  // Hashing costs more than the copy itself (about 0.5 GB/s): only when asked.
  const hash = opts.hash ? createHash('sha256') : null;
  const fh = await open(initramfs, 'a');
  try {
    const head = fileHeader(ROOTFS_NAME, size, { ino: 1, mode: S_IFREG | 0o644, mtime });
    await fh.write(Buffer.concat([Buffer.alloc(lead), head]));
    let done = 0;
    for await (const c of createReadStream(rootfs, { highWaterMark: 4 << 20 })) {
      if (signal?.aborted) throw new Error('aborted');
      const b = c as Buffer;
      hash?.update(b);
      await fh.write(b);
      done += b.length;
      onProgress({ stage: 'append', done, total: size, unit: 'bytes' });
    }
    const end = start + lead + head.length + size;
    await fh.write(Buffer.concat([Buffer.alloc(pad4(end)), trailer()]));
    await fh.sync();
  } finally {
    await fh.close();
  }
  return {
    rootfsSha256: hash ? hash.digest('hex') : null,
    rootfsSize: size,
    segmentOffset: start + lead,
    size: (await stat(initramfs)).size,
  };
}

/** Refuses an initramfs that is none, or that already carries rootfs.tar.gz. */
export async function checkDracutInitramfs(path: string, displayName: string): Promise<{ segments: number }> {
  let layout: Awaited<ReturnType<typeof walkInitramfs>>;
  try {
    layout = await walkInitramfs(path, { displayName });
  } catch (e) {
    throw new BootkitError(
      'BAD_INITRAMFS',
      `${displayName} is not an initramfs the kernel can unpack: ${(e as Error).message}`,
      displayName,
    );
  }
  if (layout.rootfsSegment >= 0)
    throw new BootkitError(
      'HAS_ROOTFS',
      `${displayName} already holds rootfs.tar.gz: this is a bootkit initramfs, not the Bootkit OS build's own`,
      displayName,
    );
  return { segments: layout.segments.length };
}

/** `emb_uos_x86_64_<tag>.tar.gz` with the two files at its root, as published. */
export async function packBootkit(
  out: string,
  files: { name: string; path: string }[],
  mtime: number,
  signal?: AbortSignal,
): Promise<void> {
  const pack = tar.pack();
  const gzip = zlib.createGzip({ level: 6, chunkSize: 1 << 20 });
  const done = pipeline(pack, gzip, createWriteStream(out), {
    signal: signal ?? new AbortController().signal,
  });
  try {
    for (const f of files) {
      const size = (await stat(f.path)).size;
      await new Promise<void>((res, rej) => {
        const entry = pack.entry(
          {
            name: f.name,
            size,
            mode: 0o644,
            mtime: new Date(mtime * 1000),
            uid: 0,
            gid: 0,
            uname: '',
            gname: '',
          },
          (e) => (e ? rej(e) : res()),
        );
        createReadStream(f.path).on('error', rej).pipe(entry);
      });
    }
    pack.finalize();
    await done;
  } catch (e) {
    pack.destroy();
    await done.catch(() => {});
    throw e;
  }
}

export interface DeriveOptions {
  from: string;
  outDir: string;
  kernelVersion?: string;
  /** rootfs.tar.gz without /boot (decode + gzip of the whole tarball) instead of its bytes. */
  dropBoot?: boolean;
  /** Also write emb_uos_x86_64_<tag>.tar.gz ('' = the kernel version). */
  packTag?: string;
  /** Read the whole gzip stream during the scan (proves it decodes to its end). */
  checkWhole?: boolean;
  /** sha256 the tarball's bytes as they are copied (reported, and given to beforeCommit). */
  hash?: boolean;
  /** mtime of rootfs.tar.gz in the cpio and of the packed files. */
  mtime: number;
  /** Last check before the renames: the final paths, and the tarball's sha256 (when hashed). */
  beforeCommit?: (outputs: string[], tarballSha256: string | null) => Promise<void>;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
}

export interface DeriveReport {
  kernelVersion: string;
  /** The version string of the kernel's setup header. */
  kernelVersionString: string;
  kernel: string;
  initramfs: string;
  initramfsSize: number;
  /** Segments of the dracut initramfs, kept byte for byte in front. */
  dracutSegments: number;
  /** Where the appended newc segment starts. */
  rootfsSegmentOffset: number;
  /** sha256 of rootfs.tar.gz: null when not asked for (`hash`) and the tarball went in as is. */
  rootfs: { source: 'tarball' | 'without-boot'; size: number; sha256: string | null; droppedEntries: number };
  pack: string | null;
  scan: { readWhole: boolean; bytesScanned: number; tarballSize: number; kernels: string[] };
}

/** Final output names in `outDir`. */
export const outputNames = (outDir: string, version: string, packTag?: string) => ({
  kernel: join(outDir, `vmlinuz-${version}`),
  initramfs: join(outDir, `initramfs-${version}.img`),
  pack: packTag ? join(outDir, `emb_uos_x86_64_${packTag}.tar.gz`) : null,
});

export async function deriveBootkit(o: DeriveOptions): Promise<DeriveReport> {
  const stem = `${process.pid}.${Date.now().toString(36)}`;
  const tmp = (name: string) => join(o.outDir, `.${stem}.${name}.tmp`);
  const temps = new Set<string>();
  const track = (p: string) => {
    temps.add(p);
    return p;
  };
  try {
    const scan = await scanOsBuild({
      from: o.from,
      extractTo: (kind, v) => track(tmp(`${kind}-${v}`)),
      ...(o.kernelVersion !== undefined ? { version: o.kernelVersion } : {}),
      ...(o.checkWhole ? { whole: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    if (!scan.rootfsMarker)
      throw new BootkitError(
        'NOT_ROOTFS',
        `${o.from} is not a root file system: no /etc/os-release or /usr/lib/os-release inside`,
        o.from,
      );
    const pick = chooseBootFiles(scan, o.from, o.kernelVersion);
    const kernelTmp = tmp(`kernel-${pick.version}`);
    const initramfsTmp = tmp(`initramfs-${pick.version}`);
    const info = await readKernelVersion(kernelTmp, `${o.from}:${pick.kernel}`);
    const dracut = await checkDracutInitramfs(initramfsTmp, `${o.from}:${pick.initramfs}`);

    let rootfsPath = o.from;
    let dropped = 0;
    let tarballSha256: string | null = null;
    if (o.dropBoot) {
      rootfsPath = track(tmp('rootfs'));
      ({ dropped, tarballSha256 } = await dropBoot(o.from, rootfsPath, o.signal, o.onProgress));
    }
    const seg = await appendRootfsSegment(initramfsTmp, rootfsPath, o.mtime, {
      hash: o.hash === true || o.dropBoot === true,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    if (!o.dropBoot) tarballSha256 = seg.rootfsSha256;

    const packTag = o.packTag === '' ? pick.version : o.packTag;
    const names = outputNames(o.outDir, pick.version, packTag);
    await o.beforeCommit?.(
      [names.kernel, names.initramfs, ...(names.pack ? [names.pack] : [])],
      tarballSha256,
    );
    if (names.pack) {
      const packTmp = track(tmp('pack'));
      o.onProgress?.({ stage: 'pack', done: 0, total: null });
      await packBootkit(
        packTmp,
        [
          { name: `vmlinuz-${pick.version}`, path: kernelTmp },
          { name: `initramfs-${pick.version}.img`, path: initramfsTmp },
        ],
        o.mtime,
        o.signal,
      );
      await rename(packTmp, names.pack);
    }
    await rename(kernelTmp, names.kernel);
    await rename(initramfsTmp, names.initramfs);
    return {
      kernelVersion: pick.version,
      kernelVersionString: info.versionString,
      kernel: names.kernel,
      initramfs: names.initramfs,
      initramfsSize: seg.size,
      dracutSegments: dracut.segments,
      rootfsSegmentOffset: seg.segmentOffset,
      rootfs: {
        source: o.dropBoot ? 'without-boot' : 'tarball',
        size: seg.rootfsSize,
        sha256: seg.rootfsSha256,
        droppedEntries: dropped,
      },
      pack: names.pack,
      scan: {
        readWhole: scan.readWhole,
        bytesScanned: scan.bytesScanned,
        tarballSize: (await stat(o.from)).size,
        kernels: scan.boot.filter((b) => b.kernel).map((b) => b.version),
      },
    };
  } finally {
    await Promise.all([...temps].map((p) => rm(p, { force: true })));
  }
}
