// A UKI from systemd's stub (Debian's systemd-boot-efi) as binutils reads it: the
// added sections hold exactly the kernel, initramfs, cmdline and os-release, and
// signed by us it passes sbverify; one changed initramfs byte fails it.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePe } from '../../electron/secureboot/pe.ts';
import { loadPrivateKey, signPe } from '../../electron/secureboot/sign.ts';
import { buildUki } from '../../electron/secureboot/uki.ts';
import { sampleKernel } from '../fixtures/sample-kernel.ts';
import { seededBytes } from '../iso/build-fixture.ts';

const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
const CERT = '/usr/share/ovmf/PkKek-1-snakeoil.pem';
let work: string;
let kernel: Buffer;
const initrd = seededBytes('uki-initrd', 3 * 2 ** 20 + 5);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'emt-uki-'));
  kernel = readFileSync((await sampleKernel()).vmlinuz);
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const section = (file: string, name: string) => {
  const out = join(work, `sec${name}`);
  execFileSync('objcopy', ['-O', 'binary', `--only-section=${name}`, file, out]);
  return readFileSync(out);
};

describe('buildUki', () => {
  it('adds .osrel .cmdline .initrd .linux that objcopy reads back byte for byte; signed, sbverify accepts it', () => {
    const uki = buildUki({
      stub: readFileSync(STUB),
      kernel,
      initrd,
      cmdline: 'root=tmpfs rootflags=mode=0755',
      osRelease: 'ID=emt-installer\n',
    });
    const f = join(work, 'uki.efi');
    writeFileSync(f, uki);
    const names = parsePe(uki).sections.map((s) => s.name);
    expect(names.slice(-4)).toEqual(['.osrel', '.cmdline', '.initrd', '.linux']);
    expect(section(f, '.linux').equals(kernel)).toBe(true);
    expect(section(f, '.initrd').equals(initrd)).toBe(true);
    expect(section(f, '.cmdline').toString()).toBe('root=tmpfs rootflags=mode=0755');
    expect(section(f, '.osrel').toString()).toBe('ID=emt-installer\n');
    // The stub's own SBAT stays.
    expect(section(f, '.sbat').toString()).toMatch(/^sbat,1,/);
    const key = loadPrivateKey(readFileSync('/usr/share/ovmf/PkKek-1-snakeoil.key'), 'k', 'snakeoil');
    const signed = signPe(uki, new X509Certificate(readFileSync(CERT)), key, 'uki');
    const s = join(work, 'uki-signed.efi');
    writeFileSync(s, signed);
    execFileSync('sbverify', ['--cert', CERT, s], { stdio: 'pipe' });
    // The signature covers the initramfs: one byte changed there and it no longer verifies.
    const pe = parsePe(signed);
    const sec = pe.sections.find((x) => x.name === '.initrd')!;
    const bad = Buffer.from(signed);
    bad[sec.rawOffset + 1000]! ^= 1;
    const b = join(work, 'uki-bad.efi');
    writeFileSync(b, bad);
    expect(() => execFileSync('sbverify', ['--cert', CERT, b], { stdio: 'pipe' })).toThrow();
  });

  it('refuses a stub that is already signed', () => {
    const key = loadPrivateKey(readFileSync('/usr/share/ovmf/PkKek-1-snakeoil.key'), 'k', 'snakeoil');
    const signedStub = signPe(readFileSync(STUB), new X509Certificate(readFileSync(CERT)), key, 'stub');
    expect(() =>
      buildUki({ stub: signedStub, kernel, initrd, cmdline: '', osRelease: '' }, 'linuxx64.efi.stub'),
    ).toThrow(/linuxx64\.efi\.stub is already signed/);
  });
});
