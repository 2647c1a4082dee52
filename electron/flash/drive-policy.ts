// Which drives may be written: a pure function of the drive list and the job, so
// the CLI, the UI and the elevated writer all apply the very same rules.
import type { Drive } from './drive-list.ts';

export type RefusalCode =
  | 'SYSTEM'
  | 'VIRTUAL'
  | 'READ_ONLY'
  | 'NO_SIZE'
  | 'HOLDS_IMAGE'
  | 'HOLDS_APP'
  | 'SYSTEM_MOUNT'
  | 'NOT_REMOVABLE'
  | 'TOO_SMALL'
  | 'MOUNTED'
  | 'TARGET_IS_IMAGE';

export type ConfirmationCode = 'LARGE' | 'EXPLICIT_TARGET';

export interface Reason<C extends string> {
  code: C;
  message: string;
}

export type DriveVerdict =
  | { device: string; allowed: true; needsConfirmation?: Reason<ConfirmationCode> }
  | { device: string; allowed: false; reason: Reason<RefusalCode>; reasons: Reason<RefusalCode>[] };

export interface PolicyOptions {
  /** Absolute path of the image to write (a drive holding it is refused). */
  imagePath?: string;
  /** Exact bytes that must fit on the drive. */
  imageSize: number;
  /** Absolute path of the running app (a drive holding it is refused). */
  appPath?: string;
  /** The user's explicit "show all drives" choice: allows fixed, non-USB drives. */
  showAll: boolean;
  /** Drives above this need a confirmation (default 128 GB). */
  largeDriveBytes?: number;
}

export const DEFAULT_LARGE_DRIVE_BYTES = 128e9;

// Mountpoints that mean "this drive runs the machine" on Linux, macOS and Windows.
const SYSTEM_MOUNTS = new Set([
  '/',
  '/boot',
  '/boot/efi',
  '/efi',
  '/usr',
  '/var',
  '/home',
  '/etc',
  '[SWAP]',
  '/System/Volumes/Data',
  '/private/var/vm',
]);

const isWinPath = (p: string): boolean => /^[A-Za-z]:[\\/]?/.test(p) || p.startsWith('\\\\');

function normalisePath(p: string): string {
  if (isWinPath(p)) {
    let s = p.replace(/\//g, '\\').toLowerCase();
    if (/^[a-z]:$/.test(s)) s += '\\';
    return s.length > 3 ? s.replace(/\\+$/, '') : s;
  }
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

/** True when `path` lies on the file system mounted at `mountpoint`. */
export function isUnder(path: string, mountpoint: string): boolean {
  if (isWinPath(path) !== isWinPath(mountpoint)) return false;
  const p = normalisePath(path);
  const m = normalisePath(mountpoint);
  if (p === m) return true;
  const sep = isWinPath(m) ? '\\' : '/';
  const prefix = m.endsWith(sep) ? m : m + sep;
  return p.startsWith(prefix);
}

function isSystemMount(mountpoint: string): boolean {
  if (isWinPath(mountpoint)) return /^[A-Za-z]:\\?$/.test(mountpoint) && /^c/i.test(mountpoint);
  return SYSTEM_MOUNTS.has(normalisePath(mountpoint));
}

const gb = (n: number): string => `${(n / 1e9).toFixed(1)} GB`;

export function judgeDrive(drive: Drive, opts: PolicyOptions): DriveVerdict {
  const refusals: Reason<RefusalCode>[] = [];
  const refuse = (code: RefusalCode, message: string): void => {
    refusals.push({ code, message: `${drive.device}: ${message}` });
  };
  const explicit = drive.kind !== 'drive';

  if (drive.isSystem) refuse('SYSTEM', 'is the system drive');
  const sysMount = drive.mountpoints.find(isSystemMount);
  if (sysMount) refuse('SYSTEM_MOUNT', `holds the system mountpoint ${sysMount}`);
  // Loop devices and image files are virtual by nature; they are only ever named explicitly.
  if (drive.isVirtual && !explicit) refuse('VIRTUAL', 'is a virtual drive');
  if (drive.isReadOnly) refuse('READ_ONLY', 'is read-only');
  if (opts.imagePath) {
    const m = drive.mountpoints.find((mp) => isUnder(opts.imagePath!, mp));
    if (m) refuse('HOLDS_IMAGE', `holds the image ${opts.imagePath} (mounted at ${m})`);
    if (drive.kind === 'file' && normalisePath(drive.device) === normalisePath(opts.imagePath))
      refuse('TARGET_IS_IMAGE', `is the image itself`);
    if (drive.backingFile && normalisePath(drive.backingFile) === normalisePath(opts.imagePath))
      refuse('TARGET_IS_IMAGE', `is backed by the image itself (${drive.backingFile})`);
  }
  if (opts.appPath) {
    const m = drive.mountpoints.find((mp) => isUnder(opts.appPath!, mp));
    if (m) refuse('HOLDS_APP', `holds this application (mounted at ${m})`);
  }
  if (drive.kind === 'loop' && drive.mountpoints.length > 0)
    refuse('MOUNTED', `has mounted file systems (${drive.mountpoints.join(', ')})`);
  if (!explicit && !opts.showAll && !(drive.isRemovable || drive.isUSB))
    refuse('NOT_REMOVABLE', 'is not a removable or USB drive (only shown with "all drives")');
  // An image file grows to fit; every other target must report its exact size.
  if (drive.kind !== 'file') {
    if (drive.size === null) refuse('NO_SIZE', 'reports no size');
    else if (drive.size < opts.imageSize)
      refuse('TOO_SMALL', `is too small: ${drive.size} bytes, the image needs ${opts.imageSize} bytes`);
  }

  if (refusals.length > 0)
    return { device: drive.device, allowed: false, reason: refusals[0]!, reasons: refusals };
  if (explicit)
    return {
      device: drive.device,
      allowed: true,
      needsConfirmation: {
        code: 'EXPLICIT_TARGET',
        message: `${drive.device}: named explicitly (${drive.kind}); everything on it is replaced`,
      },
    };
  const large = opts.largeDriveBytes ?? DEFAULT_LARGE_DRIVE_BYTES;
  if (drive.size !== null && drive.size > large)
    return {
      device: drive.device,
      allowed: true,
      needsConfirmation: {
        code: 'LARGE',
        message: `${drive.device}: is very large (${gb(drive.size)}); is it really the USB stick?`,
      },
    };
  return { device: drive.device, allowed: true };
}

export function judgeDrives(drives: readonly Drive[], opts: PolicyOptions): DriveVerdict[] {
  return drives.map((d) => judgeDrive(d, opts));
}
