// Independent validation of ISOs made by the build job from the real gzip sample
// bootkit: each property is checked by a tool we did not write (xorriso's own
// reports, sgdisk, fsck.fat, mtools, 7z, bsdtar, sha256sum), and the same inputs
// must give the same bytes twice and on both xorriso engines.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha512Crypt } from '../../electron/config/sha512-crypt.ts';
import { bootLoaders } from '../../electron/iso/boot-loaders.ts';
import { type BuildJobOptions, type BuildJobResult, buildInstaller } from '../../electron/jobs/build.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { seededBytes } from './build-fixture.ts';

const EPOCH = 1_764_115_200;
let dir: string;
let base: Omit<BuildJobOptions, 'out'>;
let efi: BuildJobResult;
let bios: BuildJobResult;

const run = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
const sha256sum = (p: string): string => run('sha256sum', [p]).slice(0, 64);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-validate-'));
  const kit = await sampleBootkit('gzip');
  const os = join(dir, 'emt-os-1.0.raw.gz');
  // What its name says: a gzip stream (of incompressible bytes, so it stays 6 MiB).
  await writeFile(os, gzipSync(seededBytes('validate-os', 6 * 2 ** 20 + 3), { level: 1 }));
  await writeFile(`${os}.sha256`, `${sha256sum(os)}  emt-os-1.0.raw.gz\n`);
  const config = join(dir, 'site.json');
  await writeFile(config, JSON.stringify({ user_name: 'edge', host_type: 'container', hostname: 'edge-01' }));
  // A pre-hashed password: a plaintext gets a random salt each build (by design), so
  // byte-for-byte reproducible builds take the $6$ hash itself.
  const pw = join(dir, 'password.txt');
  await writeFile(pw, `${sha512Crypt('correct horse battery staple', 'validateSalt0123')}\n`);
  // A snapshot of installer-scripts/: the ISOs compared below must get the same scripts.
  const scripts = join(dir, 'installer-scripts');
  await cp(fileURLToPath(new URL('../../installer-scripts/', import.meta.url)), scripts, { recursive: true });
  const apps = join(dir, 'apps');
  await mkdir(join(apps, 'bin'), { recursive: true });
  await writeFile(join(apps, 'bin', 'hello.sh'), '#!/bin/sh\necho hello\n');
  base = {
    bootkit: kit.tarball,
    osImage: os,
    osImageSha256: `${os}.sha256`,
    config,
    passwordFile: pw,
    userApps: apps,
    cmdline: 'quiet',
    sourceDateEpoch: EPOCH,
    engine: 'native',
    installerScripts: scripts,
  };
  await mkdir(join(dir, 'out'));
  efi = await buildInstaller({ ...base, out: join(dir, 'out', 'efi.iso') });
  bios = await buildInstaller({ ...base, bios: true, label: 'EMT_BIOS', out: join(dir, 'out', 'bios.iso') });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface GptEntry {
  n: number;
  start: number;
  end: number;
  code: string;
  name: string;
}
function gpt(iso: string): GptEntry[] {
  return run('sgdisk', ['-p', iso])
    .split('\n')
    .map((l) => /^\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+ \S+\s+(\w{4})\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      n: Number(m[1]),
      start: Number(m[2]),
      end: Number(m[3]),
      code: m[4]!,
      name: m[5]!.trim(),
    }));
}

/** Copies one GPT partition out of the image (dd, not our code). */
function extractPartition(iso: string, p: GptEntry, out: string): string {
  run('dd', [
    `if=${iso}`,
    `of=${out}`,
    'bs=512',
    `skip=${p.start}`,
    `count=${p.end - p.start + 1}`,
    'status=none',
  ]);
  return out;
}

describe('a built ISO, checked by other tools', () => {
  it('has the EFI El Torito entry on the ESP and a GPT with ESP and EMTCONFIG (xorriso report)', () => {
    const report = run('xorriso', [
      '-indev',
      efi.iso,
      '-report_el_torito',
      'plain',
      '-report_system_area',
      'plain',
    ]);
    const boots = report.split('\n').filter((l) => l.startsWith('El Torito boot img :'));
    expect(boots).toHaveLength(1);
    const m = /El Torito boot img :\s+1\s+UEFI\s+y\s+none\s+0x0000\s+0x00\s+(\d+)\s+(\d+)/.exec(boots[0]!);
    expect(m, report).not.toBeNull();
    // The El Torito EFI image is exactly GPT partition 2 (the ESP).
    const esp = gpt(efi.iso).find((p) => p.n === 2)!;
    expect(Number(m![2]) * 4).toBe(esp.start);
    expect(Number(m![1])).toBe(esp.end - esp.start + 1);
    expect(report).toMatch(/GPT type GUID\s+:\s+2\s+28732ac11ff8d211ba4b00a0c93ec93b/);
    expect(report).toMatch(/GPT type GUID\s+:\s+3\s+a2a0d0ebe5b9334487c068b6b72699c7/);
    expect(report).toMatch(/MBR partition\s+:\s+1\s+0x00\s+0xee/);
    expect(report).toMatch(/Partition offset\s+:\s+16/);
    const pvd = run('xorriso', ['-indev', efi.iso, '-pvd_info']);
    expect(pvd).toMatch(/Volume Id\s+:\s+EMT_INST_20251126/);
  });

  it('with --bios also has the BIOS entry first and GRUB in the MBR', () => {
    const report = run('xorriso', [
      '-indev',
      bios.iso,
      '-report_el_torito',
      'plain',
      '-report_system_area',
      'plain',
    ]);
    expect(report).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+4\s+\d+/);
    expect(report).toMatch(/El Torito boot img :\s+2\s+UEFI\s+y\s+none/);
    expect(report).toMatch(/El Torito img path :\s+1\s+\/boot\/grub\/i386-pc\/eltorito\.img/);
    expect(report).toMatch(/System area summary: MBR .*grub2-mbr.* GPT/);
    // The hybrid MBR's boot code is GRUB's boot_hybrid.img (first 440 bytes).
    const mbr = execFileSync('head', ['-c', '440', bios.iso]);
    const hybrid = execFileSync('head', ['-c', '440', bootLoaders().biosHybridMbr]);
    // xorriso patches the boot_hybrid.img location fields (offsets 0x1b0..0x1b7), the rest is GRUB's.
    expect(mbr.subarray(0, 0x1b0).equals(hybrid.subarray(0, 0x1b0))).toBe(true);
  });

  it('passes sgdisk -v, with partitions 2 = ESP and 3 = basic data, named so', () => {
    for (const r of [efi, bios]) {
      expect(run('sgdisk', ['-v', r.iso])).toMatch(/No problems found/);
      const parts = gpt(r.iso);
      expect(parts.map((p) => [p.n, p.code, p.name])).toEqual([
        [1, '0700', 'ISO9660'],
        [2, 'EF00', 'ESP'],
        [3, '0700', 'EMTCONFIG'],
      ]);
    }
  });

  it('has the names in the backup GPT too: sgdisk reads them with the primary header gone', async () => {
    const broken = join(dir, 'no-primary.iso');
    const bytes = await readFile(efi.iso);
    bytes.fill(0, 512, 1024);
    await writeFile(broken, bytes);
    // sgdisk falls back to the backup table (and warns on stderr).
    const out = execFileSync('sgdisk', ['-p', broken], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toMatch(/^\s+2\s+\d+\s+\d+\s+\S+ \S+\s+EF00\s+ESP$/m);
    expect(out).toMatch(/^\s+3\s+\d+\s+\d+\s+\S+ \S+\s+0700\s+EMTCONFIG$/m);
    await rm(broken);
  });

  it('has FAT partitions that fsck.fat passes, holding GRUB and the site config', async () => {
    const parts = gpt(efi.iso);
    const esp = extractPartition(efi.iso, parts[1]!, join(dir, 'esp.part'));
    const cfg = extractPartition(efi.iso, parts[2]!, join(dir, 'cfg.part'));
    run('fsck.fat', ['-n', esp]);
    run('fsck.fat', ['-n', cfg]);
    expect(run('blkid', ['-p', '-s', 'LABEL', '-o', 'value', cfg]).trim()).toBe('EMTCONFIG');
    expect(run('blkid', ['-p', '-s', 'TYPE', '-o', 'value', cfg]).trim()).toBe('vfat');
    run('mcopy', ['-i', esp, '::/EFI/BOOT/BOOTX64.EFI', join(dir, 'esp-grub.efi')]);
    expect(sha256sum(join(dir, 'esp-grub.efi'))).toBe(sha256sum(bootLoaders().efi));
    run('mcopy', ['-i', cfg, '::/emt/config.env', join(dir, 'config.env')]);
    expect(await readFile(join(dir, 'config.env'), 'utf8')).toMatch(/^hostname=edge-01$/m);
    run('mcopy', ['-i', cfg, '::/emt/password.hash', join(dir, 'password.hash')]);
    const hash = (await readFile(join(dir, 'password.hash'), 'utf8')).trim();
    expect(hash).toMatch(/^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    // The plaintext is on no partition and nowhere in the image.
    expect((await readFile(efi.iso)).includes('correct horse battery staple')).toBe(false);
    // The manifest's partition hashes are those of the partitions on disk.
    expect(efi.manifest.partitions.esp.sha256).toBe(sha256sum(esp));
    expect(efi.manifest.partitions.config.sha256).toBe(sha256sum(cfg));
  });

  it('lists the same tree in 7z and bsdtar, and the manifest hashes match the files', async () => {
    const want = [
      '.disk/info',
      '.disk/emt-installer',
      'emt-installer.json',
      'boot/vmlinuz',
      'boot/initrd.img',
      'boot/grub/grub.cfg',
      'EFI/BOOT/BOOTX64.EFI',
      'images/emt-os-1.0.raw.gz',
      'images/emt-os-1.0.raw.gz.sha256',
      'user-apps/bin/hello.sh',
    ];
    const tar = run('bsdtar', ['-tf', efi.iso])
      .split('\n')
      .map((l) => l.replace(/^\.\//, '').replace(/\/$/, ''));
    const sevenZ = run('7z', ['l', '-ba', efi.iso])
      .split('\n')
      .map((l) => l.slice(53).trim());
    for (const p of want) {
      expect(tar).toContain(p);
      expect(sevenZ).toContain(p);
    }
    const x = join(dir, 'x');
    await mkdir(x);
    run('bsdtar', ['-xf', efi.iso, '-C', x]);
    const m = JSON.parse(await readFile(join(x, 'emt-installer.json'), 'utf8'));
    expect(m.files.length).toBe(7);
    for (const f of m.files) expect(sha256sum(join(x, f.path)), f.path).toBe(f.sha256);
    expect(m.osImage.sha256).toBe(sha256sum(base.osImage));
    expect(m.bootkit.kernelVersion).toMatch(/^6\.1\./);
    expect(m.configSchemaVersion).toBe(1);
    expect(m.kernelCmdline).toMatch(
      /^root=tmpfs rootflags=mode=0755 rd\.skipfsck noresume modules-load=nbd .* quiet$/,
    );
    const grubCfg = await readFile(join(x, 'boot/grub/grub.cfg'), 'utf8');
    expect(grubCfg).toContain(`linux /boot/vmlinuz ${m.kernelCmdline}`);
    // The injected initramfs carries the build id for the installer.
    expect(await readFile(join(x, '.disk/emt-installer'), 'utf8')).toBe(
      `build_id=${m.buildId}\nlabel=EMT_INST_20251126\n`,
    );
    expect(efi.sha256).toBe(sha256sum(efi.iso));
    expect(await readFile(`${efi.iso}.sha256`, 'utf8')).toBe(`${efi.sha256}  efi.iso\n`);
  });

  it('gives the same bytes for the same inputs, built again', async () => {
    const again = await buildInstaller({ ...base, out: join(dir, 'out', 'again.iso') });
    expect(again.sha256).toBe(efi.sha256);
    expect(again.manifest.buildId).toBe(efi.manifest.buildId);
    const later = await buildInstaller({
      ...base,
      sourceDateEpoch: EPOCH + 86_400,
      out: join(dir, 'out', 'later.iso'),
    });
    expect(later.sha256).not.toBe(efi.sha256);
    expect(later.manifest.label).toBe('EMT_INST_20251127');
  });

  it('gives the same bytes with the wasm xorriso engine', async () => {
    const wasm = await buildInstaller({ ...base, engine: 'wasm', out: join(dir, 'out', 'wasm.iso') });
    expect(wasm.engine).toBe('wasm');
    expect(wasm.sha256).toBe(efi.sha256);
    const wasmBios = await buildInstaller({
      ...base,
      engine: 'wasm',
      bios: true,
      label: 'EMT_BIOS',
      out: join(dir, 'out', 'wasm-bios.iso'),
    });
    expect(wasmBios.sha256).toBe(bios.sha256);
  });
});
