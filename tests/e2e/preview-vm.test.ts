// preview --boot-vm for real, kept short: our ISO as a USB stick under OVMF, the
// serial console streamed until GRUB starts loading the kernel, then stopped the
// way Ctrl-C stops it (the job's signal). The ISO must be unchanged afterwards.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewVm } from '../../electron/jobs/preview.ts';
import { buildFixture, type InstallerFixture } from '../preview/installer-fixture.ts';

let dir: string;
let fx: InstallerFixture;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-preview-vm-'));
  fx = await buildFixture(dir, 'vm');
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function bootUntilGrub(request: { bios?: boolean; cdrom?: boolean }) {
  const ac = new AbortController();
  let serial = '';
  const info: string[] = [];
  const killer = setTimeout(() => ac.abort(), 240_000);
  const r = await previewVm(
    { input: fx.iso, diskSizeGiB: 4, ...request },
    {
      signal: ac.signal,
      onProgress: (e) => {
        if (e.stage === 'vm') info.push(e.detail ?? '');
        if (e.stage !== 'serial') return;
        serial += e.detail ?? '';
        if (/Loading the installer kernel from EMT_PREVIEW/.test(serial)) ac.abort();
      },
    },
  );
  clearTimeout(killer);
  return { r, serial, info };
}

describe('preview --boot-vm', () => {
  it('boots the ISO as a CD under SeaBIOS (--bios --cdrom)', async () => {
    const { r, serial, info } = await bootUntilGrub({ bios: true, cdrom: true });
    expect(serial).toMatch(/Loading the installer kernel from EMT_PREVIEW/);
    expect(r).toMatchObject({ firmware: 'seabios', stoppedBy: 'cancel' });
    expect(info.filter((l) => l.startsWith('booting')).pop()).toMatch(
      new RegExp(`as a CD with SeaBIOS \\(BIOS\\) under ${r.accel.toUpperCase()} `),
    );
    expect(r.command).toContain(`if=none,id=cd0,media=cdrom,format=raw,readonly=on,file=${fx.iso}`);
  });

  it('boots the ISO as a USB stick under OVMF, streams the console, stops on cancel', async () => {
    const ac = new AbortController();
    let serial = '';
    const info: string[] = [];
    const killer = setTimeout(() => ac.abort(), 240_000);
    const r = await previewVm(
      { input: fx.iso, diskSizeGiB: 4 },
      {
        signal: ac.signal,
        onProgress: (e) => {
          if (e.stage === 'vm') info.push(e.detail ?? '');
          if (e.stage !== 'serial') return;
          serial += e.detail ?? '';
          if (/Loading the installer kernel from EMT_PREVIEW/.test(serial)) ac.abort();
        },
      },
    );
    clearTimeout(killer);
    expect(serial).toMatch(/Loading the installer kernel from EMT_PREVIEW/);
    expect(r.stoppedBy).toBe('cancel');
    expect(r.firmware).toBe('ovmf');
    expect(info.filter((l) => l.startsWith('booting')).pop()).toMatch(
      new RegExp(`under ${r.accel.toUpperCase()} `),
    );
    expect(r.command).toContain(`if=none,id=stick,format=raw,snapshot=on,file=${fx.iso}`);
    expect(r.workDir).toBeNull();
    expect(
      createHash('sha256')
        .update(await readFile(fx.iso))
        .digest('hex'),
    ).toBe(fx.build.sha256);
  });
});
