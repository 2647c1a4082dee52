// Boots the `gzip` (and `xz`) sample bootkit (kernel + initramfs, as GRUB would hand them over)
// under OVMF and checks the stand-in 90tmpfsroot really unpacks rootfs.tar.gz into a
// tmpfs and that systemd in it reaches multi-user.target.
import { mkdir, mkdtemp, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type SampleVariant, sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { bootVm, tail } from './qemu.ts';

const MiB = 1024 * 1024;
const sparseFile = async (path: string, bytes: number) => {
  await writeFile(path, '');
  await truncate(path, bytes);
};
// no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer probe can miss its ticks and panic.
const CMDLINE =
  'root=tmpfs rootflags=size=1G,mode=0755 rd.skipfsck noresume modules-load=nbd console=ttyS0 no_timer_check';

describe.each<SampleVariant>(['gzip', 'xz'])('%s sample bootkit boots under OVMF', (variant) => {
  it('unpacks rootfs.tar.gz into a tmpfs and reaches multi-user.target', async () => {
    const kit = await sampleBootkit(variant);
    const workDir = await mkdtemp(join(tmpdir(), `emt-sample-boot-${variant}-`));
    const r = await bootVm({
      kernel: kit.kernel,
      initrd: kit.initramfs,
      append: CMDLINE,
      firmware: 'ovmf',
      memoryMiB: 2048,
      timeoutMs: 420_000,
      waitFor: [
        /emt-bootkit: unpacking rootfs\.tar\.gz into a tmpfs \(size=1G,mode=0755\)/,
        /emt-bootkit: switching root/,
        /Welcome to Debian GNU\/Linux/,
        /Reached target .*Multi-User System/,
      ],
      // A clean boot: no failed unit, no module missing from the closure.
      failOn: [/emt-bootkit: failed/, /Kernel panic/, /\[FAILED\]/, /Failed to find module/],
      workDir,
    });
    process.stdout.write(
      `sample bootkit ${variant} boot: ${r.reason} after ${(r.elapsedMs / 1000).toFixed(1)} s (${r.logPath})\n`,
    );
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
    // The order matters: the switch happens before systemd runs in the new root.
    const log = r.serialLog;
    expect(log.indexOf('emt-bootkit: switching root')).toBeLessThan(
      log.search(/Reached target .*Multi-User System/),
    );
    expect(r.varsFile).toBeDefined();
  });
});

describe('QEMU harness', () => {
  it('attaches the USB stick (xHCI usb-storage) and NVMe disks the installer sees', async () => {
    const kit = await sampleBootkit('gzip');
    const workDir = await mkdtemp(join(tmpdir(), 'emt-qemu-disks-'));
    const stick = join(workDir, 'stick.img');
    const disks = [join(workDir, 'nvme0.img'), join(workDir, 'nvme1.img')];
    await sparseFile(stick, 64 * MiB);
    await sparseFile(disks[0]!, 96 * MiB);
    await sparseFile(disks[1]!, 128 * MiB);
    const r = await bootVm({
      kernel: kit.kernel,
      initrd: kit.initramfs,
      append: 'root=tmpfs rootflags=mode=0755 no_timer_check',
      firmware: 'ovmf',
      usbStick: stick,
      nvme: disks,
      timeoutMs: 420_000,
      // udev loads the drivers from the rootfs's module closure.
      waitFor: [
        /usb-storage \S+: USB Mass Storage device detected/,
        /sd \S+: \[sd[a-z]\] 131072 512-byte logical blocks/,
        /\[sd[a-z]\] Attached SCSI removable disk/,
        /nvme nvme0: pci function/,
        /nvme nvme1: pci function/,
      ],
      failOn: [/emt-bootkit: failed/, /Kernel panic/],
      workDir,
    });
    process.stdout.write(
      `disks boot: ${r.reason} after ${(r.elapsedMs / 1000).toFixed(1)} s (${r.logPath})\n`,
    );
    expect(r.matched, `boot ${r.reason}:\n${tail(r.serialLog)}`).toBe(true);
  });

  it('reports a QEMU that fails to start, with its stderr', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'emt-qemu-fail-'));
    const notAnImage = join(workDir, 'a-directory');
    await mkdir(notAnImage);
    await expect(
      bootVm({ usbStick: notAnImage, firmware: 'seabios', timeoutMs: 60_000, waitFor: /never/, workDir }),
    ).rejects.toThrow(/qemu-system-x86_64 exited with 1[\s\S]*a-directory/);
  });
});
