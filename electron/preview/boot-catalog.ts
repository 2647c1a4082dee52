// The El Torito boot catalog ("El Torito" Bootable CD-ROM Format Specification
// 1.0): a 32-byte validation entry (header 01, platform at 1, 55 AA at 30), the
// initial/default entry, then section headers (90 more / 91 last; platform at 1,
// entry count at 2) each followed by its entries. An entry: boot indicator 88 at
// 0, media type at 1, load segment at 2, sector count (512-byte) at 6, load RBA at 8.
import type { BootEntry, BootPlatform, Emulation } from './report.ts';

export type { BootEntry, BootPlatform, Emulation };

const PLATFORM: Record<number, BootPlatform> = { 0: 'bios', 1: 'ppc', 2: 'mac', 239: 'uefi' };
const EMULATION: Emulation[] = ['none', 'floppy-1.2M', 'floppy-1.44M', 'floppy-2.88M', 'hard-disk'];

/** Pure: the entries of a catalog; [] when the validation entry is not valid. */
export function parseBootCatalog(cat: Buffer): BootEntry[] {
  if (cat.length < 64 || cat[0] !== 1 || cat[30] !== 0x55 || cat[31] !== 0xaa) return [];
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + cat.readUInt16LE(i)) & 0xffff;
  if (sum !== 0) return [];
  const entry = (at: number, platformId: number): BootEntry => ({
    platform: PLATFORM[platformId] ?? 'unknown',
    platformId,
    bootable: cat[at] === 0x88,
    emulation: EMULATION[cat[at + 1]! & 0x0f] ?? 'none',
    lba: cat.readUInt32LE(at + 8),
    offset: cat.readUInt32LE(at + 8) * 2048,
    sectorCount: cat.readUInt16LE(at + 6),
    size: cat.readUInt16LE(at + 6) * 512,
    image: null,
  });
  const out: BootEntry[] = [entry(32, cat[1]!)];
  for (let at = 64; at + 32 <= cat.length; ) {
    const h = cat[at]!;
    if (h !== 0x90 && h !== 0x91) break;
    const platformId = cat[at + 1]!;
    const count = cat.readUInt16LE(at + 2);
    at += 32;
    for (let i = 0; i < count && at + 32 <= cat.length; at += 32) {
      if (cat[at] === 0x44) continue; // extension entry of the previous one
      out.push(entry(at, platformId));
      i++;
    }
    if (h === 0x91) break;
  }
  return out;
}

/**
 * Pure: a BIOS boot image as it was before xorriso patched it in place:
 * `-boot-info-table` writes a 56-byte table at byte 8 (zero in GRUB's image), and
 * `--grub2-boot-info` writes the image's 512-byte LBA + 5 (as 64-bit LE) at byte
 * 2548, over GRUB's placeholder 2. So a manifest hash of the unpatched file can
 * still be checked.
 */
export function unpatchBootInfo(image: Buffer, lba: number): Buffer {
  const out = Buffer.from(image);
  if (out.length >= 64) out.fill(0, 8, 64);
  if (out.length >= 2556 && out.readBigUInt64LE(2548) === BigInt(lba * 4 + 5)) out.writeBigUInt64LE(2n, 2548);
  return out;
}
