// Boot proof for `emt-usb flash`: an ISO from `emt-usb build` is written by
// `emt-usb flash` (with a per-stick EMTCONFIG image) to a real loop device whose
// stick had an old partition table; the loop device's backing file then boots
// under OVMF (TCG) as a USB stick, and the installer unit sees the per-stick
// EMTCONFIG partition (its FAT serial) on the medium it booted from.
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonResult } from '../cli/json-lines.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { bootVm, tail } from './qemu.ts';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const isRoot = process.getuid?.() === 0;

const PROBE = `#!/bin/bash
echo "emt-installer: start"
udevadm settle --timeout=30 >/dev/null 2>&1 || true
for _ in $(seq 1 20); do
  lsblk -rno LABEL 2>/dev/null | grep -qx EMTCONFIG && break
  sleep 1
done
lsblk -rno NAME,TYPE,FSTYPE,LABEL,UUID | sed 's/^/emt-installer: dev: /'
echo "emt-installer: done"
`;

let work: string;
let iso: string;

describe.skipIf(!isRoot)('a flashed loop device boots as a USB stick', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'emt-flash-boot-'));
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
    await writeFile(os, Buffer.alloc(4 << 20, 0x5a));
    iso = join(work, 'installer.iso');
    await run(
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
        '--source-date-epoch',
        '1764115200',
        '--out',
        iso,
      ],
      { cwd: repo, maxBuffer: 1 << 26 },
    );
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('emt-usb flash writes it with a per-stick config, verify passes, OVMF boots it from USB', async () => {
    // The per-stick EMTCONFIG image: same size as the partition, its own FAT serial.
    const info = execFileSync('sgdisk', ['-p', iso], { encoding: 'utf8' });
    const p3 = /^\s+3\s+(\d+)\s+(\d+)\s/m.exec(info);
    expect(p3, info).not.toBeNull();
    const sectors = Number(p3![2]) - Number(p3![1]) + 1;
    const cfg = join(work, 'stick-07.cfg.img');
    execFileSync('mkfs.fat', ['-C', '-n', 'EMTCONFIG', '-i', 'C0FFEE07', cfg, String(sectors / 2)], {
      stdio: 'ignore',
    });
    // flash checks a --config-image holds our emt/config.env before writing it.
    const env = join(work, 'config.env');
    await writeFile(env, 'format_version=1\nuser_name=edge\nhostname=stick-07\n');
    execFileSync('mmd', ['-i', cfg, '::/emt']);
    execFileSync('mcopy', ['-i', cfg, env, '::/emt/config.env']);

    // A stick bigger than the image that held another GPT before.
    const stick = join(work, 'stick.img');
    execFileSync('truncate', ['-s', String((await stat(iso)).size + (96 << 20)), stick]);
    execFileSync('sgdisk', ['-o', '-n', '1:2048:+16M', '-c', '1:OLD', stick], { stdio: 'ignore' });

    const dev = execFileSync('losetup', ['-f', '--show', stick], { encoding: 'utf8' }).trim();
    try {
      const { stdout } = await run(
        process.execPath,
        [
          join(repo, 'bin/emt-usb.js'),
          'flash',
          iso,
          '--device',
          dev,
          '--config-image',
          cfg,
          '--yes',
          '--json',
          '--log-dir',
          work,
        ],
        { cwd: repo },
      );
      const out = jsonResult(stdout);
      expect(out.results[0].status, out.results[0].message).toBe('ok');
      expect(out.results[0].verified).toBe(true);
      const v = await run(
        process.execPath,
        [join(repo, 'bin/emt-usb.js'), 'verify', iso, '--device', dev, '--config-image', cfg],
        { cwd: repo },
      );
      expect(v.stdout).toContain('byte for byte');
    } finally {
      execFileSync('losetup', ['-d', dev]);
    }

    const r = await bootVm({
      firmware: 'ovmf',
      usbStick: stick,
      memoryMiB: 2048,
      timeoutMs: 600_000,
      waitFor: [/emt-installer: start/, /emt-installer: done/],
      failOn: [/Kernel panic/, /emt-installer: failed/, /emt: installer filesystem not found/],
      workDir: join(work, 'vm'),
    });
    process.stdout.write(
      `flash-boot: ${r.reason} after ${(r.elapsedMs / 1000).toFixed(1)} s (${r.logPath})\n`,
    );
    expect(r.matched, `boot ${r.reason}:\n${tail(r.serialLog)}`).toBe(true);
    // The installer sees our per-stick partition (serial C0FFEE07), not the build-time one.
    expect(r.serialLog).toMatch(/emt-installer: dev: sd[a-z]3 part vfat EMTCONFIG C0FF-EE07/);
    expect(r.serialLog).not.toMatch(/emt-installer: dev: \S+ part \S* OLD/);
  });
});
