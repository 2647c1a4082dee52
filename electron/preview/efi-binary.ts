// What an EFI binary is, from its PE headers (PE/COFF spec): signed when the
// certificate table (data directory 4) is non-empty (Authenticode), and who it
// is from its .sbat section (shim, grub, ...: "component,generation,vendor,...").
// Shim signed by Microsoft, then a signed GRUB next to it, is the Secure Boot chain.
import type { EfiBinary } from './report.ts';

export type { EfiBinary };

const MACHINES: Record<number, string> = { 34404: 'x86_64', 332: 'ia32', 43620: 'aa64', 20580: 'riscv64' };

export interface PeHeaders {
  machine: string | null;
  signed: boolean;
  /** File offset and size of the .sbat section, when there is one. */
  sbat: { offset: number; size: number } | null;
  /** A Unified Kernel Image: a stub carrying the kernel as its .linux section. */
  uki: boolean;
}

/** Pure: PE headers from the first bytes of the file (4 KiB holds them in practice). */
export function parsePe(head: Buffer): PeHeaders | null {
  if (head.length < 0x40 || head[0] !== 0x4d || head[1] !== 0x5a) return null;
  const pe = head.readUInt32LE(0x3c);
  if (pe + 24 > head.length || head.toString('latin1', pe, pe + 4) !== 'PE\0\0') return null;
  const machine = head.readUInt16LE(pe + 4);
  const sections = head.readUInt16LE(pe + 6);
  const optSize = head.readUInt16LE(pe + 20);
  const opt = pe + 24;
  if (opt + optSize > head.length) return null;
  const magic = head.readUInt16LE(opt);
  // Data directories start at 96 (PE32) or 112 (PE32+); the 5th is the certificate table.
  const dirs = opt + (magic === 0x20b ? 112 : 96);
  const count = head.readUInt32LE(dirs - 4);
  const signed = count > 4 && dirs + 40 <= head.length && head.readUInt32LE(dirs + 4 * 8 + 4) > 0;
  let sbat: PeHeaders['sbat'] = null;
  let uki = false;
  const table = opt + optSize;
  for (let i = 0; i < sections && table + (i + 1) * 40 <= head.length; i++) {
    const s = table + i * 40;
    const name = head.toString('latin1', s, s + 8).replace(/\0+$/, '');
    if (name === '.linux') uki = true;
    if (name === '.sbat')
      sbat = {
        offset: head.readUInt32LE(s + 20),
        size: Math.min(head.readUInt32LE(s + 16), head.readUInt32LE(s + 8) || Infinity),
      };
  }
  return { machine: MACHINES[machine] ?? null, signed, sbat, uki };
}

/** Pure: component names of an SBAT section ("sbat" itself left out). */
export function sbatComponents(text: string): string[] {
  return text
    .replace(/\0.*$/s, '')
    .split('\n')
    .map((l) => l.split(',')[0]!.trim())
    .filter((c) => c !== '' && c !== 'sbat');
}

export function efiRole(path: string, sbat: string[]): EfiBinary['role'] {
  const base = path.split('/').pop()!.toLowerCase();
  // MokManager is built from shim's sources and carries its SBAT line: name first.
  if (/^mm[a-z0-9]*\.efi$/.test(base)) return 'mokmanager';
  if (sbat.includes('shim') || /^shim/.test(base)) return 'shim';
  if (sbat.includes('grub') || /^(grub|gcd)/.test(base)) return 'grub';
  if (sbat.includes('systemd-boot') || /^systemd-boot/.test(base)) return 'systemd-boot';
  if (sbat.includes('linux') || /vmlinu|linux/.test(base)) return 'kernel';
  return 'other';
}

/** Reads a binary's headers (and SBAT) through `read`, a positional reader of that file. */
export async function describeEfi(
  path: string,
  size: number,
  read: (offset: number, length: number) => Promise<Buffer>,
): Promise<EfiBinary> {
  const pe = parsePe(await read(0, Math.min(size, 4096)));
  let sbat: string[] = [];
  if (pe?.sbat && pe.sbat.size > 0 && pe.sbat.size <= 16384 && pe.sbat.offset + pe.sbat.size <= size)
    sbat = sbatComponents((await read(pe.sbat.offset, pe.sbat.size)).toString('latin1'));
  // Names of the BOOT<arch>.EFI fallback loader say nothing: decide by SBAT then.
  const isFallback = /^boot[a-z0-9]+\.efi$/i.test(path.split('/').pop() ?? '');
  return {
    path,
    size,
    machine: pe?.machine ?? null,
    signed: pe?.signed ?? false,
    sbat,
    role: pe?.uki ? 'uki' : isFallback && sbat.length === 0 ? 'other' : efiRole(isFallback ? '' : path, sbat),
  };
}
