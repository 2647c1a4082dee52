// The main job on an embedded default, no user files needed: make the sample
// bootkit and a small EMT-like OS image (Debian packages, cached), inspect the
// bootkit, build the installer ISO, and write it to a stick image, verified.
// Run with `npm run demo` after `npm run setup` (root: debootstrap needs it).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { emtOsImage } from '../tests/fixtures/emt-os-image.ts';
import { sampleBootkit } from '../tests/fixtures/sample-bootkit.ts';

const root = resolve(import.meta.dirname, '..');
const outDir = resolve(process.argv[2] ?? join(root, 'out', 'demo'));

function emtUsb(args: string[]): void {
  console.log(`\n$ emt-usb ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [join(root, 'bin', 'emt-usb.js'), ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`demo: emt-usb ${args[0]} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

mkdirSync(outDir, { recursive: true });
console.log('demo: preparing the sample bootkit and OS image (first run: a few minutes, then cached)');
const bootkit = await sampleBootkit('gzip');
const os = await emtOsImage('gzip');

// A random password, shown once; only its hash goes into the ISO.
const secrets = mkdtempSync(join(tmpdir(), 'emt-demo-'));
const password = randomBytes(9).toString('base64url');
const passwordFile = join(secrets, 'password');
writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });

const iso = join(outDir, 'emt-installer.iso');
const stick = join(outDir, 'stick.img');
try {
  emtUsb(['inspect', bootkit.tarball]);
  emtUsb([
    'build',
    '--bootkit',
    bootkit.tarball,
    '--os-image',
    os.image,
    '--os-image-sha256',
    os.sha256File,
    '--config',
    join(root, 'resources', 'demo', 'site-config.yaml'),
    '--password-file',
    passwordFile,
    '--out',
    iso,
  ]);
  emtUsb(['flash', iso, '--device', stick, '--yes']);
} finally {
  rmSync(secrets, { recursive: true, force: true });
}

console.log(`
demo: done.
  installer ISO : ${iso} (+ .sha256)
  stick image   : ${stick} (written and verified; dd it to a USB stick, or boot it in a VM)
  user edgeuser : password ${password} (stored only as a SHA-512 crypt hash)
Boot the stick in QEMU (UEFI) with a blank NVMe target disk:
  truncate -s 2G ${join(outDir, 'target.img')}
  cp /usr/share/OVMF/OVMF_VARS_4M.fd ${join(outDir, 'vars.fd')}
  qemu-system-x86_64 -machine q35 -accel tcg -m 2048 -smp 2 \\
    -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \\
    -drive if=pflash,format=raw,unit=1,file=${join(outDir, 'vars.fd')} \\
    -device qemu-xhci,id=xhci -drive if=none,id=stick,format=raw,file=${stick} \\
    -device usb-storage,bus=xhci.0,drive=stick \\
    -drive file=${join(outDir, 'target.img')},if=none,id=t,format=raw -device nvme,serial=t1,drive=t \\
    -nographic`);
