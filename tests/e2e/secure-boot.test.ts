// Boot proof for `build --secure-boot shim` (and `uki`, below): the ISO, written raw to a USB stick,
// boots under OVMF with Microsoft's keys and Secure Boot enforced (Microsoft-signed
// shim -> Debian-signed GRUB -> Debian-signed sample kernel), and the installer unit
// runs. Negative: the same ISO with the kernel swapped for an unsigned copy
// (re-mastered with xorriso, a test-only path: the build itself refuses it) is
// refused by shim/GRUB. And the shim ISO still boots with Secure Boot off.
// Own key: with Debian's snakeoil set standing in for an organisation's db key
// (OVMF_*_4M.snakeoil.fd: snakeoil in PK/KEK/db, no Microsoft keys), an unsigned
// kernel signed by `build --sign-key` boots (shim carries our signature beside
// Microsoft's), while the Microsoft-only ISO is refused by that firmware.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePe } from '../../electron/secureboot/pe.ts';
import { loadPrivateKey, signPe } from '../../electron/secureboot/sign.ts';
import { buildUki } from '../../electron/secureboot/uki.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { bootVm, tail } from './qemu.ts';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EPOCH = 1_764_115_200;

const PROBE = `#!/bin/bash
echo "emt-installer: start"
echo "emt-installer: lockdown: $(cat /sys/kernel/security/lockdown 2>/dev/null)"
echo "emt-installer: done"
`;

let work: string;
let iso: string;
let unsignedIso: string;
let ownIso: string;
const SNAKEOIL = {
  key: '/usr/share/ovmf/PkKek-1-snakeoil.key',
  cert: '/usr/share/ovmf/PkKek-1-snakeoil.pem',
};

async function stick(image: string, name: string, into = work): Promise<string> {
  const s = join(into, `${name}-stick.img`);
  await copyFile(image, s);
  await truncate(s, (await stat(image)).size + 64 * 2 ** 20);
  return s;
}

describe('--secure-boot shim ISO under OVMF', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'emt-secure-boot-'));
    const kit = await sampleBootkit('gzip');
    const scripts = join(work, 'probe-scripts');
    await mkdir(join(scripts, 'systemd'), { recursive: true });
    await copyFile(
      join(repo, 'installer-scripts/systemd/emt-installer.service'),
      join(scripts, 'systemd/emt-installer.service'),
    );
    await writeFile(join(scripts, 'install.sh'), PROBE, { mode: 0o755 });
    const os = join(work, 'emt-os.img');
    await writeFile(os, Buffer.alloc(4 * 2 ** 20, 0x5a));
    iso = join(work, 'shim.iso');
    const { stdout } = await run(
      process.execPath,
      [
        join(repo, 'bin/emt-usb.js'),
        'build',
        '--bootkit',
        kit.tarball,
        '--installer-scripts',
        scripts,
        '--os-image',
        os,
        '--secure-boot',
        'shim',
        '--source-date-epoch',
        String(EPOCH),
        '--out',
        iso,
        '--json',
      ],
      { cwd: repo, maxBuffer: 1 << 26 },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.manifest.secureBoot).toBe('shim');
    expect(result.secureBoot.kernelTrusted).toBe(true);
    // Test-only: an unsigned kernel forced into the finished ISO, boot setup replayed.
    const unsignedKernel = join(work, 'vmlinuz-unsigned');
    await copyFile(kit.kernel, unsignedKernel);
    await run('sbattach', ['--remove', unsignedKernel]);
    // Own key: the unsigned kernel, signed by the build with the snakeoil key.
    const pass = join(work, 'pass.txt');
    await writeFile(pass, 'snakeoil\n');
    ownIso = join(work, 'own.iso');
    await run(
      process.execPath,
      [
        join(repo, 'bin/emt-usb.js'),
        'build',
        '--kernel',
        unsignedKernel,
        '--initramfs',
        kit.initramfs,
        '--installer-scripts',
        scripts,
        '--os-image',
        os,
        '--secure-boot',
        'shim',
        '--sign-key',
        SNAKEOIL.key,
        '--sign-cert',
        SNAKEOIL.cert,
        '--sign-key-pass-file',
        pass,
        '--source-date-epoch',
        String(EPOCH),
        '--out',
        ownIso,
      ],
      { cwd: repo, maxBuffer: 1 << 26 },
    );
    unsignedIso = join(work, 'unsigned.iso');
    await run('xorriso', [
      '-indev',
      iso,
      '-outdev',
      unsignedIso,
      '-boot_image',
      'any',
      'replay',
      '-map',
      unsignedKernel,
      '/boot/vmlinuz',
    ]);
  }, 600_000);

  afterAll(async () => {
    for (const f of await readdir(work)) {
      if (/\.(iso|img|gz)$|^vmlinuz/.test(f)) await rm(join(work, f), { force: true });
    }
  });

  const boot = async (name: string, o: Partial<Parameters<typeof bootVm>[0]>) => {
    const r = await bootVm({
      firmware: 'ovmf',
      memoryMiB: 2048,
      timeoutMs: 480_000,
      waitFor: [],
      ...o,
      workDir: join(work, name),
    });
    process.stdout.write(
      `secure-boot ${name}: ${r.reason} after ${(r.elapsedMs / 1000).toFixed(1)} s (${r.logPath})\n`,
    );
    return r;
  };

  it('boots as a USB stick with Secure Boot enforced (Microsoft keys) and the installer unit runs', async () => {
    const r = await boot('sb-usb', {
      secureBoot: 'ms',
      usbStick: await stick(iso, 'sb'),
      waitFor: [
        /EFI stub: UEFI Secure Boot is enabled/,
        /secureboot: Secure boot enabled/,
        /emt-bootkit: switching root/,
        /emt-installer: start/,
        /emt-installer: done/,
      ],
      failOn: [
        /Kernel panic/,
        /emt-bootkit: failed/,
        /bad shim signature/,
        /emt: installer filesystem not found/,
      ],
    });
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
    // Lockdown follows from Secure Boot: the kernel really saw it on.
    expect(r.serialLog).toMatch(/emt-installer: lockdown: .*\[integrity\]/);
    expect(r.serialLog).toMatch(/Kernel is locked down from EFI Secure Boot/);
  });

  it('boots as a CD with Secure Boot enforced (El Torito EFI image = the ESP)', async () => {
    const r = await boot('sb-cd', {
      secureBoot: 'ms',
      cdrom: iso,
      waitFor: [/secureboot: Secure boot enabled/, /emt-bootkit: switching root/, /emt-installer: done/],
      failOn: [
        /Kernel panic/,
        /emt-bootkit: failed/,
        /bad shim signature/,
        /emt: installer filesystem not found/,
      ],
    });
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
  });

  it('refuses the same ISO with an unsigned kernel forced in', async () => {
    const r = await boot('sb-unsigned', {
      secureBoot: 'ms',
      usbStick: await stick(unsignedIso, 'unsigned'),
      timeoutMs: 300_000,
      // Debian's GRUB asks shim to verify the kernel; shim says no.
      waitFor: [/Loading the installer kernel/, /bad shim signature|prohibited by secure boot policy/i],
      failOn: [/Linux version \d/, /emt-bootkit: switching root/, /EFI stub:/],
    });
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
    expect(r.serialLog).not.toMatch(/Secure boot enabled/);
  });

  it('still boots with Secure Boot off (plain OVMF)', async () => {
    const r = await boot('plain-usb', {
      usbStick: await stick(iso, 'plain'),
      waitFor: [/emt-bootkit: switching root/, /emt-installer: done/],
      failOn: [/Kernel panic/, /emt-bootkit: failed/],
    });
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
    expect(r.serialLog).not.toMatch(/secureboot: Secure boot enabled/);
  });

  it('own key: boots the kernel signed by --sign-key under snakeoil-only firmware', async () => {
    const r = await boot('own-snakeoil', {
      secureBoot: 'snakeoil',
      usbStick: await stick(ownIso, 'own'),
      waitFor: [/secureboot: Secure boot enabled/, /emt-bootkit: switching root/, /emt-installer: done/],
      failOn: [/Kernel panic/, /emt-bootkit: failed/, /bad shim signature/, /Access Denied/],
    });
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
  });

  it('own key: the Microsoft-only ISO is refused by snakeoil-only firmware', async () => {
    const r = await boot('ms-on-snakeoil', {
      secureBoot: 'snakeoil',
      usbStick: await stick(iso, 'ms-on-snakeoil'),
      timeoutMs: 240_000,
      // OVMF's boot manager reports the refused image and goes on to the next entry.
      waitFor: [/Access Denied|Security Violation/i],
      failOn: [/Loading the installer kernel/, /EFI stub:/],
    });
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
  });
});

// The UKI as the build makes it: `build --secure-boot uki` with the snakeoil key as
// the organisation's db key. Its ESP is over 32 MiB (GPT partition 2 only), so it
// boots as a USB stick; the initramfs inside the signed UKI finds the ISO by label.
describe('build --secure-boot uki ISO under snakeoil firmware', () => {
  let dir: string;
  let ukiIso: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emt-uki-iso-'));
    const kit = await sampleBootkit('gzip');
    const scripts = join(dir, 'probe-scripts');
    await mkdir(join(scripts, 'systemd'), { recursive: true });
    await copyFile(
      join(repo, 'installer-scripts/systemd/emt-installer.service'),
      join(scripts, 'systemd/emt-installer.service'),
    );
    await writeFile(join(scripts, 'install.sh'), PROBE, { mode: 0o755 });
    const os = join(dir, 'emt-os.img');
    await writeFile(os, Buffer.alloc(4 * 2 ** 20, 0x5a));
    const pass = join(dir, 'pass.txt');
    await writeFile(pass, 'snakeoil\n');
    ukiIso = join(dir, 'uki.iso');
    const { stdout } = await run(
      process.execPath,
      [
        join(repo, 'bin/emt-usb.js'),
        'build',
        '--bootkit',
        kit.tarball,
        '--installer-scripts',
        scripts,
        '--os-image',
        os,
        '--secure-boot',
        'uki',
        '--sign-key',
        SNAKEOIL.key,
        '--sign-cert',
        SNAKEOIL.cert,
        '--sign-key-pass-file',
        pass,
        '--source-date-epoch',
        String(EPOCH),
        '--out',
        ukiIso,
        '--json',
      ],
      { cwd: repo, maxBuffer: 1 << 26 },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.manifest.secureBoot).toBe('uki');
    expect(result.manifest.cdBoot).toBe(false);
  }, 600_000);

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('boots as a USB stick with Secure Boot enforced and the installer unit runs', async () => {
    const r = await bootVm({
      firmware: 'ovmf',
      secureBoot: 'snakeoil',
      usbStick: await stick(ukiIso, 'uki', dir),
      memoryMiB: 2048,
      timeoutMs: 480_000,
      waitFor: [
        /EFI stub: UEFI Secure Boot is enabled/,
        /secureboot: Secure boot enabled/,
        /emt-bootkit: switching root/,
        /emt-installer: start/,
        /emt-installer: done/,
      ],
      failOn: [/Kernel panic/, /emt-bootkit: failed/, /Access Denied/, /emt: installer filesystem not found/],
      workDir: join(dir, 'uki-build'),
    });
    process.stdout.write(
      `secure-boot uki-build: ${r.reason} after ${(r.elapsedMs / 1000).toFixed(1)} s (${r.logPath})\n`,
    );
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
    expect(r.serialLog).toMatch(/emt-installer: lockdown: .*\[integrity\]/);
  });
});

// The UKI built by hand: systemd's stub + kernel + initramfs + cmdline, signed
// by us with the snakeoil db key, on a GPT disk's ESP. Its signature covers the
// initramfs: one byte changed there and the firmware refuses it.
describe('UKI signed in-process under snakeoil firmware', () => {
  let dir: string;
  let good: string;
  let bad: string;

  /** A GPT disk with one FAT32 ESP holding EFI/BOOT/BOOTX64.EFI (mkfs.fat, mtools, sfdisk). */
  async function espDisk(efi: Buffer, name: string): Promise<string> {
    const f = join(dir, `${name}.efi`);
    await writeFile(f, efi);
    const esp = join(dir, `${name}-esp.img`);
    const kib = Math.ceil(efi.length / 1024) + 40 * 1024;
    await run('mkfs.fat', ['-C', '-F', '32', '-n', 'UKI', esp, String(kib)]);
    await run('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT']);
    await run('mcopy', ['-i', esp, f, '::/EFI/BOOT/BOOTX64.EFI']);
    const disk = join(dir, `${name}-disk.img`);
    await writeFile(disk, '');
    await truncate(disk, (kib + 2048) * 1024);
    await run('sh', [
      '-c',
      `printf 'label: gpt\\nstart=2048, size=${kib * 2}, type=U\\n' | sfdisk -q "$1"`,
      'sh',
      disk,
    ]);
    await run('dd', [`if=${esp}`, `of=${disk}`, 'bs=512', 'seek=2048', 'conv=notrunc', 'status=none']);
    await rm(esp);
    return disk;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emt-uki-boot-'));
    const kit = await sampleBootkit('gzip');
    // An unsigned kernel: only the UKI's own signature is checked.
    const k = join(dir, 'vmlinuz-unsigned');
    await copyFile(kit.kernel, k);
    await run('sbattach', ['--remove', k]);
    const uki = buildUki({
      stub: await readFile('/usr/lib/systemd/boot/efi/linuxx64.efi.stub'),
      kernel: await readFile(k),
      initrd: await readFile(kit.initramfs),
      cmdline:
        'root=tmpfs rootflags=size=1G,mode=0755 rd.skipfsck noresume modules-load=nbd console=ttyS0,115200',
      osRelease: 'ID=emt-installer\nNAME="EMT installer"\n',
    });
    const key = loadPrivateKey(await readFile(SNAKEOIL.key), SNAKEOIL.key, 'snakeoil');
    const signed = signPe(uki, new X509Certificate(await readFile(SNAKEOIL.cert)), key, 'uki');
    good = await espDisk(signed, 'good');
    const changed = Buffer.from(signed);
    const initrdSection = parsePe(changed).sections.find((x) => x.name === '.initrd')!;
    changed[initrdSection.rawOffset + 4096]! ^= 0x01;
    bad = await espDisk(changed, 'bad');
  }, 600_000);

  afterAll(async () => {
    for (const f of await readdir(dir))
      if (/\.(img|efi)$|^vmlinuz/.test(f)) await rm(join(dir, f), { force: true });
  });

  it('boots with Secure Boot enforced', async () => {
    const r = await bootVm({
      firmware: 'ovmf',
      secureBoot: 'snakeoil',
      usbStick: good,
      memoryMiB: 2048,
      timeoutMs: 480_000,
      waitFor: [
        /EFI stub: UEFI Secure Boot is enabled/,
        /secureboot: Secure boot enabled/,
        /emt-bootkit: switching root/,
      ],
      failOn: [/Kernel panic/, /emt-bootkit: failed/, /Access Denied/],
      workDir: join(dir, 'uki-good'),
    });
    process.stdout.write(`secure-boot uki-good: ${r.reason} after ${(r.elapsedMs / 1000).toFixed(1)} s\n`);
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
  });

  it('is refused by the firmware with one initramfs byte changed', async () => {
    const r = await bootVm({
      firmware: 'ovmf',
      secureBoot: 'snakeoil',
      usbStick: bad,
      memoryMiB: 2048,
      timeoutMs: 240_000,
      waitFor: [/BdsDxe: failed to load .*Access Denied/],
      failOn: [/EFI stub:/, /Linux version \d/],
      workDir: join(dir, 'uki-bad'),
    });
    process.stdout.write(`secure-boot uki-bad: ${r.reason} after ${(r.elapsedMs / 1000).toFixed(1)} s\n`);
    expect(r.matched, `boot ${r.reason}${r.failedOn ? ` on ${r.failedOn}` : ''}:\n${tail(r.serialLog)}`).toBe(
      true,
    );
  });
});
