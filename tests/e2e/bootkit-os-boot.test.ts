// `emt-usb bootkit --from` on a real Bootkit OS build output (the sample's Debian tree
// with its kernel and a stand-in dracut initramfs under /boot): the bootkit it writes
// boots under OVMF, the stand-in 90tmpfsroot unpacks the appended rootfs.tar.gz (the
// input tarball byte for byte) and systemd in it reaches multi-user.target.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { walkInitramfs } from '../../electron/initramfs/segments.ts';
import { bootkit } from '../../electron/jobs/bootkit.ts';
import { quietContext } from '../../electron/jobs/job.ts';
import { sampleBootkitOs } from '../fixtures/sample-bootkit-os.ts';
import { bootVm, tail } from './qemu.ts';

// no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer probe can miss its ticks and panic.
const CMDLINE =
  'root=tmpfs rootflags=size=1G,mode=0755 rd.skipfsck noresume modules-load=nbd console=ttyS0 no_timer_check';

async function sha256Range(path: string, start = 0, end?: number): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { start, ...(end !== undefined ? { end: end - 1 } : {}) }))
    h.update(c as Buffer);
  return h.digest('hex');
}

describe('a bootkit made from the Bootkit OS build output', () => {
  it('keeps kernel and dracut initramfs, carries the tarball as rootfs.tar.gz, and boots under OVMF', async () => {
    const os = await sampleBootkitOs();
    const workDir = await mkdtemp(join(tmpdir(), 'emt-bootkit-os-'));
    const out = join(workDir, 'bootkit');
    const r = await bootkit({ from: os.tarball, out }, quietContext());
    expect(r.kernelVersion).toBe(os.kernelVersion);
    expect(await readFile(r.kernel)).toEqual(await readFile(os.kernel));
    const dracut = await readFile(os.initramfs);
    expect((await readFile(r.initramfs)).subarray(0, dracut.length)).toEqual(dracut);
    // The rootfs is the input's, file for file: the very bytes of the tarball.
    const layout = await walkInitramfs(r.initramfs);
    const seg = layout.segments[layout.rootfsSegment]!;
    const at = seg.offset + seg.rootfs!.dataOffset;
    expect(await sha256Range(r.initramfs, at, at + seg.rootfs!.size)).toBe(await sha256Range(os.tarball));

    const vm = await bootVm({
      kernel: r.kernel,
      initrd: r.initramfs,
      append: CMDLINE,
      firmware: 'ovmf',
      memoryMiB: 2048,
      timeoutMs: 420_000,
      waitFor: [
        /emt-bootkit: unpacking rootfs\.tar\.gz into a tmpfs/,
        /emt-bootkit: switching root/,
        /Reached target .*Multi-User System/,
      ],
      failOn: [/emt-bootkit: failed/, /Kernel panic/, /\[FAILED\]/],
      workDir,
    });
    process.stdout.write(
      `bootkit --from boot: ${vm.reason} after ${(vm.elapsedMs / 1000).toFixed(1)} s (${vm.logPath})\n`,
    );
    expect(
      vm.matched,
      `boot ${vm.reason}${vm.failedOn ? ` on ${vm.failedOn}` : ''}:\n${tail(vm.serialLog)}`,
    ).toBe(true);
  });
});
