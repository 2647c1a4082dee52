// Turns what the user named (a listed drive, a loop device, an image file path)
// into a Drive the policy can judge, plus what the writer needs to open it.
import { statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { linuxBlockInfo, linuxMountsOf } from './block-device.ts';
import type { Drive } from './drive-list.ts';
import { FlashError } from './flash-error.ts';

export interface ResolvedTarget {
  drive: Drive;
  /** Path opened for writing (raw device on macOS, the file itself for files). */
  path: string;
  isBlock: boolean;
  logicalBlockSize: number;
}

const fileDrive = (path: string): Drive => ({
  kind: 'file',
  device: path,
  rawDevice: path,
  description: 'image file',
  size: null,
  isSystem: false,
  isVirtual: true,
  isReadOnly: false,
  isRemovable: false,
  isUSB: false,
  busType: 'FILE',
  mountpoints: [],
  partitions: null,
});

/** `listed` is the drive list (drivelist); it is only consulted for non-loop devices. */
export async function resolveTarget(spec: string, listed: () => Promise<Drive[]>): Promise<ResolvedTarget> {
  const platform = process.platform;
  // Windows and macOS disks are always looked up in the drive list.
  const isOsDisk =
    /^\\\\\.\\PhysicalDrive\d+$/i.test(spec) || (platform === 'darwin' && /^\/dev\/r?disk\d+$/.test(spec));
  if (!isOsDisk) {
    const abs = resolve(spec);
    let st: ReturnType<typeof statSync> | null = null;
    try {
      st = statSync(abs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st === null || st.isFile()) {
      if (abs.startsWith('/dev/')) throw new FlashError('NO_DEVICE', `${spec}: no such device`, spec);
      try {
        if (!statSync(dirname(abs)).isDirectory()) throw new Error('not a directory');
      } catch {
        throw new FlashError('NO_DIR', `${spec}: folder ${dirname(abs)} does not exist`, spec);
      }
      const real = st ? await realpath(abs) : abs;
      return { drive: fileDrive(real), path: real, isBlock: false, logicalBlockSize: 512 };
    }
    if (!st.isBlockDevice())
      throw new FlashError(
        'NOT_A_TARGET',
        `${spec}: is neither a drive, a loop device nor a regular file`,
        spec,
      );
    if (platform === 'linux') {
      const real = await realpath(abs);
      const info = linuxBlockInfo(real);
      if (/^loop\d+$/.test(info.name)) {
        if (info.backingFile === null || info.size === 0)
          throw new FlashError('LOOP_UNBOUND', `${spec}: loop device has no backing file`, spec);
        const drive: Drive = {
          kind: 'loop',
          device: real,
          rawDevice: real,
          description: `loop device on ${info.backingFile}`,
          size: info.size,
          isSystem: false,
          isVirtual: true,
          isReadOnly: info.readOnly,
          isRemovable: false,
          isUSB: false,
          busType: 'LOOP',
          mountpoints: linuxMountsOf(real, info.partitions),
          partitions: null,
          backingFile: info.backingFile.replace(/ \(deleted\)$/, ''),
        };
        return { drive, path: real, isBlock: true, logicalBlockSize: info.logicalBlockSize };
      }
    }
  }
  const all = await listed();
  const want = platform === 'linux' ? await realpath(spec).catch(() => spec) : spec;
  const drive = all.find((d) => d.device === want || d.rawDevice === want || d.device === spec);
  if (!drive)
    throw new FlashError(
      'NOT_LISTED',
      `${spec}: is not a whole drive in the drive list (see emt-usb drives --all)`,
      spec,
    );
  if (platform === 'linux') {
    // drivelist's view can be stale; the kernel's is what matters right before writing.
    const info = linuxBlockInfo(drive.device);
    const live: Drive = {
      ...drive,
      size: info.size || drive.size,
      isReadOnly: drive.isReadOnly || info.readOnly,
      mountpoints: [...new Set([...drive.mountpoints, ...linuxMountsOf(drive.device, info.partitions)])],
    };
    return { drive: live, path: drive.device, isBlock: true, logicalBlockSize: info.logicalBlockSize };
  }
  // macOS: the raw node (/dev/rdiskN) bypasses the buffer cache and is much faster.
  const path = platform === 'darwin' ? drive.rawDevice : drive.device;
  return { drive, path, isBlock: true, logicalBlockSize: 512 };
}
