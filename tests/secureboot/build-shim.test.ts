// `emt-usb build --secure-boot shim` on the real sample bootkit: the ESP and the
// ISO carry shim, Debian's signed GRUB, MokManager and EFI/debian/grub.cfg (read
// back with mtools and xorriso, tools we did not write); the same inputs give the
// same bytes; an unsigned kernel is refused in one line with nothing left behind.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secureBootLines } from '../../electron/cli/build.ts';
import { main } from '../../electron/cli/index.ts';
import { shimLoaders } from '../../electron/iso/boot-loaders.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { seededBytes } from '../iso/build-fixture.ts';

const EPOCH = '1764115200';
let dir: string;
let kit: Awaited<ReturnType<typeof sampleBootkit>>;
let os: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-sb-build-'));
  kit = await sampleBootkit('gzip');
  os = join(dir, 'os.img');
  await writeFile(os, seededBytes('sb-os', 2 * 2 ** 20));
}, 600_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['build', ...args], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTty: false,
  });
  return { code, out, err };
}

const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

/** The ESP's byte offset: GPT partition 2 as sfdisk reads it. */
function espOffset(iso: string): number {
  const dump = execFileSync('sfdisk', ['-d', iso], { encoding: 'utf8' });
  const m = /2 : start=\s*(\d+).*type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B/i.exec(dump);
  return Number(m![1]) * 512;
}

describe('build --secure-boot shim', () => {
  let iso: string;
  let json: Record<string, unknown>;

  beforeAll(async () => {
    const out = join(dir, 'a');
    await mkdir(out);
    iso = join(out, 'shim.iso');
    const r = await cli([
      '--bootkit',
      kit.tarball,
      '--os-image',
      os,
      '--secure-boot',
      'shim',
      '--source-date-epoch',
      EPOCH,
      '--out',
      iso,
      '--json',
    ]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    json = JSON.parse(r.out.at(-1)!);
  }, 300_000);

  it('puts shim, signed GRUB, MokManager and the early config on the ESP, byte for byte', async () => {
    const s = shimLoaders();
    const img = `${iso}@@${espOffset(iso)}`;
    const get = (p: string) => {
      const f = join(dir, `esp-${p.replace(/\//g, '_')}`);
      execFileSync('mcopy', ['-n', '-i', img, `::/${p}`, f]);
      return sha(f);
    };
    expect(await get('EFI/BOOT/BOOTX64.EFI')).toBe(await sha(s.shim));
    expect(await get('EFI/BOOT/grubx64.efi')).toBe(await sha(s.grub));
    expect(await get('EFI/BOOT/mmx64.efi')).toBe(await sha(s.mokManager));
    expect(await get('EFI/debian/grub.cfg')).toBe(await sha(s.grubCfg));
    // The ESP is a clean FAT file system.
    const espFile = join(dir, 'esp.img');
    execFileSync(
      'dd',
      [`if=${iso}`, `of=${espFile}`, 'bs=512', `skip=${espOffset(iso) / 512}`, 'count=16384'],
      {
        stdio: 'pipe',
      },
    );
    execFileSync('fsck.fat', ['-n', espFile], { stdio: 'pipe' });
  });

  it('carries the same files in the ISO tree and lists them in the manifest', async () => {
    const s = shimLoaders();
    const x = join(dir, 'x');
    await mkdir(x);
    execFileSync(
      'osirrox',
      [
        '-indev',
        iso,
        '-extract',
        '/EFI',
        join(x, 'EFI'),
        '-extract',
        '/emt-installer.json',
        join(x, 'm.json'),
      ],
      { stdio: 'pipe' },
    );
    expect(await sha(join(x, 'EFI/BOOT/BOOTX64.EFI'))).toBe(await sha(s.shim));
    expect(await sha(join(x, 'EFI/BOOT/grubx64.efi'))).toBe(await sha(s.grub));
    const manifest = JSON.parse(await readFile(join(x, 'm.json'), 'utf8'));
    expect(manifest.secureBoot).toBe('shim');
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(
      expect.arrayContaining([
        '/EFI/BOOT/BOOTX64.EFI',
        '/EFI/BOOT/grubx64.efi',
        '/EFI/BOOT/mmx64.efi',
        '/EFI/debian/grub.cfg',
      ]),
    );
  });

  it('reports who signed what, SBAT and the kernel verdict', () => {
    const sb = json.secureBoot as Parameters<typeof secureBootLines>[0];
    expect(sb.kernelTrusted).toBe(true);
    expect(sb.shimVendor?.subject).toBe('CN=Debian Secure Boot CA');
    const kernel = sb.binaries.find((b) => b.path === '/boot/vmlinuz')!;
    expect(kernel.signatures[0]!.subject).toMatch(/Debian Secure Boot Signer .* - linux/);
    const grub = sb.binaries.find((b) => b.path === 'EFI/BOOT/grubx64.efi')!;
    expect(grub.sbat.map((e) => e.component)).toContain('grub.debian');
    const lines = secureBootLines(sb);
    expect(lines.join('\n')).toMatch(/EFI\/BOOT\/BOOTX64\.EFI: signed by .*Microsoft/);
    expect(lines.join('\n')).toMatch(/kernel signed by a trusted key: yes/);
  });

  it('gives the same bytes again (reproducible)', async () => {
    const out = join(dir, 'b');
    await mkdir(out);
    const again = join(out, 'shim.iso');
    const r = await cli([
      '--bootkit',
      kit.tarball,
      '--os-image',
      os,
      '--secure-boot',
      'shim',
      '--source-date-epoch',
      EPOCH,
      '--out',
      again,
    ]);
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/Secure Boot \(shim\):/);
    expect(await sha(again)).toBe(await sha(iso));
  }, 300_000);
});

describe('build --secure-boot refusals', () => {
  it('refuses an unsigned kernel in one line, exit 2, nothing left behind', async () => {
    const out = join(dir, 'unsigned');
    await mkdir(out);
    const k = join(dir, 'vmlinuz-unsigned');
    await copyFile(kit.kernel, k);
    execFileSync('sbattach', ['--remove', k]);
    const r = await cli([
      '--kernel',
      k,
      '--initramfs',
      kit.initramfs,
      '--os-image',
      os,
      '--secure-boot',
      'shim',
      '--out',
      join(out, 'x.iso'),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/kernel .*vmlinuz-unsigned is not signed: shim and GRUB would refuse it/);
    expect(await readdir(out)).toEqual([]);
  });

  it('builds the unsigned kernel without --secure-boot (nothing changes there)', async () => {
    const out = join(dir, 'plain');
    await mkdir(out);
    const r = await cli([
      '--kernel',
      kit.kernel,
      '--initramfs',
      kit.initramfs,
      '--os-image',
      os,
      '--out',
      join(out, 'x.iso'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out.at(-1)!);
    expect(res.secureBoot).toBeUndefined();
    expect(res.manifest.secureBoot).toBeUndefined();
  }, 300_000);

  it.each([
    [['--secure-boot', 'tpm'], /--secure-boot must be off, shim or uki, got 'tpm'/],
    [['--trust', '/etc/hostname'], /--trust needs --secure-boot shim/],
  ])('usage errors: %s', async (extra, msg) => {
    const r = await cli(['--bootkit', kit.tarball, '--os-image', os, '--out', join(dir, 'u.iso'), ...extra]);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(msg);
  });

  it('refuses a --trust file that is not a certificate, naming it', async () => {
    const bad = join(dir, 'not-a-cert.pem');
    await writeFile(bad, 'hello\n');
    const r = await cli([
      '--bootkit',
      kit.tarball,
      '--os-image',
      os,
      '--secure-boot',
      'shim',
      '--trust',
      bad,
      '--out',
      join(dir, 't.iso'),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`emt-usb build: ${bad} is not an X.509 certificate (PEM or DER)`]);
  });
});
