// The EMTCONFIG partition image for a site config: what `build` puts in the ISO
// and what `flash` writes per stick. One builder, so both give the same bytes
// for the same inputs.
import { createHash } from 'node:crypto';
import { configPartitionImage } from '../iso/config-partition-image.ts';
import { configArtifacts } from './artifacts.ts';
import type { SiteConfig, StickOverride } from './schema.ts';
import { isSha512CryptHash, sha512Crypt } from './sha512-crypt.ts';

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

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A $6$ hash for the EMTCONFIG partition. A given hash is kept; a plaintext gets a
 * salt derived from (password, SOURCE_DATE_EPOCH, context) so the same inputs give
 * the same image; a new epoch or context (bootkit, build id, stick) gives a new salt.
 */
export function hashPasswordFor(password: string, sde: number, context: string): string {
  if (isSha512CryptHash(password)) return password;
  const seed = createHash('sha256').update(`emt-usb salt\0${sde}\0${context}\0${password}`).digest();
  let salt = '';
  for (let i = 0; i < 16; i++) salt += CRYPT_ALPHABET[seed[i]! & 0x3f];
  return sha512Crypt(password, salt);
}
