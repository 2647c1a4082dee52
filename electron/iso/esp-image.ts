// The EFI System Partition image: appended to the ISO as GPT partition 2 and
// used as the El Torito EFI boot image, so it must stay <= 32 MiB (El Torito's
// 16-bit count of 512-byte sectors tops out just under 32 MiB). A UKI build may
// grow it past that: then it is GPT partition 2 only, and the ISO boots as a stick.
import { stat } from 'node:fs/promises';
import { IsoError } from './errors.ts';
import { type FatFile, type FatType, makeFatImage } from './fat-image.ts';

export const ESP_LABEL = 'EMTESP';
/** El Torito's sector count is 16 bits of 512-byte sectors. */
export const ESP_MAX_BYTES = 65535 * 512;
export const ESP_EFI_PATH = 'EFI/BOOT/BOOTX64.EFI';
const MIB = 1024 * 1024;

export interface EspOptions {
  /** The GRUB EFI binary (bytes or a path), placed at EFI/BOOT/BOOTX64.EFI. */
  efiBinary: Buffer | Uint8Array | string;
  /** SOURCE_DATE_EPOCH: every timestamp in the image. */
  dateEpoch: number;
  /** More files, e.g. a Secure Boot chain (grubx64.efi, mmx64.efi) next to a shim. */
  extraFiles?: FatFile[];
  /** No El Torito image points at it (a UKI ESP too big for a CD): any size, GPT partition 2 only. */
  noElTorito?: boolean;
  /** Volume serial; defaults to one derived from dateEpoch. */
  serial?: number;
}

const sizeOf = async (data: FatFile['data']): Promise<number> => {
  if (typeof data !== 'string') return data.length;
  try {
    return (await stat(data)).size;
  } catch (e) {
    throw new IsoError(
      'FAT_INPUT',
      `cannot read ${data}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      data,
    );
  }
};

/**
 * Smallest whole-MiB size that holds `payload` bytes with room for FAT
 * structures and cluster slack (1 MiB + 1/16); FAT12 below 4 MiB, else FAT16.
 */
export function espGeometry(payload: number): { sizeBytes: number; fat: FatType } {
  const sizeBytes = Math.ceil((payload + payload / 16 + MIB) / MIB) * MIB;
  return { sizeBytes, fat: sizeBytes < 4 * MIB ? 12 : 16 };
}

export async function espImage(o: EspOptions): Promise<Buffer> {
  const files: FatFile[] = [{ path: ESP_EFI_PATH, data: o.efiBinary }, ...(o.extraFiles ?? [])];
  let payload = 0;
  for (const f of files) payload += await sizeOf(f.data);
  const { sizeBytes, fat } = espGeometry(payload);
  if (sizeBytes > ESP_MAX_BYTES && !o.noElTorito) {
    throw new IsoError(
      'ESP_TOO_BIG',
      `EFI boot files (${payload} bytes) need a ${sizeBytes / MIB} MiB ESP; El Torito can address at most 32 MiB`,
      typeof o.efiBinary === 'string' ? o.efiBinary : undefined,
    );
  }
  return makeFatImage({
    sizeBytes,
    fat,
    label: ESP_LABEL,
    serial: o.serial ?? (o.dateEpoch ^ 0x45535000) >>> 0,
    dateEpoch: o.dateEpoch,
    files,
  });
}
