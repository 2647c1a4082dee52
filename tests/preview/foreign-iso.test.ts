// Preview of ISOs we did not build, made here by the tools people use: a plain
// `xorriso -as mkisofs` EFI ISO (EFI image as a file and as an appended MBR
// partition) and a grub-mkrescue ISO in today's workflow's shape (scripts in
// /etc/scripts, start-provision.service, a config-file with a plaintext passwd).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewImage } from '../../electron/preview/preview.ts';
import type { PreviewReport } from '../../electron/preview/report.ts';
import { fakeBzImage, makeSyntheticBootkit, SYNTHETIC_VERSION } from '../fixtures/synthetic-bootkit.ts';

let dir: string;
let plain: PreviewReport;
let legacy: PreviewReport;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const run = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, stdio: 'pipe' });

const PROVISION = '#!/bin/bash\nset -e\necho provisioning\n';
const CONFIG_FILE =
  'http_proxy="http://u:hunter2pw@proxy.example:911"\nuser_name="edge"\nhost_type="container"\npasswd="Plaintext-Secret-1"\nlvm_size_ingb="0"\n';

async function plainEfiIso(): Promise<string> {
  const tree = join(dir, 'plain');
  await mkdir(join(tree, 'boot/grub'), { recursive: true });
  const kit = makeSyntheticBootkit('gzip', dir);
  await writeFile(join(tree, 'boot/vmlinuz'), await readFile(kit.kernel));
  await writeFile(join(tree, 'boot/initrd.img'), await readFile(kit.initramfs));
  await writeFile(
    join(tree, 'boot/grub/grub.cfg'),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: GRUB's own ${var} syntax
    'set root_opts=\'root=/dev/ram0 ro\'\nmenuentry "Plain Linux" {\n  linux /boot/vmlinuz ${root_opts} console=ttyS0\n  initrd /boot/initrd.img\n}\n',
  );
  const efi = join(tree, 'boot/efi.img');
  run('mkfs.fat', ['-C', '-n', 'PLAINESP', efi, '2048']);
  run('mmd', ['-i', efi, '::/EFI', '::/EFI/BOOT']);
  await writeFile(join(dir, 'BOOTX64.EFI'), Buffer.concat([Buffer.from('MZ'), Buffer.alloc(2000)]));
  await writeFile(
    join(dir, 'esp-grub.cfg'),
    'search --file --set=root /boot/vmlinuz\nconfigfile /boot/grub/grub.cfg\n',
  );
  run('mcopy', ['-i', efi, join(dir, 'BOOTX64.EFI'), '::/EFI/BOOT/BOOTX64.EFI']);
  run('mcopy', ['-i', efi, join(dir, 'esp-grub.cfg'), '::/EFI/BOOT/grub.cfg']);
  const iso = join(dir, 'plain.iso');
  run('xorriso', [
    '-as',
    'mkisofs',
    '-R',
    '-J',
    '-V',
    'PLAIN_EFI',
    '-o',
    iso,
    '-e',
    'boot/efi.img',
    '-no-emul-boot',
    '-append_partition',
    '2',
    '0xef',
    efi,
    tree,
  ]);
  return iso;
}

async function legacyIso(): Promise<string> {
  const root = join(dir, 'legacy-rootfs');
  await mkdir(join(root, 'etc/scripts'), { recursive: true });
  await mkdir(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await writeFile(join(root, 'etc/scripts/provision.sh'), PROVISION, { mode: 0o755 });
  await writeFile(join(root, 'etc/scripts/config-file'), CONFIG_FILE);
  await writeFile(
    join(root, 'etc/systemd/system/start-provision.service'),
    '[Service]\nExecStart=/etc/scripts/provision.sh\n',
  );
  await writeFile(join(root, 'usr/bin/bash'), '#!fake\n', { mode: 0o755 });
  const work = join(dir, 'legacy-work');
  await mkdir(work, { recursive: true });
  run('tar', ['-czf', join(work, 'rootfs.tar.gz'), '-C', root, '.']);
  run('bash', ['-c', 'echo rootfs.tar.gz | cpio -o -H newc --quiet | gzip -9 > initrd.img'], work);
  const tree = join(dir, 'legacy');
  await mkdir(join(tree, 'boot/grub'), { recursive: true });
  await writeFile(join(tree, 'boot/vmlinuz'), fakeBzImage(`${SYNTHETIC_VERSION} (legacy@test) #1 SMP`));
  await writeFile(join(tree, 'boot/initrd.img'), await readFile(join(work, 'initrd.img')));
  await writeFile(
    join(tree, 'boot/grub/grub.cfg'),
    'set timeout=5\nset kopts="console=ttyS0,115200 root=tmpfs"\nsubmenu "EMT" {\n  menuentry "Provision EMT" --class os {\n    linux /boot/vmlinuz $kopts quiet; initrd /boot/initrd.img\n  }\n}\n',
  );
  const iso = join(dir, 'legacy.iso');
  run('grub-mkrescue', ['-o', iso, tree]);
  return iso;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-preview-foreign-'));
  plain = (await previewImage(await plainEfiIso())).report;
  legacy = (await previewImage(await legacyIso())).report;
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('preview of a plain xorriso -as mkisofs EFI ISO', () => {
  it('shows its one UEFI El Torito entry, the appended EFI partition and what boots', () => {
    expect(plain.ours).toBe(false);
    expect(plain.manifest).toBeNull();
    expect(plain.volume?.id).toBe('PLAIN_EFI');
    expect(plain.boot.entries.map((e) => [e.platform, e.emulation, e.image])).toEqual([
      ['uefi', 'none', '/boot/efi.img'],
    ]);
    expect(plain.boot.entries[0]!.size).toBe(2048 * 1024);
    const esp = plain.partitions.find((p) => p.type === 'ef');
    expect(esp).toMatchObject({ table: 'mbr', number: 2, typeName: 'EFI System', size: 2048 * 1024 });
    expect(esp?.filesystem).toEqual({ type: 'FAT12', label: 'PLAINESP' });
    expect(plain.boot).toMatchObject({ hybrid: true, bios: { cd: false }, uefi: { cd: true, usb: true } });
    expect(plain.boot.secureBoot.chain).toBe(false);
  });

  it('reads grub.cfg on the ISO and inside the EFI image, the kernel and the initramfs', () => {
    expect(plain.grub.map((g) => g.file)).toEqual(['/boot/grub/grub.cfg', 'esp:EFI/BOOT/grub.cfg']);
    expect(plain.grub[0]!.entries).toEqual([
      {
        title: 'Plain Linux',
        path: [],
        kernel: '/boot/vmlinuz',
        initrd: ['/boot/initrd.img'],
        cmdline: 'root=/dev/ram0 ro console=ttyS0',
      },
    ]);
    expect(plain.grub[1]!.includes).toEqual(['/boot/grub/grub.cfg']);
    expect(plain.kernel.version).toBe(SYNTHETIC_VERSION);
    expect(plain.kernel.signed).toBe(false);
    expect(plain.initramfs.segments.map((s) => s.codec)).toEqual(['gzip']);
    expect(plain.initramfs.rootfs.present).toBe(true);
    expect(plain.installer.kind).toBeNull();
    expect(plain.config.source).toBeNull();
    expect(plain.boot.catalog).toBe('/boot.catalog');
    expect(plain.files.map((f) => f.path)).toEqual([
      '/boot.catalog',
      '/boot/efi.img',
      '/boot/grub/grub.cfg',
      '/boot/initrd.img',
      '/boot/vmlinuz',
    ]);
  });
});

describe("preview of a grub-mkrescue ISO from today's workflow", () => {
  it('shows BIOS and UEFI El Torito entries and the grub.cfg entry inside its submenu', () => {
    expect(legacy.ours).toBe(false);
    expect(legacy.boot.entries.map((e) => [e.platform, e.emulation])).toEqual([
      ['bios', 'none'],
      ['uefi', 'none'],
    ]);
    expect(legacy.boot.bios.cd).toBe(true);
    expect(legacy.boot.uefi.cd).toBe(true);
    expect(legacy.esp?.files.map((f) => f.path)).toContain('efi/boot/bootx64.efi');
    const g = legacy.grub.find((x) => x.file === '/boot/grub/grub.cfg')!;
    expect(g.entries).toEqual([
      {
        title: 'Provision EMT',
        path: ['EMT'],
        kernel: '/boot/vmlinuz',
        initrd: ['/boot/initrd.img'],
        cmdline: 'console=ttyS0,115200 root=tmpfs quiet',
      },
    ]);
    expect(legacy.kernel.version).toBe(SYNTHETIC_VERSION);
  });

  it('finds the scripts in /etc/scripts and start-provision.service, with their sha256', () => {
    expect(legacy.installer.kind).toBe('legacy');
    expect(legacy.installer.unit?.path).toBe('/etc/systemd/system/start-provision.service');
    const f = new Map(legacy.installer.files.map((x) => [x.path, x]));
    expect(f.get('/etc/scripts/provision.sh')).toMatchObject({
      sha256: sha(Buffer.from(PROVISION)),
      size: PROVISION.length,
      mode: 0o755,
    });
    expect(f.has('/etc/scripts/config-file')).toBe(true);
    expect(legacy.missingTools).toContain('systemd');
  });

  it('shows its config-file with the plaintext password and proxy credentials masked', () => {
    expect(legacy.config.source).toBe('config-file');
    expect(legacy.config.location).toBe('/etc/scripts/config-file');
    expect(legacy.config.values.user_name).toBe('edge');
    expect(legacy.config.values.passwd).toMatch(/masked/);
    expect(legacy.config.values.http_proxy).toBe('http://u:(masked)@proxy.example:911');
    const all = JSON.stringify(legacy);
    expect(all).not.toContain('Plaintext-Secret-1');
    expect(all).not.toContain('hunter2pw');
  });
});

describe('Secure Boot chain', () => {
  it("is seen when the EFI image holds Debian's signed shim and signed GRUB", async () => {
    const tree = join(dir, 'sb');
    await mkdir(join(tree, 'boot'), { recursive: true });
    const efi = join(tree, 'boot/efi.img');
    run('mkfs.fat', ['-C', '-n', 'SBESP', efi, '8192']);
    run('mmd', ['-i', efi, '::/EFI', '::/EFI/BOOT']);
    run('mcopy', ['-i', efi, '/usr/lib/shim/shimx64.efi.signed', '::/EFI/BOOT/BOOTX64.EFI']);
    run('mcopy', ['-i', efi, '/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed', '::/EFI/BOOT/grubx64.efi']);
    run('mcopy', ['-i', efi, '/usr/lib/shim/mmx64.efi.signed', '::/EFI/BOOT/mmx64.efi']);
    const iso = join(dir, 'sb.iso');
    run('xorriso', [
      '-as',
      'mkisofs',
      '-R',
      '-V',
      'SB',
      '-o',
      iso,
      '-e',
      'boot/efi.img',
      '-no-emul-boot',
      tree,
    ]);
    const r = (await previewImage(iso)).report;
    expect(r.boot.secureBoot.chain).toBe(true);
    expect(r.boot.secureBoot.shim).toBe('esp:EFI/BOOT/BOOTX64.EFI');
    const roles = Object.fromEntries(r.boot.efiBinaries.map((b) => [b.path, [b.role, b.signed]]));
    expect(roles).toEqual({
      'esp:EFI/BOOT/BOOTX64.EFI': ['shim', true],
      'esp:EFI/BOOT/grubx64.efi': ['grub', true],
      'esp:EFI/BOOT/mmx64.efi': ['mokmanager', true],
    });
    // Without a partition table the EFI image is found through El Torito alone.
    expect(r.esp?.location).toBe('/boot/efi.img');
    expect(r.boot.uefi).toEqual({ cd: true, usb: false });
  });
});

describe('names without Rock Ridge', () => {
  it('come from Joliet when the ISO has it, else from the primary tree', async () => {
    const tree = join(dir, 'names');
    await mkdir(join(tree, 'Some Folder'), { recursive: true });
    await writeFile(join(tree, 'Some Folder', 'A long file name.txt'), 'hello');
    const joliet = join(dir, 'joliet.iso');
    // xorriso -as mkisofs always writes Rock Ridge: its own commands can leave it out.
    run('xorriso', [
      '-outdev',
      joliet,
      '-rockridge',
      'off',
      '-joliet',
      'on',
      '-volid',
      'JOLIET',
      '-map',
      tree,
      '/',
    ]);
    const j = (await previewImage(joliet)).report;
    expect(j.volume?.names).toBe('joliet');
    expect(j.files).toEqual([{ path: '/Some Folder/A long file name.txt', size: 5 }]);
    const bare = join(dir, 'bare.iso');
    run('xorriso', ['-outdev', bare, '-rockridge', 'off', '-volid', 'BARE', '-map', tree, '/']);
    const b = (await previewImage(bare)).report;
    expect(b.volume?.names).toBe('iso9660');
    expect(b.files).toEqual([{ path: '/SOME_FOLDER/A_LONG_FILE_NAME.TXT', size: 5 }]);
    expect(b.boot.entries).toEqual([]);
    expect(b.boot.hybrid).toBe(false);
  });
});

describe('a hostile rootfs.tar.gz', () => {
  it('is named in a warning, the rest of the report stands', async () => {
    const work = join(dir, 'evil');
    await mkdir(join(work, 'tree/boot'), { recursive: true });
    run(
      'python3',
      [
        '-c',
        "import tarfile,io\nt=tarfile.open('rootfs.tar.gz','w:gz')\ni=tarfile.TarInfo('../escape.sh');d=b'x'\ni.size=len(d);t.addfile(i,io.BytesIO(d));t.close()",
      ],
      work,
    );
    run('bash', ['-c', 'echo rootfs.tar.gz | cpio -o -H newc --quiet | gzip > tree/boot/initrd.img'], work);
    await writeFile(join(work, 'tree/boot/vmlinuz'), fakeBzImage(`${SYNTHETIC_VERSION} (evil) #1`));
    const iso = join(work, 'evil.iso');
    run('xorriso', ['-as', 'mkisofs', '-R', '-V', 'EVIL', '-o', iso, join(work, 'tree')]);
    const r = (await previewImage(iso)).report;
    expect(r.kernel.version).toBe(SYNTHETIC_VERSION);
    expect(r.initramfs.path).toBe('/boot/initrd.img');
    expect(r.warnings).toEqual([expect.stringMatching(/'\.\.\/escape\.sh'/)]);
    expect(r.installer.files).toEqual([]);
  });
});
