// The end-to-end test's OS image (tests/fixtures/emt-os-image.ts) boots on its
// own: its raw image as the only disk (NVMe) under OVMF, GRUB on the ESP finds
// the kernel, the test OS mounts `rootfs` by label and reports. This is the
// "installed disk boots without the stick" half of the installer VM test.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emtOsImage, OS_BOOTED, OS_DONE, OS_IMAGE_BYTES, OS_IMAGE_PARTS } from '../fixtures/emt-os-image.ts';
import { bootVm } from './qemu.ts';

const isRoot = process.getuid?.() === 0;
let work = '';

describe.skipIf(!isRoot)('EMT test OS image', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'emt-os-image-'));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is a GPT disk with esp, rootfs and edge_persistent, checked by sgdisk, fsck.fat and e2fsck', async () => {
    const img = await emtOsImage('gzip');
    const gunzipped = execFileSync('bash', ['-c', `gzip -dc "${img.image}" | sha256sum`])
      .toString()
      .split(' ')[0];
    expect(gunzipped).toBe(execFileSync('sha256sum', [img.raw]).toString().split(' ')[0]);
    expect(execFileSync('sha256sum', [img.image]).toString().split(' ')[0]).toBe(img.sha256);
    const table = execFileSync('sgdisk', ['-p', img.raw]).toString();
    for (const p of OS_IMAGE_PARTS)
      expect(table).toMatch(new RegExp(`\\s${p.start}\\s+${p.start + p.sectors - 1}\\s.*\\s${p.name}\\n`));
    expect(execFileSync('sgdisk', ['-v', img.raw]).toString()).toContain('No problems found');
    for (const p of OS_IMAGE_PARTS) {
      const part = join(work, `${p.name}.img`);
      execFileSync('dd', [
        `if=${img.raw}`,
        `of=${part}`,
        'bs=512',
        `skip=${p.start}`,
        `count=${p.sectors}`,
        'status=none',
      ]);
      if (p.fs === 'vfat') {
        execFileSync('fsck.fat', ['-n', part]);
        const ls = execFileSync('mdir', ['-i', part, '-b', '-/', '::/'], {
          env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
        }).toString();
        expect(ls).toContain('::/EFI/BOOT/BOOTX64.EFI');
        expect(ls).toContain('::/emt-test-os/vmlinuz');
      } else {
        execFileSync('e2fsck', ['-fn', part]);
        expect(execFileSync('blkid', ['-o', 'value', '-s', 'LABEL', part]).toString().trim()).toBe(p.label);
      }
    }
    expect(OS_IMAGE_BYTES).toBe(Number(execFileSync('stat', ['-c', '%s', img.raw]).toString()));
  });

  it('boots on its own from an NVMe disk under OVMF and finds its rootfs', async () => {
    const img = await emtOsImage('gzip');
    const disk = join(work, 'nvme.img');
    await copyFile(img.raw, disk);
    execFileSync('truncate', ['-s', '1G', disk]);
    const r = await bootVm({
      firmware: 'ovmf',
      nvme: [disk],
      memoryMiB: 1024,
      timeoutMs: 300_000,
      waitFor: [OS_BOOTED, OS_DONE],
      failOn: [/emt-test-os: failed/, /Kernel panic/],
      workDir: join(work, 'vm'),
    });
    expect(r.reason, r.serialLog.slice(-3000)).toBe('matched');
    expect(r.serialLog).toMatch(/emt-test-os: booted rootfs=\/dev\/nvme0n1p2/);
    expect(r.serialLog).toContain('emt-test-os: hostname=emt-test-os');
  });
});
