// `emt-usb build --secure-boot uki` on the real sample bootkit: the ESP (read back
// with mtools) holds one UKI whose sections (read back with objcopy) are our
// kernel, injected initramfs and cmdline, signed so that Debian's sbverify accepts
// it under the certificate; the sample's UKI is over 32 MiB, so the ESP is GPT
// partition 2 only (no El Torito EFI entry, as xorriso reports it) and the build
// says CD boot is not offered; same inputs and key give the same bytes; a missing
// key is refused in one line with nothing left behind.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildResult } from '../../electron/api.ts';
import { main } from '../../electron/cli/index.ts';
import { ESP_MAX_BYTES } from '../../electron/iso/esp-image.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { seededBytes } from '../iso/build-fixture.ts';

const EPOCH = '1764115200';
const SNAKEOIL = {
  key: '/usr/share/ovmf/PkKek-1-snakeoil.key',
  cert: '/usr/share/ovmf/PkKek-1-snakeoil.pem',
};
let dir: string;
let kit: Awaited<ReturnType<typeof sampleBootkit>>;
let os: string;
let pass: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-uki-build-'));
  kit = await sampleBootkit('gzip');
  os = join(dir, 'os.img');
  await writeFile(os, seededBytes('uki-os', 2 * 2 ** 20));
  pass = join(dir, 'pass.txt');
  await writeFile(pass, 'snakeoil\n');
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

const ukiArgs = (out: string) => [
  '--bootkit',
  kit.tarball,
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
  EPOCH,
  '--out',
  out,
];

const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

/** GPT partition 2 (the ESP) as sfdisk reads it: byte offset and size. */
function espPartition(iso: string): { offset: number; size: number } {
  const dump = execFileSync('sfdisk', ['-d', iso], { encoding: 'utf8' });
  const m = /2 : start=\s*(\d+), size=\s*(\d+).*type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B/i.exec(dump);
  return { offset: Number(m![1]) * 512, size: Number(m![2]) * 512 };
}

describe('build --secure-boot uki', () => {
  let iso: string;
  let json: BuildResult;
  let x: string;

  beforeAll(async () => {
    const out = join(dir, 'a');
    await mkdir(out);
    iso = join(out, 'uki.iso');
    const r = await cli([...ukiArgs(iso), '--json']);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    json = JSON.parse(r.out.at(-1)!);
    x = join(dir, 'x');
    await mkdir(x);
    execFileSync(
      'osirrox',
      ['-indev', iso, '-extract', '/EFI', join(x, 'EFI'), '-extract', '/boot', join(x, 'boot')],
      { stdio: 'pipe' },
    );
    const { offset } = espPartition(iso);
    execFileSync('mcopy', ['-n', '-i', `${iso}@@${offset}`, '::/EFI/BOOT/BOOTX64.EFI', join(x, 'esp.efi')]);
    execFileSync('mcopy', ['-n', '-i', `${iso}@@${offset}`, '::/EFI/BOOT/emt-mok.cer', join(x, 'esp.cer')]);
  }, 300_000);

  const section = (name: string) => {
    const f = join(x, `sec${name}`);
    execFileSync('objcopy', ['-O', 'binary', `--only-section=${name}`, join(x, 'esp.efi'), f]);
    return readFile(f);
  };

  it("the ESP's BOOTX64.EFI is a UKI of our kernel, initramfs and cmdline, the same file as in the ISO tree", async () => {
    expect(await sha(join(x, 'esp.efi'))).toBe(await sha(join(x, 'EFI/BOOT/BOOTX64.EFI')));
    expect((await section('.cmdline')).toString()).toBe(json.manifest.kernelCmdline);
    expect(json.manifest.kernelCmdline).toMatch(/^root=tmpfs rootflags=mode=0755 /);
    // The initramfs the build injected (the one the ISO carries for BIOS GRUB too).
    expect(
      createHash('sha256')
        .update(await section('.initrd'))
        .digest('hex'),
    ).toBe(await sha(join(x, 'boot/initrd.img')));
    expect(
      createHash('sha256')
        .update(await section('.linux'))
        .digest('hex'),
    ).toBe(await sha(kit.kernel));
    expect((await section('.osrel')).toString()).toMatch(/^ID=emt-installer\n/);
    // GRUB is not on the EFI path at all.
    expect(await readdir(join(x, 'EFI/BOOT'))).toEqual(['BOOTX64.EFI', 'emt-mok.cer']);
    expect(await readFile(join(x, 'esp.cer'))).toEqual(
      new X509Certificate(await readFile(SNAKEOIL.cert)).raw,
    );
  });

  it('is signed so that sbverify accepts it under the certificate', () => {
    const out = execFileSync('sbverify', ['--cert', SNAKEOIL.cert, join(x, 'esp.efi')], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
    expect(out).toMatch(/Signature verification OK/);
    expect(json.secureBoot!.mode).toBe('uki');
    expect(json.secureBoot!.kernelTrusted).toBe(true);
    expect(json.secureBoot!.binaries[0]!.signatures[0]!.subject).toMatch(/O=SnakeOil/);
  });

  it('grows the ESP past 32 MiB as GPT partition 2 only: no El Torito EFI entry, and says CD boot is not offered', () => {
    const { offset, size } = espPartition(iso);
    expect(size).toBeGreaterThan(ESP_MAX_BYTES);
    // A clean FAT file system however large.
    const espFile = join(dir, 'esp.img');
    execFileSync(
      'dd',
      [`if=${iso}`, `of=${espFile}`, 'bs=512', `skip=${offset / 512}`, `count=${size / 512}`],
      {
        stdio: 'pipe',
      },
    );
    execFileSync('fsck.fat', ['-n', espFile], { stdio: 'pipe' });
    const report = execFileSync('xorriso', ['-indev', iso, '-report_el_torito', 'plain'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(report).not.toMatch(/El Torito boot img/i);
    expect(json.manifest.cdBoot).toBe(false);
    expect(json.manifest.secureBoot).toBe('uki');
    expect(json.noCdBoot).toMatch(/^CD boot is not offered: the UKI needs a \d+ MiB ESP/);
  });

  it('preview names the loader a signed UKI that boots from a stick, not a CD', async () => {
    const out: string[] = [];
    const code = await main(['preview', iso, '--json'], {
      out: (l) => out.push(l),
      err: () => {},
      isTty: false,
    });
    expect(code).toBe(0);
    const boot = JSON.parse(out.at(-1)!).boot;
    expect(boot.uefi).toEqual({ cd: false, usb: true });
    expect(boot.secureBoot.note).toMatch(/EFI\/BOOT\/BOOTX64\.EFI is a signed UKI/);
  });

  it('times signing as its own stage', () => {
    const names = json.stages.map((s) => s.stage);
    expect(names).toEqual(expect.arrayContaining(['uki', 'sign']));
    const signSec = json.stages.find((s) => s.stage === 'sign')!.seconds;
    process.stdout.write(`uki sign stage: ${signSec.toFixed(3)} s\n`);
    expect(signSec).toBeLessThan(5);
  });

  it('gives the same bytes again (reproducible), saying in one line that CD boot is not offered', async () => {
    const out = join(dir, 'b');
    await mkdir(out);
    const again = join(out, 'uki.iso');
    const r = await cli(ukiArgs(again));
    expect(r.code).toBe(0);
    expect(r.out.filter((l) => /CD boot is not offered/.test(l))).toHaveLength(1);
    expect(r.out.join('\n')).toMatch(/Secure Boot \(uki\):/);
    expect(await sha(again)).toBe(await sha(iso));
  }, 300_000);
});

describe('build --secure-boot uki --bios', () => {
  it('keeps BIOS boot as GRUB El Torito (the only El Torito entry) beside the UKI', async () => {
    const out = join(dir, 'bios');
    await mkdir(out);
    const iso = join(out, 'uki-bios.iso');
    const r = await cli([...ukiArgs(iso), '--bios', '--json']);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out.at(-1)!) as BuildResult;
    expect(res.manifest.bios).toBe(true);
    expect(res.manifest.cdBoot).toBe(false);
    const report = execFileSync('xorriso', ['-indev', iso, '-report_el_torito', 'plain'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const entries = report.split('\n').filter((l) => /^El Torito boot img\s*:\s*\d/.test(l));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/BIOS/);
  }, 300_000);
});

describe('build --secure-boot uki refusals', () => {
  it.each([[[] as string[]], [['--sign-cert', SNAKEOIL.cert]]])(
    'refuses a missing key in one line, exit 2, nothing left behind (%s)',
    async (extra) => {
      const out = join(dir, `nokey-${extra.length}`);
      await mkdir(out);
      const r = await cli([
        '--bootkit',
        kit.tarball,
        '--os-image',
        os,
        '--secure-boot',
        'uki',
        ...extra,
        '--out',
        join(out, 'x.iso'),
      ]);
      expect(r.code).toBe(2);
      expect(r.err).toEqual([
        "emt-usb build: --secure-boot uki needs --sign-key KEY and --sign-cert CERT (the organisation's db key)",
      ]);
      expect(await readdir(out)).toEqual([]);
    },
  );
});
