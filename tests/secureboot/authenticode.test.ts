// Authenticode reading on Debian's real signed binaries (shim, GRUB, MokManager,
// the sample kernel), cross-checked against sbsigntool's `sbverify --list`, and the
// shim chain check the build relies on.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootLoaders, shimLoaders } from '../../electron/iso/boot-loaders.ts';
import { chainsTo, peImageHash, readSignatures } from '../../electron/secureboot/authenticode.ts';
import { checkShimChain, efiReport, shimVendorCert } from '../../electron/secureboot/chain.ts';
import { parsePe, SecureBootError, sbatEntries } from '../../electron/secureboot/pe.ts';
import { sampleKernel } from '../fixtures/sample-kernel.ts';

const shim = shimLoaders();
let kernelPath: string;
let work: string;

beforeAll(async () => {
  kernelPath = (await sampleKernel()).vmlinuz;
  work = mkdtempSync(join(tmpdir(), 'emt-sb-'));
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** sbverify --list: per signature, the signer chain's subjects and issuers. */
function sbverifyList(file: string): { subjects: string[]; issuers: string[] }[] {
  const out = execFileSync('sbverify', ['--list', file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .split(/^signature \d+$/m)
    .slice(1)
    .map((block) => ({
      subjects: [...block.matchAll(/^\s+- subject: (.*)$/gm)].map((m) => m[1]!),
      issuers: [...block.matchAll(/^\s+issuer: {2}(.*)$/gm)].map((m) => m[1]!),
    }));
}

const binaries = () => [
  ['shim', shim.shim],
  ['GRUB', shim.grub],
  ['MokManager', shim.mokManager],
  ['kernel', kernelPath],
];

describe('readSignatures on Debian binaries', () => {
  it.each([0, 1, 2, 3])('matches sbverify --list (binary %i) and verifies', (i) => {
    const [, file] = binaries()[i]!;
    const sigs = readSignatures(readFileSync(file!), file);
    const theirs = sbverifyList(file!);
    expect(sigs.length).toBe(theirs.length);
    expect(sigs.length).toBeGreaterThan(0);
    sigs.forEach((s, k) => {
      expect(theirs[k]!.subjects).toEqual(s.certificates.map((c) => c.subject));
      expect(theirs[k]!.subjects).toContain(s.signer.subject);
      expect(theirs[k]!.issuers).toContain(s.signer.issuer);
      expect(s.digestAlgorithm).toBe('sha256');
      expect(s.digestMatches).toBe(true);
      expect(s.signatureValid).toBe(true);
      expect(s.signer.sha256).toMatch(/^[0-9a-f]{64}$/);
      // The certificate hash is the DER's: node's X509 fingerprint agrees.
      expect(
        new X509Certificate(Buffer.from(s.signer.der)).fingerprint256.replace(/:/g, '').toLowerCase(),
      ).toBe(s.signer.sha256);
    });
  });

  it('names the signers: Microsoft for shim, Debian for GRUB and the kernel', () => {
    const signer = (f: string) => readSignatures(readFileSync(f), f).map((s) => s.signer.subject);
    expect(signer(shim.shim).join()).toMatch(/Microsoft Windows UEFI Driver Publisher/);
    expect(signer(shim.grub)).toEqual(['/CN=Debian Secure Boot Signer 2022 - grub2']);
    expect(signer(kernelPath)[0]).toMatch(/^\/CN=Debian Secure Boot Signer .* - linux$/);
  });

  it('finds no signature on our own unsigned GRUB image', () => {
    const efi = bootLoaders().efi;
    expect(readSignatures(readFileSync(efi), efi)).toEqual([]);
    expect(efiReport('EFI/BOOT/BOOTX64.EFI', readFileSync(efi)).signed).toBe(false);
  });

  it('sees one changed byte in the kernel: the digest no longer matches (and sbverify agrees)', () => {
    const bytes = Buffer.from(readFileSync(kernelPath));
    const pe = parsePe(bytes);
    const text = pe.sections.find((s) => s.rawSize > 4096)!;
    bytes[text.rawOffset + 100]! ^= 0xff;
    const [sig] = readSignatures(bytes, 'changed');
    expect(sig!.digestMatches).toBe(false);
    expect(sig!.signatureValid).toBe(true);
    const f = join(work, 'vmlinuz-changed');
    writeFileSync(f, bytes);
    const vendor = join(work, 'vendor.pem');
    writeFileSync(vendor, shimVendorCert(readFileSync(shim.shim))!.toString());
    expect(() => execFileSync('sbverify', ['--cert', vendor, f], { stdio: 'pipe' })).toThrow();
    expect(() => execFileSync('sbverify', ['--cert', vendor, kernelPath], { stdio: 'pipe' })).not.toThrow();
  });

  it('hashes the image apart from the checksum, security entry and certificate table', () => {
    const bytes = Buffer.from(readFileSync(shim.grub));
    const pe = parsePe(bytes);
    const before = peImageHash(bytes, pe).toString('hex');
    bytes.writeUInt32LE(0x12345678, pe.checksumOffset);
    expect(peImageHash(bytes, pe).toString('hex')).toBe(before);
    bytes[pe.certTable.offset + 20]! ^= 1;
    expect(peImageHash(bytes, pe).toString('hex')).toBe(before);
    bytes[pe.sizeOfHeaders - 1]! ^= 1;
    expect(peImageHash(bytes, pe).toString('hex')).not.toBe(before);
  });

  it('refuses a file that is not PE, naming it', () => {
    expect(() => readSignatures(Buffer.from('#!/bin/sh\necho hi\n'), 'script.sh')).toThrow(
      /script\.sh is not an EFI \(PE\) binary: no MZ header/,
    );
    const truncated = readFileSync(shim.grub).subarray(0, 300);
    expect(() => parsePe(truncated, 'cut.efi')).toThrow(SecureBootError);
  });
});

describe('PE sections and SBAT', () => {
  const objcopySbat = (file: string) => {
    const out = join(work, 'sbat.bin');
    execFileSync('objcopy', ['-O', 'binary', '--only-section=.sbat', file, out]);
    return readFileSync(out, 'latin1')
      .replace(/\0[\s\S]*$/, '')
      .trim()
      .split('\n');
  };

  it.each([
    ['shim', () => shim.shim, ['sbat', 'shim', 'shim.debian']],
    ['GRUB', () => shim.grub, ['sbat', 'grub', 'grub.debian', 'grub.debian12']],
  ] as const)('reads the .sbat entries of %s like objcopy', (_n, file, components) => {
    const bytes = readFileSync(file());
    const entries = sbatEntries(bytes, parsePe(bytes));
    expect(entries.map((e) => e.component)).toEqual(components);
    expect(
      entries.map((e) => [e.component, e.generation, e.vendor, e.package, e.version, e.url].join(',')),
    ).toEqual(objcopySbat(file()));
  });

  it('resolves long section names through the COFF string table (shim .vendor_cert)', () => {
    const bytes = readFileSync(shim.shim);
    const names = parsePe(bytes).sections.map((s) => s.name);
    const objdump = execFileSync('objdump', ['-h', shim.shim], { encoding: 'utf8' });
    for (const n of names) expect(objdump).toContain(` ${n} `);
    expect(names).toContain('.vendor_cert');
  });
});

describe('shim chain', () => {
  const input = (kernel: Uint8Array, trust?: X509Certificate) => ({
    shim: { path: 'EFI/BOOT/BOOTX64.EFI', bytes: readFileSync(shim.shim) },
    grub: { path: 'EFI/BOOT/grubx64.efi', bytes: readFileSync(shim.grub) },
    kernel: { path: '/boot/vmlinuz', bytes: kernel },
    kernelSource: 'vmlinuz-test',
    ...(trust ? { trust } : {}),
  });

  it("finds Debian's CA as shim's vendor certificate and trusts the Debian kernel", () => {
    const vendor = shimVendorCert(readFileSync(shim.shim))!;
    expect(vendor.subject).toBe('CN=Debian Secure Boot CA');
    const r = checkShimChain(input(readFileSync(kernelPath)));
    expect(r.kernelTrusted).toBe(true);
    expect(r.shimVendor?.subject).toBe('CN=Debian Secure Boot CA');
    expect(r.binaries.map((b) => [b.path, b.signed])).toEqual([
      ['EFI/BOOT/BOOTX64.EFI', true],
      ['EFI/BOOT/grubx64.efi', true],
      ['/boot/vmlinuz', true],
    ]);
  });

  it('refuses an unsigned kernel in one line naming it (sbattach --remove made it)', () => {
    const f = join(work, 'vmlinuz-unsigned');
    copyFileSync(kernelPath, f);
    execFileSync('sbattach', ['--remove', f]);
    expect(() => checkShimChain(input(readFileSync(f)))).toThrow(/^kernel vmlinuz-test is not signed: shim/);
    try {
      checkShimChain(input(readFileSync(f)));
    } catch (e) {
      expect((e as SecureBootError).code).toBe('UNSIGNED_KERNEL');
      expect((e as Error).message).not.toContain('\n');
    }
  });

  it('refuses a signed kernel whose bytes changed after signing', () => {
    const bytes = Buffer.from(readFileSync(kernelPath));
    bytes[parsePe(bytes).sizeOfHeaders + 10]! ^= 1;
    expect(() => checkShimChain(input(bytes))).toThrow(/does not match its bytes/);
  });

  it('--trust: the chain verifies against the Debian CA, not against a Microsoft certificate', () => {
    const vendor = shimVendorCert(readFileSync(shim.shim))!;
    const yes = checkShimChain(input(readFileSync(kernelPath), vendor));
    expect(yes.trustCert?.verifies).toBe(true);
    expect(yes.binaries.at(-1)!.signatures[0]!.trusted).toBe(true);
    const msDer = readSignatures(readFileSync(shim.shim), 'shim')[0]!.certificates.find((c) =>
      c.subject.endsWith('CN=Microsoft Corporation UEFI CA 2011'),
    )!.der;
    const ms = new X509Certificate(Buffer.from(msDer));
    const no = checkShimChain(input(readFileSync(kernelPath), ms));
    expect(no.trustCert?.verifies).toBe(false);
    // Shim itself chains to Microsoft's CA through the certificate it carries.
    expect(no.binaries[0]!.signatures[0]!.trusted).toBe(true);
    expect(chainsTo(readSignatures(readFileSync(kernelPath), 'k')[0]!, ms)).toBe(false);
  });
});
