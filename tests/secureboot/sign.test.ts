// In-process Authenticode signing, cross-checked with sbsigntool: sbverify accepts
// what we sign (and refuses it under another certificate), sbsign over the same
// binary claims the same image hash, signing is deterministic and fast, and
// `build --sign-key/--sign-cert` puts a signed kernel and the certificate on the stick.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../electron/cli/index.ts';
import { bootLoaders, shimLoaders } from '../../electron/iso/boot-loaders.ts';
import { readSignatures } from '../../electron/secureboot/authenticode.ts';
import { shimVendorCert } from '../../electron/secureboot/chain.ts';
import { loadPrivateKey, signPe } from '../../electron/secureboot/sign.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { seededBytes } from '../iso/build-fixture.ts';

// Debian's snakeoil set (package ovmf) stands in for an organisation's key.
const KEY = '/usr/share/ovmf/PkKek-1-snakeoil.key';
const CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';
const PASS = 'snakeoil';
let work: string;
let kit: Awaited<ReturnType<typeof sampleBootkit>>;
let unsigned: string;
const cert = new X509Certificate(readFileSync(CERT));
const key = loadPrivateKey(readFileSync(KEY), KEY, PASS);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'emt-sign-'));
  kit = await sampleBootkit('gzip');
  unsigned = join(work, 'vmlinuz-unsigned');
  copyFileSync(kit.kernel, unsigned);
  execFileSync('sbattach', ['--remove', unsigned]);
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sbverify = (certFile: string, file: string) => {
  try {
    execFileSync('sbverify', ['--cert', certFile, file], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};

describe('signPe', () => {
  it('signs the unsigned kernel so that sbverify --cert accepts it, and only under that cert', () => {
    // CPU time, not wall time: other jobs (VM tests) share the two cores.
    const t = process.cpuUsage();
    const signed = signPe(readFileSync(unsigned), cert, key, 'k');
    signPe(readFileSync(shimLoaders().shim), cert, key, 'shim', true);
    const used = process.cpuUsage(t);
    const ms = (used.user + used.system) / 1000;
    const f = join(work, 'vmlinuz-ours');
    writeFileSync(f, signed);
    expect(sbverify(CERT, f)).toBe(true);
    const vendor = join(work, 'debian-ca.pem');
    writeFileSync(vendor, shimVendorCert(readFileSync(shimLoaders().shim))!.toString());
    expect(sbverify(vendor, f)).toBe(false);
    const [sig, more] = readSignatures(signed, f);
    expect(more).toBeUndefined();
    expect(sig!.signer.subject).toBe('/C=US/ST=Colorado/L=Fort Collins/O=SnakeOil');
    expect(sig!.digestMatches && sig!.signatureValid).toBe(true);
    // The budget: signing (kernel + shim, as the build does) adds at most 0.5 s.
    expect(ms).toBeLessThan(500);
  });

  it('claims the same image hash as sbsign over the same kernel; both verify', () => {
    const plainKey = join(work, 'snakeoil-plain.key');
    execFileSync('openssl', ['pkey', '-in', KEY, '-passin', `pass:${PASS}`, '-out', plainKey]);
    const theirs = join(work, 'vmlinuz-sbsign');
    execFileSync('sbsign', ['--key', plainKey, '--cert', CERT, '--output', theirs, unsigned], {
      stdio: 'pipe',
    });
    expect(sbverify(CERT, theirs)).toBe(true);
    const ours = signPe(readFileSync(unsigned), cert, key, 'k');
    const a = readSignatures(readFileSync(theirs), theirs)[0]!;
    const b = readSignatures(ours, 'ours')[0]!;
    expect(b.imageDigest).toBe(a.imageDigest);
    expect(a.digestMatches).toBe(true);
  });

  it('replaces an existing signature (the Debian-signed kernel) and is deterministic', () => {
    const one = signPe(readFileSync(kit.kernel), cert, key, 'k');
    const two = signPe(readFileSync(kit.kernel), cert, key, 'k');
    expect(createHash('sha256').update(one).digest('hex')).toBe(
      createHash('sha256').update(two).digest('hex'),
    );
    const sigs = readSignatures(one, 'k');
    expect(sigs.map((s) => s.signer.subject)).toEqual(['/C=US/ST=Colorado/L=Fort Collins/O=SnakeOil']);
    const f = join(work, 'vmlinuz-resigned');
    writeFileSync(f, one);
    expect(sbverify(CERT, f)).toBe(true);
  });

  it("adds our signature to shim beside Microsoft's (keep): all three verify", () => {
    const f = join(work, 'shim-ours.efi');
    writeFileSync(f, signPe(readFileSync(shimLoaders().shim), cert, key, 'shim', true));
    expect(sbverify(CERT, f)).toBe(true);
    const sigs = readSignatures(readFileSync(f), f);
    expect(sigs).toHaveLength(3);
    expect(sigs.every((s) => s.digestMatches && s.signatureValid)).toBe(true);
    expect(sigs[2]!.signer.subject).toMatch(/SnakeOil/);
    const list = execFileSync('sbverify', ['--list', f], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(list.match(/^signature \d+$/gm)).toHaveLength(3);
  });

  it('signs a GRUB image too (a different PE layout)', () => {
    const f = join(work, 'grub-ours.efi');
    writeFileSync(f, signPe(readFileSync(bootLoaders().efi), cert, key, 'grub'));
    expect(sbverify(CERT, f)).toBe(true);
  });

  it('names what is wrong with a key: passphrase missing or wrong, not a key, not RSA', () => {
    expect(() => loadPrivateKey(readFileSync(KEY), KEY)).toThrow(
      /is passphrase-protected \(give --sign-key-pass-file\)/,
    );
    expect(() => loadPrivateKey(readFileSync(KEY), KEY, 'wrong')).toThrow(
      /does not open with the given passphrase/,
    );
    expect(() => loadPrivateKey(Buffer.from('hello'), 'x.pem')).toThrow(
      /signing key x\.pem is not a PEM private key/,
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(() => loadPrivateKey(Buffer.from(ec), 'ec.pem')).toThrow(
      /is ec: UEFI firmware verifies RSA signatures only/,
    );
    // The passphrase itself never appears in a message.
    try {
      loadPrivateKey(readFileSync(KEY), KEY, 'wrong-secret');
    } catch (e) {
      expect((e as Error).message).not.toContain('wrong-secret');
    }
  });
});

describe('build --secure-boot shim --sign-key --sign-cert', () => {
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['build', ...args], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      isTty: false,
    });
    return { code, out, err };
  };

  it('signs the kernel on the stick and puts the certificate beside shim for MokManager', async () => {
    const os = join(work, 'os.img');
    writeFileSync(os, seededBytes('sign-os', 2 * 2 ** 20));
    const pass = join(work, 'pass.txt');
    writeFileSync(pass, `${PASS}\n`);
    const iso = join(work, 'own.iso');
    const r = await cli([
      '--kernel',
      unsigned,
      '--initramfs',
      kit.initramfs,
      '--os-image',
      os,
      '--secure-boot',
      'shim',
      '--sign-key',
      KEY,
      '--sign-cert',
      CERT,
      '--sign-key-pass-file',
      pass,
      '--out',
      iso,
      '--json',
    ]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).not.toContain(PASS);
    const res = JSON.parse(r.out.at(-1)!);
    expect(res.secureBoot.kernelTrusted).toBe(true);
    expect(res.secureBoot.trustCert.verifies).toBe(true);
    const x = join(work, 'x');
    mkdirSync(x);
    execFileSync(
      'osirrox',
      [
        '-indev',
        iso,
        '-extract',
        '/boot/vmlinuz',
        join(x, 'vmlinuz'),
        '-extract',
        '/EFI/BOOT',
        join(x, 'BOOT'),
      ],
      { stdio: 'pipe' },
    );
    expect(sbverify(CERT, join(x, 'vmlinuz'))).toBe(true);
    expect(readFileSync(join(x, 'BOOT/emt-mok.cer')).equals(cert.raw)).toBe(true);
  }, 300_000);

  it('is reproducible with a key: same inputs, key and epoch give the same bytes (with --bios too)', async () => {
    const os = join(work, 'os3.img');
    writeFileSync(os, seededBytes('sign-os3', 2 ** 20));
    const pass = join(work, 'pass3.txt');
    writeFileSync(pass, `${PASS}\n`);
    const sums: string[] = [];
    for (const n of [1, 2]) {
      const iso = join(work, `repro-${n}.iso`);
      const r = await cli([
        '--bootkit',
        kit.tarball,
        '--os-image',
        os,
        '--secure-boot',
        'shim',
        '--bios',
        '--sign-key',
        KEY,
        '--sign-cert',
        CERT,
        '--sign-key-pass-file',
        pass,
        '--source-date-epoch',
        '1764115200',
        '--out',
        iso,
      ]);
      expect(r.code).toBe(0);
      sums.push(createHash('sha256').update(readFileSync(iso)).digest('hex'));
    }
    expect(sums[1]).toBe(sums[0]);
  }, 300_000);

  it('refuses a key that does not belong to the certificate, and a lone --sign-key', async () => {
    const os = join(work, 'os2.img');
    writeFileSync(os, seededBytes('sign-os2', 2 ** 20));
    const other = join(work, 'other.key');
    writeFileSync(
      other,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    const out = join(work, 'refused');
    mkdirSync(out);
    const base = [
      '--bootkit',
      kit.tarball,
      '--os-image',
      os,
      '--secure-boot',
      'shim',
      '--out',
      join(out, 'x.iso'),
    ];
    const r = await cli([...base, '--sign-key', other, '--sign-cert', CERT]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`emt-usb build: signing key ${other} does not belong to certificate ${CERT}`]);
    const lone = await cli([...base, '--sign-key', other]);
    expect(lone.code).toBe(2);
    expect(lone.err.join()).toMatch(/--sign-key and --sign-cert go together/);
    expect(readdirSync(out)).toEqual([]);
  });
});
