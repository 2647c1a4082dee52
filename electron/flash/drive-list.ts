// Drives as drivelist reports them, normalised into our own type so the policy,
// the CLI and the UI never depend on drivelist's field quirks per OS.
import { FlashError } from './flash-error.ts';

/** drivelist 12's record (see its index.d.ts); kept loose: fields vary per OS. */
export interface DrivelistDrive {
  device: string;
  raw?: string | null;
  description?: string | null;
  size?: number | null;
  busType?: string | null;
  isSystem?: boolean | null;
  isVirtual?: boolean | null;
  isReadOnly?: boolean | null;
  isRemovable?: boolean | null;
  isUSB?: boolean | null;
  isCard?: boolean | null;
  mountpoints?: { path: string; label?: string | null }[] | null;
  partitionTableType?: string | null;
  [other: string]: unknown;
}

/** 'drive' comes from the drive list; 'loop' and 'file' are only ever named explicitly. */
export type DriveKind = 'drive' | 'loop' | 'file';

export interface Drive {
  kind: DriveKind;
  device: string;
  rawDevice: string;
  description: string;
  /** Bytes, or null when the OS does not say (zram, card readers without a card). */
  size: number | null;
  isSystem: boolean;
  isVirtual: boolean;
  isReadOnly: boolean;
  isRemovable: boolean;
  isUSB: boolean;
  busType: string;
  mountpoints: string[];
  /** Partition table type when known ('gpt' | 'mbr'), else null. */
  partitions: string | null;
  /** A loop device's backing file (it must not be the image). */
  backingFile?: string;
}

export function normaliseDrive(d: DrivelistDrive): Drive {
  const size = typeof d.size === 'number' && Number.isFinite(d.size) && d.size > 0 ? d.size : null;
  const busType = (d.busType ?? 'UNKNOWN').toUpperCase();
  return {
    kind: 'drive',
    device: d.device,
    rawDevice: d.raw || d.device,
    description: (d.description ?? '').trim(),
    size,
    isSystem: d.isSystem === true,
    // drivelist leaves isVirtual null when it cannot tell; null is not a yes.
    isVirtual: d.isVirtual === true,
    isReadOnly: d.isReadOnly === true,
    isRemovable: d.isRemovable === true,
    // Windows reports USB via busType while isUSB stays null on older builds.
    isUSB: d.isUSB === true || busType === 'USB',
    busType,
    mountpoints: (d.mountpoints ?? []).map((m) => m.path).filter((p) => typeof p === 'string' && p !== ''),
    partitions: d.partitionTableType ?? null,
  };
}

/** The machine's drives (drivelist; on Linux it wraps lsblk and never lists loop devices). */
export async function listDrives(): Promise<Drive[]> {
  let mod: { list: () => Promise<DrivelistDrive[]> };
  try {
    mod = (await import('drivelist')) as unknown as { list: () => Promise<DrivelistDrive[]> };
  } catch (e) {
    throw new FlashError('NO_DRIVELIST', `cannot load the drive lister (drivelist): ${(e as Error).message}`);
  }
  try {
    return (await mod.list()).map(normaliseDrive);
  } catch (e) {
    throw new FlashError('DRIVELIST_FAILED', `listing drives failed: ${(e as Error).message}`);
  }
}
