// End to end for the injector: `emt-usb inject` puts the repo's installer-scripts/
// into a real sample bootkit's initramfs; the kernel then boots it under OVMF, the
// stand-in 90tmpfsroot unpacks the NEW rootfs.tar.gz, and systemd runs our unit.
// (The sample rootfs has no installer of its own: the unit can only come from inject.)
import { execFile } from 'node:child_process';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type SampleVariant, sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { bootVm, tail } from './qemu.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CMDLINE = 'root=tmpfs rootflags=mode=0755 rd.skipfsck noresume modules-load=nbd console=ttyS0';

async function inject(tarball: string, out: string, mode: Mode): Promise<void> {
  const args = [
    join(repo, 'bin/emt-usb.js'),
    'inject',
    '--bootkit',
    tarball,
    '--installer-scripts',
    join(repo, 'installer-scripts'),
    '--out',
    out,
    '--mode',
    mode,
  ];
  try {
    await promisify(execFile)(process.execPath, args, { cwd: repo, maxBuffer: 1 << 24 });
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    throw new Error(`emt-usb inject failed (exit ${err.code}): ${err.stderr ?? String(e)}`);
  }
}

type Mode = 'segment' | 'fast' | 'single';

// Every mode on the plain gzip kit; on the microcode + zstd kit the default and the
// one that re-encodes the main segment. `full` cases also wait for the unit's end.
const CASES: [SampleVariant, Mode, 'full' | 'start'][] = [
  ['gzip', 'segment', 'full'],
  ['gzip', 'fast', 'start'],
  ['gzip', 'single', 'start'],
  ['zstd-ucode', 'segment', 'full'],
  ['zstd-ucode', 'single', 'start'],
];

// No install medium is attached: the installer (installer-scripts/install.sh) must
// start from the injected rootfs, look for the medium and, after EMT_MEDIUM_WAIT
// (60 s), stop with its one-line failure. `emt-installer: done` needs a real medium,
// which the ISO/USB end-to-end test provides.
const STARTED = [
  /emt-bootkit: switching root/,
  /emt-installer: start/,
  /emt-installer: step 1\/8: find the install medium/,
];
const NO_MEDIUM = /emt-installer: failed: find the install medium: install medium not found/;

describe.each(CASES)('inject + boot: %s sample bootkit, --mode %s', (variant, mode, depth) => {
  it('boots the injected initramfs and runs the installer unit from it', async () => {
    const kit = await sampleBootkit(variant);
    const workDir = await mkdtemp(join(tmpdir(), `emt-inject-boot-${variant}-${mode}-`));
    const out = join(workDir, 'initramfs-injected.img');
    const t0 = Date.now();
    await inject(kit.tarball, out, mode);
    const injectMs = Date.now() - t0;
    expect((await stat(out)).size).toBeGreaterThan(0);

    const r = await bootVm({
      kernel: kit.kernel,
      initrd: out,
      append: CMDLINE,
      firmware: 'ovmf',
      memoryMiB: 2048,
      timeoutMs: 540_000,
      waitFor: depth === 'full' ? [...STARTED, NO_MEDIUM] : STARTED,
      failOn:
        depth === 'full'
          ? [/emt-bootkit: failed/, /Kernel panic/]
          : [/emt-bootkit: failed/, /Kernel panic/, /emt-installer: failed/],
      workDir,
    });
    process.stdout.write(
      `inject-boot ${variant} --mode ${mode}: inject ${(injectMs / 1000).toFixed(1)} s, boot ${r.reason} after ` +
        `${(r.elapsedMs / 1000).toFixed(1)} s (${r.logPath})\n`,
    );
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
    const log = r.serialLog;
    // The kernel ran with the installer's required parameters.
    const cmdline = /Kernel command line: (.*)/.exec(log)?.[1] ?? '';
    for (const p of ['root=tmpfs', 'rootflags=mode=0755', 'rd.skipfsck', 'noresume', 'modules-load=nbd'])
      expect(cmdline.split(/\s+/)).toContain(p);
    // The unit started after the switch into the tmpfs root, i.e. from the new rootfs.tar.gz.
    expect(log.indexOf('emt-bootkit: switching root')).toBeLessThan(log.indexOf('emt-installer: start'));
    if (depth === 'full') expect(log).not.toMatch(/emt-installer: done/);
  });
});
