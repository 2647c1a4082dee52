// The Standalone Node installer end to end (issue 4): the sample bootkit + the
// EMT-like test OS image + a site config -> `emt-usb build` -> the ISO as a raw
// USB stick -> QEMU/OVMF (TCG) with a blank NVMe disk: installer-scripts run
// unattended and power off. Then host-side checks on the NVMe image (partitions,
// /etc/shadow hash, authorized_keys, proxies, network, cloud-init, LVM PV/VG, the
// EFI boot entry in the VARS copy, the log on EMTCONFIG), and the NVMe disk boots
// on its own through that entry. A second VM without any disk shows the failure
// path: one clear console line, the log on the stick, nothing else touched.
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emtOsImage, OS_BOOTED, OS_DONE } from '../fixtures/emt-os-image.ts';
import { sampleBootkitOs } from '../fixtures/sample-bootkit-os.ts';
import { bootVm, tail } from './qemu.ts';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const isRoot = process.getuid?.() === 0;
const PASSWORD = 'S3cret pw! "$(touch /canary)"';
const FAILED_LINE = /\]: emt-installer: failed: (.*)/;

let work = '';
let iso = '';
let sshKey = '';

interface Part {
  start: number;
  size: number;
  name: string;
  type: string;
}

/** GPT partitions of an image file, by `sfdisk -d` (sectors of 512 bytes). */
function partitions(image: string): Part[] {
  const out = execFileSync('sfdisk', ['-d', image], { encoding: 'utf8' });
  return [
    ...out.matchAll(/start=\s*(\d+), size=\s*(\d+), type=([0-9A-F-]+),[^\n]*?(?:name="([^"]*)")?\n/g),
  ].map((m) => ({ start: Number(m[1]), size: Number(m[2]), type: m[3]!, name: m[4] ?? '' }));
}

function extract(image: string, p: Part, out: string): string {
  execFileSync('dd', [
    `if=${image}`,
    `of=${out}`,
    'bs=512',
    `skip=${p.start}`,
    `count=${p.size}`,
    'status=none',
  ]);
  return out;
}

const debugfsCat = (fs: string, path: string): string =>
  execFileSync('debugfs', ['-R', `cat ${path}`, fs], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });

/** The stick's EMTCONFIG partition (a FAT labelled EMTCONFIG), extracted. */
function emtconfig(stick: string, out: string): string {
  for (const p of partitions(stick)) {
    const img = extract(stick, p, out);
    const label = execFileSync('blkid', ['-p', '-o', 'value', '-s', 'LABEL', img], {
      encoding: 'utf8',
    }).trim();
    if (label === 'EMTCONFIG') return img;
  }
  throw new Error(`no EMTCONFIG partition on ${stick}`);
}

const mtools = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
const fatList = (img: string, dir: string): string[] =>
  execFileSync('mdir', ['-i', img, '-b', dir], { encoding: 'utf8', env: mtools }).split('\n').filter(Boolean);
const fatCat = (img: string, path: string): string =>
  execFileSync('mtype', ['-i', img, path], { encoding: 'utf8', env: mtools });

describe.skipIf(!isRoot)('installer-scripts in a VM: USB stick -> NVMe', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'emt-installer-vm-'));
    const [kitOs, os] = await Promise.all([sampleBootkitOs(), emtOsImage('gzip')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tech@site', '-f', join(work, 'key')]);
    sshKey = (await readFile(join(work, 'key.pub'), 'utf8')).trim();
    const config = join(work, 'config-file');
    // Today's config-file format (shell lines + YAML tail), with our additions.
    await writeFile(
      config,
      [
        'http_proxy="http://proxy.example.com:911"',
        'no_proxy="localhost,127.0.0.1"',
        `ssh_key="${sshKey}"`,
        'user_name="edge"',
        'host_type="container"',
        'static_ip="10.0.2.15"',
        'subnet_mask="24"',
        'default_gate_way="10.0.2.2"',
        'dns_name_server="10.0.2.3"',
        'lvm_size_ingb="1"',
        'USER_CUSTOM_NTP_SERVERS="pool.ntp.org"',
        'hostname="node-e2e"',
        'after_install="poweroff"',
        'services:',
        '  enable: [ssh]',
        '  disable: []',
        'write_files:',
        '  - path: /etc/emt-e2e.txt',
        "    permissions: '0600'",
        '    content: |',
        '      hello "$(touch /canary)"',
        'runcmd:',
        '  - echo done > /var/tmp/emt-e2e-runcmd',
        '',
      ].join('\n'),
    );
    await writeFile(join(work, 'password'), `${PASSWORD}\n`);
    iso = join(work, 'installer.iso');
    await run(
      process.execPath,
      [
        join(repo, 'bin/emt-usb.js'),
        'build',
        // From the Bootkit OS build output: the whole chain (iso-boot and flash-boot
        // tests build from the published bootkit tarball).
        '--bootkit-os',
        kitOs.tarball,
        '--os-image',
        os.image,
        '--os-image-sha256',
        os.sha256File,
        '--config',
        config,
        '--password-file',
        join(work, 'password'),
        '--out',
        iso,
      ],
      { cwd: repo, maxBuffer: 1 << 26 },
    );
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('installs unattended, configures the OS as asked, and the disk boots on its own', async () => {
    const stick = join(work, 'stick.img');
    await copyFile(iso, stick);
    execFileSync('truncate', ['-s', '512M', stick]);
    const nvme = join(work, 'nvme.img');
    execFileSync('truncate', ['-s', '4G', nvme]);

    const install = await bootVm({
      firmware: 'ovmf',
      usbStick: stick,
      nvme: [nvme],
      timeoutMs: 900_000,
      waitFor: [/emt-installer: start/, /emt-installer: done/, /reboot: Power down/],
      failOn: [FAILED_LINE, /Kernel panic/],
      workDir: join(work, 'vm-install'),
    });
    process.stdout.write(
      `installer-vm: install ${install.reason} after ${(install.elapsedMs / 1000).toFixed(0)} s\n`,
    );
    expect(install.matched, `install ${install.reason}:\n${tail(install.serialLog, 60)}`).toBe(true);
    for (let i = 1; i <= 8; i++) expect(install.serialLog).toContain(`emt-installer: step ${i}/8: `);
    expect(install.serialLog).toMatch(/emt-installer: target disk: \/dev\/nvme0n1 /);
    expect(install.serialLog).toMatch(/emt-installer: OS image written and verified/);

    // Partitions: the image's three by name, plus the LVM partition after them.
    const parts = partitions(nvme);
    expect(parts.map((p) => p.name)).toEqual(['esp', 'rootfs', 'edge_persistent', 'emt-lvm']);
    const lvm = parts[3]!;
    // edge_persistent grew into the free space, up to the LVM partition, and so did its ext4.
    const data = parts[2]!;
    expect(data.start + data.size).toBeGreaterThan(lvm.start - 8 * 2048);
    expect(data.size).toBeGreaterThan(2 * 1024 * 2048);
    // ext4 superblock at 1024: blocks_count_lo (u32 at +4), log_block_size (u32 at +24).
    const sb = (await readFile(extract(nvme, { ...data, size: 8 }, join(work, 'data-head.img')))).subarray(
      1024,
    );
    expect(sb.readUInt16LE(0x38)).toBe(0xef53);
    const blocks = sb.readUInt32LE(4) * (1024 << sb.readUInt32LE(24));
    expect(blocks).toBeGreaterThan(data.size * 512 - (4 << 20));
    expect(lvm.size * 512).toBeGreaterThanOrEqual(1e9);
    expect(execFileSync('sgdisk', ['-v', nvme], { encoding: 'utf8' })).toContain('No problems found');
    const pv = extract(nvme, { ...lvm, size: 2048 }, join(work, 'pv.img'));
    // An LVM2 PV label in sector 1 and the VG's text metadata after it.
    const pvHead = await readFile(pv);
    expect(pvHead.subarray(512, 520).toString('latin1')).toBe('LABELONE');
    expect(pvHead.subarray(536, 544).toString('latin1')).toBe('LVM2 001');
    expect((await readFile(pv)).includes(Buffer.from('lvmvg {'))).toBe(true);

    // The installed rootfs, read without mounting.
    const rootfs = extract(nvme, parts[1]!, join(work, 'rootfs.img'));
    execFileSync('e2fsck', ['-fn', rootfs], { stdio: 'ignore' });
    const shadow = debugfsCat(rootfs, '/etc/shadow');
    const line = shadow.split('\n').find((l) => l.startsWith('edge:'));
    expect(line, shadow).toBeDefined();
    const hash = line!.split(':')[1]!;
    expect(hash).toMatch(/^\$6\$[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$/);
    const salt = hash.split('$')[2]!;
    expect(
      execFileSync('openssl', ['passwd', '-6', '-salt', salt, PASSWORD], { encoding: 'utf8' }).trim(),
    ).toBe(hash);
    expect(debugfsCat(rootfs, '/home/edge/.ssh/authorized_keys').trim()).toBe(sshKey);
    const stat = execFileSync('debugfs', ['-R', 'stat /home/edge/.ssh/authorized_keys', rootfs], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(stat).toMatch(/Mode:\s+0600/);
    expect(stat).toMatch(/User:\s+1000\s+Group:\s+1000/);
    expect(debugfsCat(rootfs, '/etc/sudoers.d/90-emt-edge')).toBe('edge ALL=(ALL) NOPASSWD:ALL\n');
    expect(debugfsCat(rootfs, '/etc/group')).toMatch(/^sudo:x:27:edge$/m);
    const env = debugfsCat(rootfs, '/etc/environment');
    expect(env).toContain('http_proxy=http://proxy.example.com:911\n');
    expect(env).toContain('no_proxy=localhost,127.0.0.1\n');
    expect(env).toMatch(/^PATH=/m);
    expect(debugfsCat(rootfs, '/etc/hostname')).toBe('node-e2e\n');
    expect(debugfsCat(rootfs, '/etc/systemd/network/10-emt-static.network')).toContain(
      'Address=10.0.2.15/24\nGateway=10.0.2.2\nDNS=10.0.2.3\n',
    );
    expect(debugfsCat(rootfs, '/etc/systemd/timesyncd.conf.d/90-emt.conf')).toBe(
      '[Time]\nNTP=pool.ntp.org\n',
    );
    const cloud = debugfsCat(rootfs, '/etc/cloud/cloud.cfg.d/99-emt-installer.cfg');
    expect(cloud).toContain(`content: ${Buffer.from('hello "$(touch /canary)"\n').toString('base64')}`);
    expect(cloud).toContain("- [systemctl, enable, 'ssh']");
    expect(debugfsCat(rootfs, '/var/log/emt-installer.log')).toContain(
      'emt-installer: step 7/8: UEFI boot entry',
    );
    expect(
      execFileSync('debugfs', ['-R', 'ls /', rootfs], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    ).not.toMatch(/\bcanary\b/);

    // The UEFI boot entry persisted in the VARS copy (its label is stored in UTF-16).
    const vars = await readFile(install.varsFile!);
    expect(vars.includes(Buffer.from('Edge Microvisor Toolkit', 'utf16le'))).toBe(true);

    // The log on the stick's EMTCONFIG, and no plaintext password anywhere on it.
    const cfg = emtconfig(stick, join(work, 'emtconfig.img'));
    const logs = fatList(cfg, '::/logs');
    expect(logs.length).toBe(1);
    expect(fatCat(cfg, logs[0]!)).toContain('emt-installer: install complete');
    const plain = Buffer.from(PASSWORD.split(' ')[0]!);
    expect((await readFile(stick)).includes(plain)).toBe(false);
    expect((await readFile(iso)).includes(plain)).toBe(false);

    // Without the stick, the firmware boots the new entry and the OS comes up.
    const boot = await bootVm({
      firmware: 'ovmf',
      nvme: [nvme],
      varsFile: install.varsFile!,
      timeoutMs: 300_000,
      waitFor: [/BdsDxe: starting Boot[0-9A-F]{4} "Edge Microvisor Toolkit"/, OS_BOOTED, OS_DONE],
      failOn: [/emt-test-os: failed/, /Kernel panic/],
      workDir: join(work, 'vm-boot'),
    });
    process.stdout.write(
      `installer-vm: disk boot ${boot.reason} after ${(boot.elapsedMs / 1000).toFixed(0)} s\n`,
    );
    expect(boot.matched, `disk boot ${boot.reason}:\n${tail(boot.serialLog)}`).toBe(true);
    expect(boot.serialLog).toContain('emt-test-os: hostname=node-e2e');
    expect(boot.serialLog).toMatch(/emt-test-os: users=.*\bedge\b/);
    expect(boot.serialLog).toContain('emt-test-os: installer-log=yes');
  });

  it('with no disk to install to: one failed line on the console and the log on the stick', async () => {
    const stick = join(work, 'stick-nodisk.img');
    await copyFile(iso, stick);
    const r = await bootVm({
      firmware: 'ovmf',
      usbStick: stick,
      timeoutMs: 600_000,
      waitFor: [FAILED_LINE],
      failOn: [/emt-installer: done/, /Kernel panic/],
      workDir: join(work, 'vm-nodisk'),
    });
    expect(r.matched, `${r.reason}:\n${tail(r.serialLog)}`).toBe(true);
    expect(FAILED_LINE.exec(r.serialLog)![1]).toBe(
      'choose the target disk: no target disk found (no internal NVMe, SATA, virtio or eMMC disk besides the install medium)',
    );
    const cfg = emtconfig(stick, join(work, 'emtconfig-nodisk.img'));
    const logs = fatList(cfg, '::/logs');
    expect(logs.length).toBe(1);
    expect(fatCat(cfg, logs[0]!)).toContain(
      'emt-installer: failed: choose the target disk: no target disk found',
    );
  });
});
