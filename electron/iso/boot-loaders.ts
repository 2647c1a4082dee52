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

/** The Secure Boot chain of `build --secure-boot shim` (resources/boot/dist/shim, Debian's signed files). */
export interface ShimLoaders {
  /** Microsoft-signed shim: ESP and ISO `EFI/BOOT/BOOTX64.EFI`. */
  shim: string;
  /** Debian-signed GRUB, which shim starts as `grubx64.efi` from its own folder. */
  grub: string;
  /** MokManager, which shim starts to enrol a key (`mmx64.efi`). */
  mokManager: string;
  /** Our early config for `EFI/debian/grub.cfg`, where Debian's signed GRUB looks. */
  grubCfg: string;
  sources: string;
}

/** Resolves the shim chain's files, checking each is readable. */
export function shimLoaders(dir: string = join(defaultBootDir(), 'shim')): ShimLoaders {
  const found: ShimLoaders = {
    shim: join(dir, 'shimx64.efi'),
    grub: join(dir, 'grubx64.efi'),
    mokManager: join(dir, 'mmx64.efi'),
    grubCfg: join(dir, 'grub.cfg'),
    sources: join(dir, 'SOURCES'),
  };
  for (const file of Object.values(found)) {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new IsoError(
        'NO_SHIM',
        `Secure Boot file ${file} is missing (install shim-signed, shim-helpers-amd64-signed and grub-efi-amd64-signed, then run bash resources/boot/build.sh)`,
        file,
      );
    }
  }
  return found;
}

/** systemd's EFI stub for `build --secure-boot uki` (Debian's systemd-boot-efi, LGPL-2.1+); `EMT_UKI_STUB` overrides it. */
export const UKI_STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';

/** Resolves the UKI stub, checking it is readable. */
export function ukiStub(path: string = process.env.EMT_UKI_STUB ?? UKI_STUB): string {
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new IsoError(
      'NO_UKI_STUB',
      `UKI stub ${path} is missing (install systemd-boot-efi): --secure-boot uki needs it`,
      path,
    );
  }
  return path;
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
