// inspect reports the kernel's Secure Boot signature: signer of the Debian kernel in
// the sample bootkit, "not signed" for a stripped copy, "not EFI" for a non-PE file.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectBootkit } from '../../electron/bootkit/inspect.ts';
import { formatInspect } from '../../electron/cli/inspect.ts';
import { kernelSignature } from '../../electron/secureboot/chain.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';

let work: string;
let kit: Awaited<ReturnType<typeof sampleBootkit>>;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'emt-sb-inspect-'));
  kit = await sampleBootkit('gzip');
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('inspect: kernel signature', () => {
  it('names the Debian signer of the sample bootkit kernel', async () => {
    const r = await inspectBootkit([kit.tarball]);
    expect(r.kernelSignature?.signed).toBe(true);
    expect(r.kernelSignature?.signatures[0]).toMatchObject({
      subject: expect.stringMatching(/^\/CN=Debian Secure Boot Signer .* - linux$/),
      issuer: '/CN=Debian Secure Boot CA',
      valid: true,
    });
    expect(formatInspect(r).join('\n')).toMatch(
      /^signature: \/CN=Debian Secure Boot Signer .* \(cert sha256 [0-9a-f]{16}\.\.\.\)$/m,
    );
  });

  it('says "not signed" for a stripped kernel and "not an EFI binary" for other bytes', async () => {
    const k = join(work, 'vmlinuz-unsigned');
    copyFileSync(kit.kernel, k);
    execFileSync('sbattach', ['--remove', k]);
    const r = await inspectBootkit([k, kit.initramfs]);
    expect(r.kernelSignature).toEqual({ efi: true, signed: false, signatures: [] });
    expect(formatInspect(r).join('\n')).toMatch(/^signature: not signed/m);
    // Bytes that are not PE: reported as such, never thrown.
    expect(kernelSignature(Buffer.alloc(4096, 7), 'junk')).toEqual({
      efi: false,
      signed: false,
      signatures: [],
    });
  });
});
