// The xorriso argv for our hybrid installer ISO, as a pure function. mkisofs
// emulation, because the layout below is the one proven to boot here (UEFI CD and
// stick, BIOS CD and stick), see DESIGN.md "USB layout":
//   ISO 9660 (+Rock Ridge, Joliet) | GPT + protective MBR (-partition_offset 16)
//   p2 = ESP (appended, also the El Torito EFI image) | p3 = EMTCONFIG (appended)
// xorriso cannot name GPT partitions (they read "Appended2"/"Appended3"): the
// build names them afterwards (gpt-names.ts, GPT_NAMES). The installer finds
// EMTCONFIG by GPT name or FAT label, so images from before still work.

import { CONFIG_LABEL } from './config-partition-image.ts';
import type { Graft } from './stage.ts';
import { ISO_PATHS } from './stage.ts';

export const ESP_TYPE_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
/** Microsoft basic data: what Windows, macOS and Linux all mount as FAT. */
export const BASIC_DATA_TYPE_GUID = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';

/** GPT partition names the build writes over xorriso's "AppendedN" (partition 1 stays "ISO9660"). */
export const GPT_NAMES: ReadonlyMap<number, string> = new Map([
  [2, 'ESP'],
  [3, CONFIG_LABEL],
]);

export interface MasterArgsInput {
  out: string;
  label: string;
  sourceDateEpoch: number;
  grafts: Graft[];
  espImage: string;
  configImage: string;
  /** With --bios: GRUB's boot_hybrid.img (MBR code); eltorito.img must be among the grafts. */
  bios?: { hybridMbr: string };
  /** False: no El Torito EFI entry (an ESP over 32 MiB): UEFI boots the GPT partition only, no CD boot. */
  efiElTorito?: boolean;
}

export function masterArgs(i: MasterArgsInput): string[] {
  const stamp = timestring(i.sourceDateEpoch);
  const bios = i.bios
    ? [
        '--grub2-mbr',
        i.bios.hybridMbr,
        '--mbr-force-bootable',
        '-eltorito-boot',
        ISO_PATHS.biosEltorito.slice(1),
        '-no-emul-boot',
        '-boot-load-size',
        '4',
        '-boot-info-table',
        '--grub2-boot-info',
      ]
    : [];
  const efi = i.efiElTorito ?? true;
  const eltorito =
    efi || i.bios
      ? [
          ...bios,
          ...(efi && i.bios ? ['-eltorito-alt-boot'] : []),
          '-eltorito-catalog',
          ISO_PATHS.bootCatalog.slice(1),
          ...(efi ? ['-e', '--interval:appended_partition_2:all::', '-no-emul-boot'] : []),
        ]
      : [];
  return [
    '-as',
    'mkisofs',
    '-o',
    i.out,
    '-V',
    i.label,
    '-iso-level',
    '3', // files over 4 GiB become multi-extent files
    '-full-iso9660-filenames',
    '-joliet',
    '-joliet-long',
    '-rational-rock', // owners root, modes r/x for all: the stick is not a backup
    // Reproducible: volume times, every file's times, the GPT disk GUID (and the
    // partition GUIDs derived from it) all come from SOURCE_DATE_EPOCH.
    `--modification-date=${stamp}`,
    '--set_all_file_dates',
    `=${i.sourceDateEpoch}`,
    '--gpt_disk_guid',
    'modification-date',
    // No 300 KiB tail pad: on a stick it would become a stray "Gap" GPT partition.
    '-no-pad',
    '-partition_offset',
    '16',
    '-append_partition',
    '2',
    ESP_TYPE_GUID,
    i.espImage,
    '-append_partition',
    '3',
    BASIC_DATA_TYPE_GUID,
    i.configImage,
    '-appended_part_as_gpt',
    '-iso_mbr_part_type',
    BASIC_DATA_TYPE_GUID,
    ...eltorito,
    '-graft-points',
    ...i.grafts.map((g) => `${escapePathspec(g.isoPath)}=${escapePathspec(g.diskPath)}`),
  ];
}

/** xorriso pathspecs split at '='; a literal '=' or '\' is escaped by '\'. */
export function escapePathspec(p: string): string {
  return p.replace(/[\\=]/g, (c) => `\\${c}`);
}

/** YYYYMMDDhhmmsscc in UTC, the form --modification-date takes. */
export function timestring(epoch: number): string {
  const d = new Date(epoch * 1000).toISOString(); // 2026-11-26T00:00:00.000Z
  return `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}00`;
}
