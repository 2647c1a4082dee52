// End to end for the injector: `emt-usb inject` puts the repo's installer-scripts/
// into a real sample bootkit's initramfs; the kernel then boots it under OVMF, the
// stand-in 90tmpfsroot unpacks the NEW rootfs.tar.gz, and systemd runs our unit.
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

async function inject(tarball: string, out: string): Promise<void> {
  const args = [
    join(repo, 'bin/emt-usb.js'),
    'inject',
    '--bootkit',
    tarball,
    '--installer-scripts',
    join(repo, 'installer-scripts'),
    '--out',
    out,
  ];
  try {
    await promisify(execFile)(process.execPath, args, { cwd: repo, maxBuffer: 1 << 24 });
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    throw new Error(`emt-usb inject failed (exit ${err.code}): ${err.stderr ?? String(e)}`);
  }
}

describe.each<SampleVariant>(['gzip', 'zstd-ucode'])('inject + boot: %s sample bootkit', (variant) => {
  it('boots the injected initramfs and runs the installer unit', async () => {
    const kit = await sampleBootkit(variant);
    const workDir = await mkdtemp(join(tmpdir(), `emt-inject-boot-${variant}-`));
    const out = join(workDir, 'initramfs-injected.img');
    const t0 = Date.now();
    await inject(kit.tarball, out);
    const injectMs = Date.now() - t0;
    expect((await stat(out)).size).toBeGreaterThan(0);

    const r = await bootVm({
      kernel: kit.kernel,
      initrd: out,
      append: CMDLINE,
      firmware: 'ovmf',
      memoryMiB: 2048,
      timeoutMs: 480_000,
      waitFor: [/emt-bootkit: switching root/, /emt-installer: start/, /emt-installer: done/],
      failOn: [/emt-bootkit: failed/, /Kernel panic/, /emt-installer: failed/],
      workDir,
    });
    process.stdout.write(
      `inject-boot ${variant}: inject ${(injectMs / 1000).toFixed(1)} s, boot ${r.reason} after ` +
        `${(r.elapsedMs / 1000).toFixed(1)} s (${r.logPath})\n`,
    );
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
    const log = r.serialLog;
    // The unit echoes the kernel cmdline it ran under.
    const cmdline = /emt-installer: cmdline: (.*)/.exec(log)?.[1] ?? '';
    expect(cmdline).toMatch(/(^|\s)root=tmpfs(\s|$)/);
    expect(cmdline).toContain('rootflags=mode=0755');
    expect(log.indexOf('emt-installer: start')).toBeLessThan(log.indexOf('emt-installer: done'));
    expect(log.indexOf('emt-bootkit: switching root')).toBeLessThan(log.indexOf('emt-installer: start'));
  });
});
