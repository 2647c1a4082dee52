// The Secure Boot state of a boot chain, as a report and as a build-time check:
// which EFI binaries are signed, by whom, their SBAT entries, whether the kernel
// is signed by a key shim trusts (the vendor certificate built into shim, e.g.
// Debian's Secure Boot CA) and, with --trust, whether each verifies against a
// given certificate.
import type { X509Certificate } from 'node:crypto';
import { type AuthenticodeSignature, chainsTo, loadCertificate, readSignatures } from './authenticode.ts';
import { parsePe, type SbatEntry, SecureBootError, sbatEntries, sectionData } from './pe.ts';

export interface SignatureReport {
  subject: string;
  issuer: string;
  /** sha256 of the signer certificate's DER. */
  certSha256: string;
  /** Digest and signature check out (the binary is as signed). */
  valid: boolean;
  /** With a trust certificate: the signer chains to it. */
  trusted?: boolean;
}

export interface EfiReport {
  /** Where it sits, e.g. `EFI/BOOT/BOOTX64.EFI` or `/boot/vmlinuz`. */
  path: string;
  signed: boolean;
  signatures: SignatureReport[];
  sbat: SbatEntry[];
}

export interface ChainReport {
  mode: 'shim' | 'uki' | 'none';
  binaries: EfiReport[];
  /** Certificates shim itself trusts (its built-in vendor certificate). */
  shimVendor?: { subject: string; sha256: string };
  /** The kernel is signed by a key the chain trusts (shim's vendor certificate, or --trust as a MOK). */
  kernelTrusted?: boolean;
  /** With --trust: the kernel (the link an organisation controls) chains to the given certificate;
   * each binary's own `trusted` flag says the same for it. */
  trustCert?: { subject: string; sha256: string; verifies: boolean };
}

/** Signatures of one binary, as report lines. */
export function efiReport(
  path: string,
  bytes: Uint8Array,
  trust?: X509Certificate,
  sigs: AuthenticodeSignature[] = readSignatures(bytes, path),
): EfiReport {
  const pe = parsePe(bytes, path);
  return {
    path,
    signed: sigs.length > 0,
    signatures: sigs.map((s) => signatureReport(s, trust)),
    sbat: sbatEntries(bytes, pe),
  };
}

function signatureReport(s: AuthenticodeSignature, trust?: X509Certificate): SignatureReport {
  return {
    subject: s.signer.subject,
    issuer: s.signer.issuer,
    certSha256: s.signer.sha256,
    valid: s.digestMatches && s.signatureValid,
    ...(trust ? { trusted: s.digestMatches && s.signatureValid && chainsTo(s, trust) } : {}),
  };
}

/**
 * shim's `.vendor_cert` section: a header of four u32 (authorized size,
 * deauthorized size, authorized offset, deauthorized offset) and the vendor's
 * DER certificate at its offset. Undefined when shim carries none.
 */
export function shimVendorCert(shim: Uint8Array, what = 'shim'): X509Certificate | undefined {
  const sec = sectionData(shim, parsePe(shim, what), '.vendor_cert');
  if (!sec || sec.length < 16) return undefined;
  const dv = new DataView(sec.buffer, sec.byteOffset, sec.byteLength);
  const size = dv.getUint32(0, true);
  const offset = dv.getUint32(8, true);
  if (size === 0 || offset + size > sec.length) return undefined;
  return loadCertificate(sec.subarray(offset, offset + size), `${what} vendor certificate`);
}

export interface ShimChainInput {
  shim: { path: string; bytes: Uint8Array };
  grub: { path: string; bytes: Uint8Array };
  mokManager?: { path: string; bytes: Uint8Array };
  kernel: { path: string; bytes: Uint8Array };
  /** Where the kernel came from, for messages (the user's file name). */
  kernelSource: string;
  trust?: X509Certificate;
}

/** Reports the shim chain and refuses (SecureBootError) a kernel shim would not start. */
export function checkShimChain(i: ShimChainInput): ChainReport {
  const vendor = shimVendorCert(i.shim.bytes, i.shim.path);
  // The kernel's signatures are read once (hashing 10 MB is the cost) for report and check.
  const kernelSigs = readSignatures(i.kernel.bytes, i.kernelSource);
  const binaries = [
    ...[i.shim, i.grub, ...(i.mokManager ? [i.mokManager] : [])].map((b) =>
      efiReport(b.path, b.bytes, i.trust),
    ),
    efiReport(i.kernel.path, i.kernel.bytes, i.trust, kernelSigs),
  ];
  if (kernelSigs.length === 0) {
    throw new SecureBootError(
      'UNSIGNED_KERNEL',
      `kernel ${i.kernelSource} is not signed: shim and GRUB would refuse it under Secure Boot (use a vendor-signed kernel, or sign it with --sign-key/--sign-cert)`,
      i.kernelSource,
    );
  }
  if (!kernelSigs.some((s) => s.digestMatches && s.signatureValid)) {
    throw new SecureBootError(
      'BAD_KERNEL_SIGNATURE',
      `kernel ${i.kernelSource} carries a signature by ${kernelSigs[0]!.signer.subject} that does not match its bytes (modified after signing?)`,
      i.kernelSource,
    );
  }
  const good = kernelSigs.filter((s) => s.digestMatches && s.signatureValid);
  // A key enrolled as a MOK (the --trust certificate) is as good as shim's own.
  const kernelTrusted = [vendor, i.trust].some((c) => c !== undefined && good.some((s) => chainsTo(s, c)));
  if (!kernelTrusted) {
    throw new SecureBootError(
      'UNTRUSTED_KERNEL',
      `kernel ${i.kernelSource} is signed by ${kernelSigs[0]!.signer.subject}, which shim does not trust (its vendor key is ${vendor ? vendor.subject.replace(/\n/g, ', ') : 'absent'}); give --trust CERT for a key enrolled as a MOK`,
      i.kernelSource,
    );
  }
  const kernelReport = binaries[binaries.length - 1]!;
  return {
    mode: 'shim',
    binaries,
    ...(vendor ? { shimVendor: { subject: vendor.subject.replace(/\n/g, ', '), sha256: fp(vendor) } } : {}),
    kernelTrusted,
    ...(i.trust
      ? {
          trustCert: {
            subject: i.trust.subject.replace(/\n/g, ', '),
            sha256: fp(i.trust),
            verifies: kernelReport.signatures.some((s) => s.trusted),
          },
        }
      : {}),
  };
}

const fp = (c: X509Certificate): string => c.fingerprint256.replace(/:/g, '').toLowerCase();

export interface KernelSignatureReport {
  /** False for a kernel that is not a PE/EFI binary (no EFI stub: cannot boot under UEFI Secure Boot). */
  efi: boolean;
  signed: boolean;
  signatures: SignatureReport[];
}

/** Who signed a kernel, for inspect; never throws on a kernel that is not PE. */
export function kernelSignature(bytes: Uint8Array, what: string): KernelSignatureReport {
  try {
    const sigs = readSignatures(bytes, what);
    return { efi: true, signed: sigs.length > 0, signatures: sigs.map((s) => signatureReport(s)) };
  } catch (e) {
    if (e instanceof SecureBootError) return { efi: e.code !== 'NOT_PE', signed: false, signatures: [] };
    throw e;
  }
}
