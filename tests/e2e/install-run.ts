// One unattended install in QEMU, shared by the hot-plug test and the soak script
// (scripts/soak-install.ts): build an installer ISO from the sample bootkit and
// the EMT-like test OS image, write it to a stick image, and install onto a blank
// NVMe disk, either booting the stick through OVMF (as a technician does) or
// booting the ISO's kernel, initrd and cmdline directly with no stick and
// hot-plugging the stick once the installer says it is waiting for it.
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { emtOsImage } from '../fixtures/emt-os-image.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { type BootVmResult, bootVm, hotplugUsbStick } from './qemu.ts';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const FAILED_LINE = /\]: emt-installer: failed: (.*)/;
export const INSTALL_DONE = [/emt-installer: start/, /emt-installer: done/, /reboot: Power down/];
/** What step 1 prints when its first look found no medium (installer-scripts/steps/10-find-medium.sh). */
export const WAITING_FOR_MEDIUM = /emt-installer: waiting up to \d+ s for the install medium/;

/** `emt-usb build` with a small site config (LVM on, power off at the end); returns the ISO path. */
export async function buildTestInstaller(work: string): Promise<string> {
  await mkdir(work, { recursive: true });
  const [kit, os] = await Promise.all([sampleBootkit('gzip'), emtOsImage('gzip')]);
  const config = join(work, 'config-file');
  await writeFile(
    config,
    [
      'user_name="edge"',
      'host_type="container"',
      'hostname="node-hotplug"',
      'lvm_size_ingb="1"',
      'after_install="poweroff"',
      '',
    ].join('\n'),
  );
  const iso = join(work, 'installer.iso');
  const args = [
    join(repo, 'bin/emt-usb.js'),
    'build',
    '--bootkit',
    kit.tarball,
    '--os-image',
    os.image,
    '--os-image-sha256',
    os.sha256File,
    '--config',
    config,
    '--source-date-epoch',
    '1764547200',
    '--out',
    iso,
  ];
  try {
    await run(process.execPath, args, { cwd: repo, maxBuffer: 1 << 26 });
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    throw new Error(`emt-usb build failed (exit ${err.code}): ${err.stderr ?? String(e)}`);
  }
  return iso;
}

export interface IsoBoot {
  kernel: string;
  initrd: string;
  /** The kernel command line of the ISO's GRUB menu entry. */
  append: string;
}

/** The kernel, initrd and cmdline GRUB would boot from the ISO, extracted with xorriso. */
export async function isoBootFiles(iso: string, dir: string): Promise<IsoBoot> {
  await mkdir(dir, { recursive: true });
  const kernel = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd.img');
  const cfg = join(dir, 'grub.cfg');
  execFileSync(
    'xorriso',
    [
      '-osirrox',
      'on',
      '-indev',
      iso,
      '-extract',
      '/boot/vmlinuz',
      kernel,
      '-extract',
      '/boot/initrd.img',
      initrd,
      '-extract',
      '/boot/grub/grub.cfg',
      cfg,
    ],
    { stdio: 'ignore' },
  );
  const m = /^\s*linux\s+\/boot\/vmlinuz\s+(.*)$/m.exec(await readFile(cfg, 'utf8'));
  if (!m) throw new Error(`${iso}: no 'linux /boot/vmlinuz ...' line in /boot/grub/grub.cfg`);
  return { kernel, initrd, append: m[1]!.trim() };
}

/** The ISO written to a 512 MiB stick, as `emt-usb flash` or dd would leave it. */
export async function stickImage(iso: string, out: string): Promise<string> {
  await copyFile(iso, out);
  execFileSync('truncate', ['-s', '512M', out]);
  return out;
}

export interface InstallOptions {
  iso: string;
  workDir: string;
  /** `stick`: boot the stick through OVMF; `hotplug`: boot `boot` directly, plug the stick in later. */
  mode: 'stick' | 'hotplug';
  /** Needed for `hotplug` (isoBootFiles). */
  boot?: IsoBoot;
  /** Milliseconds between the installer's "waiting" line and the plug (hotplug). */
  plugDelayMs?: number;
  timeoutMs?: number;
}

export interface InstallRun extends BootVmResult {
  stick: string;
  nvme: string;
  /** Milliseconds after QEMU started when the stick was plugged in (hotplug). */
  pluggedAtMs?: number;
}

/** One install onto a fresh 4 GiB NVMe image; `matched` means it completed and powered off. */
export async function installVm(o: InstallOptions): Promise<InstallRun> {
  await mkdir(o.workDir, { recursive: true });
  const stick = await stickImage(o.iso, join(o.workDir, 'stick.img'));
  const nvme = join(o.workDir, 'nvme.img');
  execFileSync('truncate', ['-s', '4G', nvme]);
  const common = {
    firmware: 'ovmf' as const,
    nvme: [nvme],
    timeoutMs: o.timeoutMs ?? 900_000,
    waitFor: INSTALL_DONE,
    failOn: [FAILED_LINE, /Kernel panic/],
    workDir: join(o.workDir, 'vm'),
  };
  if (o.mode === 'stick') return { ...(await bootVm({ ...common, usbStick: stick })), stick, nvme };
  if (!o.boot) throw new Error('installVm: hotplug needs the ISO boot files');
  const socket = join(o.workDir, 'mon.sock');
  const started = Date.now();
  let pluggedAtMs: number | undefined;
  const r = await bootVm({
    ...common,
    ...o.boot,
    usbController: true,
    monitorSocket: socket,
    on: [
      {
        match: WAITING_FOR_MEDIUM,
        run: async () => {
          await new Promise((res) => setTimeout(res, o.plugDelayMs ?? 2000));
          await hotplugUsbStick(socket, stick);
          pluggedAtMs = Date.now() - started;
        },
      },
    ],
  });
  return pluggedAtMs === undefined ? { ...r, stick, nvme } : { ...r, stick, nvme, pluggedAtMs };
}

interface Part {
  start: number;
  size: number;
  name: string;
}

/** GPT partitions of an image file, by `sfdisk -d` (sectors of 512 bytes). */
export function partitions(image: string): Part[] {
  const out = execFileSync('sfdisk', ['-d', image], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return [
    ...out.matchAll(/start=\s*(\d+), size=\s*(\d+), type=[0-9A-F-]+,[^\n]*?(?:name="([^"]*)")?\n/g),
  ].map((m) => ({ start: Number(m[1]), size: Number(m[2]), name: m[3] ?? '' }));
}

/** The stick's EMTCONFIG partition (a FAT labelled EMTCONFIG), extracted to `out`. */
export function emtconfigImage(stick: string, out: string): string {
  for (const p of partitions(stick)) {
    execFileSync('dd', [
      `if=${stick}`,
      `of=${out}`,
      'bs=512',
      `skip=${p.start}`,
      `count=${p.size}`,
      'status=none',
    ]);
    let label = '';
    try {
      label = execFileSync('blkid', ['-p', '-o', 'value', '-s', 'LABEL', out], { encoding: 'utf8' }).trim();
    } catch {
      // blkid exits 2 for a partition without a label.
    }
    if (label === 'EMTCONFIG') return out;
  }
  throw new Error(`no EMTCONFIG partition on ${stick}`);
}

const mtools = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
/** The install logs the installer left in EMTCONFIG's logs/ (file contents). */
export function stickLogs(stick: string, workDir: string): string[] {
  const img = emtconfigImage(stick, join(workDir, 'emtconfig.img'));
  return execFileSync('mdir', ['-i', img, '-b', '::/logs'], { encoding: 'utf8', env: mtools })
    .split('\n')
    .filter(Boolean)
    .map((f) => execFileSync('mtype', ['-i', img, f], { encoding: 'utf8', env: mtools }));
}
