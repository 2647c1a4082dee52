// Small real inputs for the ISO half of `build`: random kernel/initrd/OS image
// bytes (fixed seeds), and FAT images made by mkfs.fat + mcopy (tools we did not
// write), so masterInstallerIso is tested apart from the rest of the pipeline.

import { execFileSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MasterIsoInput } from '../../electron/iso/build.ts';
import { runXorriso, type XorrisoEngine } from '../../electron/iso/xorriso.ts';

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

/** The same epoch for every ISO test, so their outputs can be compared. */
export const ISO_TEST_EPOCH = 1_764_115_200;

/**
 * A masterInstallerIso input over `inp`, mastered by `engine` (native by default);
 * `over` replaces any field. Each call gets its own work folder under `workRoot`.
 */
export function masterInput(
  o: { inp: IsoInputs; osHash: { sha256: string; size: number }; workRoot: string; out: string },
  engine: XorrisoEngine = 'native',
  over: Partial<MasterIsoInput> = {},
): MasterIsoInput {
  const { inp } = o;
  return {
    out: o.out,
    workDir: join(o.workRoot, `work-${Math.random().toString(36).slice(2)}`),
    kernel: inp.kernel,
    initrd: inp.initrd,
    grubCfg: new TextEncoder().encode('set timeout=0\n'),
    efiLoader: inp.efi,
    osImage: { path: inp.osImage, ...o.osHash },
    espImage: inp.espImage,
    configImage: inp.configImage,
    label: 'EMT_TEST_1',
    sourceDateEpoch: ISO_TEST_EPOCH,
    buildId: '0123456789abcdef',
    about: {
      tool: { name: 'emt-usb', version: '0.1.0' },
      xorriso: '1.5.4',
      bootkit: { source: 'test.tar.gz', sha256: 'ee'.repeat(32), kernelVersion: '6.1.0-test' },
      kernelCmdline: 'root=tmpfs rootflags=mode=0755 rd.skipfsck noresume modules-load=nbd',
      configSchemaVersion: 1,
    },
    master: (argv, m) =>
      runXorriso(argv, {
        engine,
        sourceDateEpoch: ISO_TEST_EPOCH,
        onProgress: m.onProgress,
        signal: m.signal,
      }),
    ...over,
  };
}
