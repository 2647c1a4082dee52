// PE/COFF, as far as Secure Boot needs it: the section table (shim's .sbat and
// .vendor_cert), the checksum and security-directory fields Authenticode skips,
// and the attribute certificate table (WIN_CERTIFICATE entries) at the end.
// Pure functions over bytes; every offset is bounds-checked, as a kernel from a
// user is untrusted input.
import { EmtError } from '../errors.ts';

export class SecureBootError extends EmtError {
  constructor(code: string, message: string, file?: string) {
    super('iso', code, message, file);
    this.name = 'SecureBootError';
  }
}

export interface PeSection {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  rawSize: number;
  rawOffset: number;
}

export interface PeImage {
  /** PE32+ (0x20b) or PE32 (0x10b). */
  magic: number;
  machine: number;
  /** File offset of the optional header's CheckSum (4 bytes). */
  checksumOffset: number;
  /** File offset of data directory 4, the certificate table entry (8 bytes), or -1 if absent. */
  securityDirOffset: number;
  /** Certificate table: file offset and size (0, 0 when unsigned). */
  certTable: { offset: number; size: number };
  sizeOfHeaders: number;
  sections: PeSection[];
}

/** WIN_CERT_TYPE_PKCS_SIGNED_DATA: the only type Secure Boot reads. */
export const WIN_CERT_TYPE_PKCS = 0x0002;
export const WIN_CERT_REVISION_2 = 0x0200;

export interface WinCertificate {
  revision: number;
  type: number;
  /** The DER PKCS#7 ContentInfo for type 2. */
  data: Uint8Array;
}

/** Parses the headers of a PE image; throws SecureBootError('NOT_PE') naming `what`. */
export function parsePe(buf: Uint8Array, what = 'file'): PeImage {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (why: string): never => {
    throw new SecureBootError('NOT_PE', `${what} is not an EFI (PE) binary: ${why}`, what);
  };
  if (buf.length < 0x40 || buf[0] !== 0x4d || buf[1] !== 0x5a) bad('no MZ header');
  const pe = dv.getUint32(0x3c, true);
  if (pe + 24 > buf.length || dv.getUint32(pe, true) !== 0x00004550) bad('no PE signature');
  const machine = dv.getUint16(pe + 4, true);
  const nSections = dv.getUint16(pe + 6, true);
  const optSize = dv.getUint16(pe + 20, true);
  const opt = pe + 24;
  if (opt + optSize > buf.length || optSize < 96) bad('optional header out of bounds');
  const magic = dv.getUint16(opt, true);
  if (magic !== 0x20b && magic !== 0x10b) bad(`optional header magic 0x${magic.toString(16)}`);
  const dirs = opt + (magic === 0x20b ? 112 : 96);
  const nDirs = dv.getUint32(dirs - 4, true);
  const securityDirOffset = nDirs > 4 && dirs + 5 * 8 <= opt + optSize ? dirs + 4 * 8 : -1;
  const certTable =
    securityDirOffset < 0
      ? { offset: 0, size: 0 }
      : { offset: dv.getUint32(securityDirOffset, true), size: dv.getUint32(securityDirOffset + 4, true) };
  if (certTable.size && certTable.offset + certTable.size > buf.length)
    bad('certificate table runs past the end of the file');
  const sections: PeSection[] = [];
  const table = opt + optSize;
  // Names over 8 bytes (shim's .vendor_cert) are "/<offset>" into the COFF string table.
  const strings = dv.getUint32(pe + 12, true) + dv.getUint32(pe + 16, true) * 18;
  const longName = (ref: string): string => {
    const at = strings + Number(ref.slice(1));
    if (!/^\/\d+$/.test(ref) || strings === 0 || at >= buf.length) return ref;
    const end = buf.indexOf(0, at);
    return new TextDecoder('latin1').decode(buf.subarray(at, end < 0 ? buf.length : end));
  };
  if (table + nSections * 40 > buf.length) bad('section table out of bounds');
  for (let i = 0; i < nSections; i++) {
    const s = table + i * 40;
    const raw = buf.subarray(s, s + 8);
    const end = raw.indexOf(0);
    sections.push({
      name: longName(new TextDecoder('latin1').decode(end < 0 ? raw : raw.subarray(0, end))),
      virtualSize: dv.getUint32(s + 8, true),
      virtualAddress: dv.getUint32(s + 12, true),
      rawSize: dv.getUint32(s + 16, true),
      rawOffset: dv.getUint32(s + 20, true),
    });
  }
  return {
    magic,
    machine,
    checksumOffset: opt + 64,
    securityDirOffset,
    certTable,
    sizeOfHeaders: dv.getUint32(opt + 60, true),
    sections,
  };
}

/** A section's bytes as loaded (raw data cut to its virtual size), or undefined. */
export function sectionData(buf: Uint8Array, pe: PeImage, name: string): Uint8Array | undefined {
  const s = pe.sections.find((x) => x.name === name);
  if (!s) return undefined;
  const size = Math.min(s.rawSize, s.virtualSize || s.rawSize);
  if (s.rawOffset + size > buf.length) return undefined;
  return buf.subarray(s.rawOffset, s.rawOffset + size);
}

/** The WIN_CERTIFICATE entries of the certificate table (each 8-byte aligned). */
export function winCertificates(buf: Uint8Array, pe: PeImage, what = 'file'): WinCertificate[] {
  const { offset, size } = pe.certTable;
  const out: WinCertificate[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = offset;
  while (size && at + 8 <= offset + size) {
    const len = dv.getUint32(at, true);
    if (len < 8 || at + len > offset + size) {
      throw new SecureBootError(
        'BAD_SIGNATURE',
        `${what}: certificate table entry at ${at} has a bad length ${len}`,
        what,
      );
    }
    out.push({
      revision: dv.getUint16(at + 4, true),
      type: dv.getUint16(at + 6, true),
      data: buf.subarray(at + 8, at + len),
    });
    at += (len + 7) & ~7;
  }
  return out;
}

/** One SBAT CSV line: component, generation, vendor, package, version, url. */
export interface SbatEntry {
  component: string;
  generation: number;
  vendor: string;
  package: string;
  version: string;
  url: string;
}

/** The `.sbat` section's CSV (NUL-padded), or [] when the binary has none. */
export function sbatEntries(buf: Uint8Array, pe: PeImage): SbatEntry[] {
  const data = sectionData(buf, pe, '.sbat');
  if (!data) return [];
  const text = new TextDecoder().decode(data).replace(/\0[\s\S]*$/, '');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => {
      const [component = '', generation = '', vendor = '', pkg = '', version = '', url = ''] = l.split(',');
      return { component, generation: Number(generation), vendor, package: pkg, version, url };
    });
}
