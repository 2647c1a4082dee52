// OS edges for block devices: sizes and mounts from sysfs/procfs, unmounting,
// dropping caches, and O_DIRECT-ready buffers. Everything here touches the system.
import { execFile } from 'node:child_process';
import { constants, readdirSync, readFileSync, realpathSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { FlashError } from './flash-error.ts';

const run = promisify(execFile);

/** O_DIRECT where the OS has it (Linux); 0 elsewhere. */
export const O_DIRECT: number = (constants as Record<string, number>).O_DIRECT ?? 0;

const sys = (name: string, file: string): string | null => {
  try {
    return readFileSync(`/sys/class/block/${name}/${file}`, 'utf8').trim();
  } catch {
    return null;
  }
};

export interface LinuxBlockInfo {
  name: string;
  size: number;
  readOnly: boolean;
  logicalBlockSize: number;
  /** Kernel names of its partitions (loop0p1, sda1, ...). */
  partitions: string[];
  /** A loop device's backing file, else null. */
  backingFile: string | null;
}

export function linuxBlockInfo(device: string): LinuxBlockInfo {
  const name = basename(realpathSync(device));
  const sectors = sys(name, 'size');
  if (sectors === null)
    throw new FlashError('NOT_BLOCK', `${device}: no such block device in /sys/class/block`, device);
  let partitions: string[] = [];
  try {
    partitions = readdirSync(`/sys/class/block/${name}`).filter(
      (e) => e.startsWith(name) && sys(e, 'partition') !== null,
    );
  } catch {}
  return {
    name,
    size: Number(sectors) * 512, // sysfs size is always in 512-byte units
    readOnly: sys(name, 'ro') === '1',
    logicalBlockSize: Number(sys(name, 'queue/logical_block_size') ?? 512),
    partitions,
    backingFile: sys(name, 'loop/backing_file'),
  };
}

/** Mountpoints (and swap) using `device` or any of its partitions, from /proc. */
export function linuxMountsOf(device: string, partitions: string[]): string[] {
  const real = realpathSync(device);
  const names = new Set([basename(real), ...partitions]);
  const matches = (src: string): boolean => {
    if (!src.startsWith('/dev/')) return false;
    try {
      return names.has(basename(realpathSync(src)));
    } catch {
      return false;
    }
  };
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const src = line.slice(dash + 3).split(' ')[1] ?? '';
    // mountinfo escapes spaces etc. as \040 octal
    const mp = (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) =>
      String.fromCharCode(Number.parseInt(o, 8)),
    );
    if (matches(src)) out.push(mp);
  }
  try {
    for (const line of readFileSync('/proc/swaps', 'utf8').split('\n').slice(1)) {
      const src = line.split(/\s+/)[0] ?? '';
      if (matches(src)) out.push('[SWAP]');
    }
  } catch {}
  return out;
}

/** argv lists that unmount every volume of a drive, per OS (pure, for tests). */
export function unmountCommands(
  platform: NodeJS.Platform,
  device: string,
  mountpoints: string[],
): string[][] {
  if (platform === 'darwin') return [['diskutil', 'unmountDisk', 'force', device]];
  if (platform === 'win32') {
    const n = /PhysicalDrive(\d+)$/i.exec(device)?.[1];
    if (n === undefined) return [];
    // mountvol /p dismounts each volume and takes it offline, so Explorer and
    // security software drop their handles (the usual cause of EPERM on write).
    const ps = `Get-Partition -DiskNumber ${n} -ErrorAction SilentlyContinue | Where-Object DriveLetter | ForEach-Object { mountvol "$($_.DriveLetter):" /p }`;
    return [['powershell.exe', '-NoProfile', '-NonInteractive', '-Command', ps]];
  }
  return mountpoints.filter((m) => m !== '[SWAP]').map((m) => ['umount', m]);
}

/** Unmounts everything on `device` (Linux: umount, then udisksctl as a fallback). */
/**
 * Unmounts everything on `device`. Linux: umount; if that is refused (a desktop
 * session owns the mount), udisksctl; last, a lazy umount (the exclusive open
 * that follows still fails if the file system is busy, so nothing is written under it).
 */
export async function unmountAll(device: string, mountpoints: string[]): Promise<void> {
  if (mountpoints.includes('[SWAP]'))
    throw new FlashError('SWAP_IN_USE', `${device}: holds active swap; refusing to touch it`, device);
  for (const argv of unmountCommands(process.platform, device, mountpoints)) {
    try {
      await run(argv[0]!, argv.slice(1));
    } catch (e) {
      if (process.platform !== 'linux')
        throw new FlashError(
          'UNMOUNT_FAILED',
          `${device}: unmounting failed: ${(e as Error).message}`,
          device,
        );
      const mp = argv[1]!;
      const fallbacks: string[][] = [];
      try {
        const { stdout } = await run('findmnt', ['-no', 'SOURCE', mp]);
        const src = stdout.trim();
        if (src) fallbacks.push(['udisksctl', 'unmount', '--no-user-interaction', '-b', src]);
      } catch {}
      fallbacks.push(['umount', '-l', mp]);
      let done = false;
      for (const f of fallbacks) {
        try {
          await run(f[0]!, f.slice(1));
          done = true;
          break;
        } catch {}
      }
      if (!done)
        throw new FlashError(
          'UNMOUNT_FAILED',
          `${device}: cannot unmount ${mp}: ${(e as Error).message}`,
          device,
        );
    }
  }
}

/** BLKRRPART via util-linux: the kernel re-reads the partition table. */
export async function rereadPartitions(device: string): Promise<void> {
  await run('blockdev', ['--rereadpt', device]);
}

/** BLKFLSBUF via util-linux: drops the block device's page cache. */
export async function flushBlockCache(device: string): Promise<void> {
  await run('blockdev', ['--flushbufs', device]);
}

/** posix_fadvise(DONTNEED) over a whole file, via GNU dd (Node has no fadvise). */
export async function dropFileCache(path: string): Promise<void> {
  await run('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']);
}

/**
 * Buffers whose memory address suits O_DIRECT on `fh`. Node cannot tell a
 * buffer's address, so we probe: read one block into each candidate offset of
 * an over-sized allocation; the kernel answers EINVAL until the address fits.
 */
export async function alignedBuffers(
  fh: FileHandle,
  count: number,
  size: number,
  blockSize: number,
): Promise<Buffer[] | null> {
  // The probe must span a page boundary: the kernel checks each page segment,
  // so a one-block read can pass at an address a large transfer fails at.
  const probe = Math.min(size, Math.max(4 * blockSize, 16384));
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const raw = Buffer.allocUnsafeSlow(size + 8192);
    let found = -1;
    for (let k = 0; k < 8192 && found < 0; k += 16) {
      try {
        await fh.read(raw, k, probe, 0);
        found = k;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      }
    }
    if (found < 0) return null;
    out.push(raw.subarray(found, found + size));
  }
  return out;
}
