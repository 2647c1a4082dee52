// The EMTCONFIG partition image (GPT partition 3 of the stick): site config,
// hashed credentials and, after an install, the installer's logs.
//
// Fixed 64 MiB FAT32: FAT32 needs at least 65525 clusters, so with 512-byte
// sectors and 512-byte clusters (Microsoft's choice for 32.5-260 MB volumes)
// the floor is about 32.5 MiB; 64 MiB gives 128,990 clusters, twice the floor,
// plenty of room for logs, and one size every stick can take. FAT32 rather than
// FAT16 because Windows and macOS mount it writable everywhere, for technicians.
import { IsoError } from './errors.ts';
import type { FatFile } from './fat-image.ts';
import { makeFatImage, readFatFiles } from './fat-image.ts';

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

const refuse = (file: string, why: string): never => {
  throw new IsoError('BAD_CONFIG_IMAGE', `config image ${file}: ${why}`, file);
};

/** The size check alone, before the image is read into memory. */
export function checkConfigPartitionImageSize(size: number, file: string): void {
  if (size > CONFIG_PARTITION_BYTES)
    refuse(
      file,
      `is ${size} bytes; an EMTCONFIG image is at most ${CONFIG_PARTITION_BYTES} bytes (64 MiB, the partition's size)`,
    );
}

/** The file every EMTCONFIG image of ours holds, and the line it starts its values with. */
const CONFIG_ENV = 'emt/config.env';

/**
 * Checks a ready EMTCONFIG image (flash --config-image) before a byte of it is
 * written: a FAT file system labelled EMTCONFIG, no larger than the partition,
 * holding our emt/config.env. Anything else would leave a stick whose installer
 * finds no config.
 */
export async function checkConfigPartitionImage(bytes: Buffer, file: string): Promise<void> {
  checkConfigPartitionImageSize(bytes.length, file);
  const fat = await readFatFiles(bytes, [CONFIG_ENV]);
  if (!fat)
    refuse(
      file,
      bytes.length === 0
        ? 'is empty, not a FAT file system'
        : 'is not a FAT file system (make one with emt-usb build, or give --config instead)',
    );
  if (fat!.label !== CONFIG_LABEL)
    refuse(file, `is a FAT file system labelled '${fat!.label}', not ${CONFIG_LABEL}`);
  const env = fat!.files.get(CONFIG_ENV);
  if (!env || !/^format_version=\d+$/m.test(env.toString('utf8')))
    refuse(file, `holds no ${CONFIG_ENV} of ours: an installer would find no site config on the stick`);
}
