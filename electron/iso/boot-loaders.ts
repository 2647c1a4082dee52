// Where the GRUB images built by resources/boot/build.sh live. They come from
// Debian's grub packages (GPL-3, see dist/SOURCES) and are never committed.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IsoError } from './errors.ts';

export interface BootLoaders {
  /** Standalone x86_64 GRUB EFI binary: ESP `EFI/BOOT/BOOTX64.EFI` and ISO `/EFI/BOOT/BOOTX64.EFI`. */
  efi: string;
  /** i386-pc El Torito core image: ISO `/boot/grub/i386-pc/eltorito.img` (xorriso -eltorito-boot). */
  biosEltorito: string;
  /** 512-byte MBR boot code for hybrid ISOs (xorriso --grub2-mbr). */
  biosHybridMbr: string;
  /** Licence and Debian package versions of the images above. */
  sources: string;
}

/** resources/boot/dist of this checkout; `EMT_BOOT_DIR` overrides it (packaged app). */
export const defaultBootDir = (): string =>
  process.env.EMT_BOOT_DIR ?? fileURLToPath(new URL('../../resources/boot/dist/', import.meta.url));

/** Resolves the boot loader files, checking each is readable. */
export function bootLoaders(dir: string = defaultBootDir()): BootLoaders {
  const found: BootLoaders = {
    efi: join(dir, 'BOOTX64.EFI'),
    biosEltorito: join(dir, 'eltorito.img'),
    biosHybridMbr: join(dir, 'boot_hybrid.img'),
    sources: join(dir, 'SOURCES'),
  };
  for (const file of Object.values(found)) {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new IsoError(
        'NO_BOOT_LOADERS',
        `boot loader file ${file} is missing (run npm run setup, or bash resources/boot/build.sh)`,
        file,
      );
    }
  }
  return found;
}
