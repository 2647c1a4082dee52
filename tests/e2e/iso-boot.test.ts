// Boot proof for `emt-usb build`: the ISO built from the real gzip sample bootkit
// boots under OVMF (TCG) as a CD and as a USB stick (the raw image, padded like a
// bigger stick), and with --bios under SeaBIOS and OVMF as a USB stick. A probe installer
// (same unit as installer-scripts/, a small install.sh) reports the kernel
// cmdline, the block devices it sees, and the marker read from the medium.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { bootVm, tail } from './qemu.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EPOCH = 1_764_115_200;
const EXTRA = 'emt.probe=iso-boot';
const REQUIRED = ['root=tmpfs', 'rootflags=mode=0755', 'rd.skipfsck', 'noresume', 'modules-load=nbd'];

const PROBE = `#!/bin/bash
# Probe installer for the ISO boot test: what the real installer relies on.
echo "emt-installer: start"
echo "emt-installer: cmdline: $(cat /proc/cmdline)"
udevadm settle --timeout=30 >/dev/null 2>&1 || true
for _ in $(seq 1 20); do
  lsblk -rno LABEL 2>/dev/null | grep -qx EMTCONFIG && break
  sleep 1
done
lsblk -rno NAME,TYPE,FSTYPE,LABEL,PARTTYPE | sed 's/^/emt-installer: dev: /'
iso=$(blkid -t TYPE=iso9660 -o device | head -n1)
mkdir -p /run/probe-iso
if [ -n "$iso" ] && mount -t iso9660 -o ro "$iso" /run/probe-iso; then
  echo "emt-installer: medium $iso: $(tr '\\n' ' ' </run/probe-iso/.disk/emt-installer)"
  umount /run/probe-iso
fi
echo "emt-installer: done"
`;

let work: string;
const built: Record<'efi' | 'bios', { iso: string; buildId: string; label: string }> = {} as never;

async function build(name: 'efi' | 'bios', kit: string, scripts: string, os: string): Promise<void> {
  const out = join(work, `${name}.iso`);
  const args = [
    join(repo, 'bin/emt-usb.js'),
    'build',
    '--bootkit',
    kit,
    '--installer-scripts',
    scripts,
    '--os-image',
    os,
    '--cmdline',
    EXTRA,
    '--source-date-epoch',
    String(EPOCH),
    '--out',
    out,
    '--json',
    ...(name === 'bios' ? ['--bios', '--label', 'EMT_BIOS_TEST'] : []),
  ];
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(process.execPath, args, { cwd: repo, maxBuffer: 1 << 26 }));
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    throw new Error(`emt-usb build (${name}) failed (exit ${err.code}): ${err.stderr ?? String(e)}`);
  }
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
  expect(result.type).toBe('result');
  built[name] = { iso: out, buildId: result.manifest.buildId, label: result.manifest.label };
  process.stdout.write(
    `iso-boot: built ${name}.iso in ${result.seconds.toFixed(1)} s (${result.size} bytes)\n`,
  );
}

/** A stick bigger than the image: the backup GPT is then not at the stick's end. */
async function stickImage(iso: string, name: string): Promise<string> {
  const stick = join(work, `${name}-stick.img`);
  await copyFile(iso, stick);
  const { size } = await stat(iso);
  await truncate(stick, size + 64 * 2 ** 20);
  return stick;
}

function checkLog(log: string, b: { buildId: string }, usb: boolean): void {
  const cmdline = /emt-installer: cmdline: (.*)/.exec(log)?.[1] ?? '';
  const params = cmdline.trim().split(/\s+/);
  for (const p of [...REQUIRED, 'console=ttyS0,115200', 'usbcore.delay_ms=2000', EXTRA])
    expect(params).toContain(p);
  expect(log.indexOf('emt-installer: start')).toBeLessThan(log.indexOf('emt-installer: done'));
  // The unit read our marker from the medium it booted from.
  expect(log).toMatch(new RegExp(`emt-installer: medium /dev/\\S+: build_id=${b.buildId} label=`));
  if (usb) {
    // The stick's GPT as the installer sees it: ESP (type EF00) and EMTCONFIG (basic data, vfat).
    expect(log).toMatch(/emt-installer: dev: sd[a-z]2 part vfat \S+ c12a7328-f81f-11d2-ba4b-00a0c93ec93b/);
    expect(log).toMatch(
      /emt-installer: dev: sd[a-z]3 part vfat EMTCONFIG ebd0a0a2-b9e5-4433-87c0-68b6b72699c7/,
    );
  }
}

describe('installer ISO boots', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'emt-iso-boot-'));
    const kit = await sampleBootkit('gzip');
    const scripts = join(work, 'probe-scripts');
    await mkdir(join(scripts, 'systemd'), { recursive: true });
    await copyFile(
      join(repo, 'installer-scripts/systemd/emt-installer.service'),
      join(scripts, 'systemd/emt-installer.service'),
    );
    await writeFile(join(scripts, 'install.sh'), PROBE, { mode: 0o755 });
    // Raw bytes, named as raw: the build checks a .raw.gz really is gzip.
    const os = join(work, 'emt-os.img');
    await writeFile(os, Buffer.alloc(4 * 2 ** 20, 0x5a));
    await build('efi', kit.tarball, scripts, os);
    await build('bios', kit.tarball, scripts, os);
  });

  // The images are big; the serial logs (one folder per boot) stay for a look.
  afterAll(async () => {
    for (const f of await readdir(work)) {
      if (/\.(iso|img|gz)$/.test(f)) await rm(join(work, f), { force: true });
    }
  });

  const boot = async (
    name: string,
    o: Omit<Parameters<typeof bootVm>[0], 'workDir' | 'timeoutMs' | 'waitFor'>,
  ) => {
    const r = await bootVm({
      ...o,
      memoryMiB: 2048,
      timeoutMs: 480_000,
      waitFor: [/emt-installer: start/, /emt-installer: done/],
      failOn: [
        /emt-bootkit: failed/,
        /Kernel panic/,
        /emt-installer: failed/,
        /emt: installer filesystem not found/,
      ],
      workDir: join(work, name),
    });
    process.stdout.write(
      `iso-boot ${name}: ${r.reason} after ${(r.elapsedMs / 1000).toFixed(1)} s (${r.logPath})\n`,
    );
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
    return r.serialLog;
  };

  it('UEFI (OVMF) as a CD', async () => {
    const log = await boot('ovmf-cd', { firmware: 'ovmf', cdrom: built.efi.iso });
    checkLog(log, built.efi, false);
  });

  it('UEFI (OVMF) as a USB stick written raw', async () => {
    const log = await boot('ovmf-usb', {
      firmware: 'ovmf',
      usbStick: await stickImage(built.efi.iso, 'efi'),
    });
    checkLog(log, built.efi, true);
  });

  it('UEFI (OVMF) as a USB stick, built with --bios (the hybrid keeps UEFI working)', async () => {
    const log = await boot('ovmf-usb-bios', {
      firmware: 'ovmf',
      usbStick: await stickImage(built.bios.iso, 'bios-uefi'),
    });
    checkLog(log, built.bios, true);
  });

  it('BIOS (SeaBIOS) as a USB stick, built with --bios', async () => {
    const log = await boot('seabios-usb', {
      firmware: 'seabios',
      usbStick: await stickImage(built.bios.iso, 'bios'),
    });
    checkLog(log, built.bios, true);
  });
});
