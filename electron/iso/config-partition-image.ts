// The EMTCONFIG partition image (GPT partition 3 of the stick): site config,
// hashed credentials and, after an install, the installer's logs.
//
// Fixed 64 MiB FAT32: FAT32 needs at least 65525 clusters, so with 512-byte
// sectors and 512-byte clusters (Microsoft's choice for 32.5-260 MB volumes)
// the floor is about 32.5 MiB; 64 MiB gives 128,990 clusters, twice the floor,
// plenty of room for logs, and one size every stick can take. FAT32 rather than
// FAT16 because Windows and macOS mount it writable everywhere, for technicians.
import type { FatFile } from './fat-image.ts';
import { makeFatImage } from './fat-image.ts';

export const CONFIG_LABEL = 'EMTCONFIG';
export const CONFIG_PARTITION_BYTES = 64 * 1024 * 1024;

export interface ConfigPartitionOptions {
  files: FatFile[];
  /** SOURCE_DATE_EPOCH: every timestamp in the image. */
  dateEpoch: number;
  /** Volume serial (shows as the filesystem UUID, e.g. in blkid). */
  serial: number;
}

export function configPartitionImage(o: ConfigPartitionOptions): Promise<Buffer> {
  return makeFatImage({
    sizeBytes: CONFIG_PARTITION_BYTES,
    fat: 32,
    label: CONFIG_LABEL,
    serial: o.serial,
    dateEpoch: o.dateEpoch,
    files: o.files,
  });
}
