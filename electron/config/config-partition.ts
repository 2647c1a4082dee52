// The EMTCONFIG partition image for a site config: what `build` puts in the ISO
// and what `flash` writes per stick. One builder, so both give the same bytes
// for the same inputs.
import { configPartitionImage } from '../iso/config-partition-image.ts';
import { configArtifacts } from './artifacts.ts';
import type { SiteConfig, StickOverride } from './schema.ts';
import { hashPassword, isSha512CryptHash } from './sha512-crypt.ts';

export interface EmtConfigPartitionOptions {
  /** No config: an empty partition (room for the installer's logs). */
  config?: SiteConfig;
  /** A $6$ crypt hash; never a plaintext. */
  passwordHash?: string;
  perStick?: StickOverride;
  /** SOURCE_DATE_EPOCH: every timestamp in the image. */
  dateEpoch: number;
  /** Volume serial (the filesystem UUID). */
  serial: number;
}

export function emtConfigPartition(o: EmtConfigPartitionOptions): Promise<Buffer> {
  const files = o.config
    ? configArtifacts(o.config, {
        ...(o.passwordHash !== undefined ? { passwordHash: o.passwordHash } : {}),
        ...(o.perStick ? { perStick: o.perStick } : {}),
      }).map((a) => ({ path: a.path, data: a.data }))
    : [];
  return configPartitionImage({ files, dateEpoch: o.dateEpoch, serial: o.serial });
}

/**
 * A $6$ hash for the EMTCONFIG partition. A given hash is kept as is (so a build
 * from a pre-hashed password is reproducible); a plaintext gets a fresh random
 * salt from the CSPRNG every time, as the security rules require. A derived salt
 * would make equal passwords give equal hashes across builds and sticks.
 */
export function passwordHashFor(password: string): string {
  return isSha512CryptHash(password) ? password : hashPassword(password);
}
