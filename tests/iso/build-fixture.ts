// Small real inputs for the ISO half of `build`: random kernel/initrd/OS image
// bytes (fixed seeds), and FAT images made by mkfs.fat + mcopy (tools we did not
// write), so masterInstallerIso is tested apart from the rest of the pipeline.

import { execFileSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Deterministic pseudo-random bytes (AES-CTR over zeros, keyed by `seed`). */
export function seededBytes(seed: string, n: number): Buffer {
  const key = Buffer.alloc(16);
  key.write(seed.slice(0, 16));
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

export interface IsoInputs {
  kernel: string;
  initrd: string;
  efi: string;
  osImage: string;
  espImage: string;
  configImage: string;
}

export async function makeIsoInputs(dir: string, osImageBytes = 3 * 2 ** 20 + 7): Promise<IsoInputs> {
  await mkdir(dir, { recursive: true });
  const i: IsoInputs = {
    kernel: join(dir, 'vmlinuz-6.1.0-test'),
    initrd: join(dir, 'initrd.img'),
    efi: join(dir, 'BOOTX64.EFI'),
    osImage: join(dir, 'emt-os.raw.gz'),
    espImage: join(dir, 'esp.img'),
    configImage: join(dir, 'config.img'),
  };
  await writeFile(i.kernel, seededBytes('kernel', 200_000));
  await writeFile(i.initrd, seededBytes('initrd', 500_000));
  await writeFile(i.efi, seededBytes('efi', 40_000));
  await writeFile(i.osImage, seededBytes('os', osImageBytes));
  // --invariant: fixed serial and times, so images made twice are the same bytes.
  execFileSync('mkfs.fat', ['--invariant', '-C', '-n', 'EFI', i.espImage, '4096'], { stdio: 'pipe' });
  execFileSync('mmd', ['-i', i.espImage, '::/EFI', '::/EFI/BOOT']);
  execFileSync('mcopy', ['-i', i.espImage, '-m', i.efi, '::/EFI/BOOT/BOOTX64.EFI']);
  execFileSync('mkfs.fat', ['--invariant', '-C', '-F', '32', '-n', 'EMTCONFIG', i.configImage, '33792'], {
    stdio: 'pipe',
  });
  await writeFile(join(dir, 'config.env'), 'format_version=1\n');
  execFileSync('mmd', ['-i', i.configImage, '::/emt']);
  execFileSync('mcopy', ['-i', i.configImage, '-m', join(dir, 'config.env'), '::/emt/config.env']);
  return i;
}
