// Partition tables at the start of a hybrid image: the MBR (446: four 16-byte
// entries, status at 0, type at 4, first LBA at 8, sectors at 12; 55 AA at 510)
// and the GPT (header at LBA 1, read by flash/gpt.ts, the one GPT parser).

import { createHash } from 'node:crypto';
import { ESP_TYPE, type GptPartition, parseGptEntries, parseGptHeader } from '../flash/gpt.ts';
import type { ByteReader } from './reader.ts';
import type { MbrPartition, Partition } from './report.ts';

export interface PartitionTables {
  mbr: { present: boolean; bootCode: boolean; diskSignature: string | null; partitions: MbrPartition[] };
  gpt: { present: boolean; diskGuid: string | null; partitions: GptPartition[] };
  partitions: Partition[];
}

const GPT_TYPES: Record<string, string> = {
  [ESP_TYPE]: 'EFI System',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'Basic data',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot',
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'Microsoft reserved',
  '48465300-0000-11AA-AA11-00306543ECAC': 'Apple HFS+',
};
const MBR_TYPES: Record<string, string> = {
  '00': 'empty',
  '0b': 'FAT32',
  '0c': 'FAT32 (LBA)',
  '17': 'hidden NTFS/HPFS (isohybrid)',
  '83': 'Linux',
  cd: 'ISO 9660 (isohybrid)',
  ee: 'GPT protective',
  ef: 'EFI System',
};

/** Pure: the MBR of sector 0. */
export function parseMbr(s0: Buffer): PartitionTables['mbr'] {
  if (s0.length < 512 || s0[510] !== 0x55 || s0[511] !== 0xaa)
    return { present: false, bootCode: false, diskSignature: null, partitions: [] };
  const partitions: MbrPartition[] = [];
  for (let i = 0; i < 4; i++) {
    const e = s0.subarray(446 + i * 16, 462 + i * 16);
    const type = e[4]!;
    const sectors = e.readUInt32LE(12);
    if (type === 0 || sectors === 0) continue;
    partitions.push({
      number: i + 1,
      type: type.toString(16).padStart(2, '0'),
      bootable: e[0] === 0x80,
      offset: e.readUInt32LE(8) * 512,
      size: sectors * 512,
    });
  }
  const bootCode = s0.subarray(0, 440).some((b) => b !== 0);
  return {
    present: true,
    bootCode,
    diskSignature: s0.readUInt32LE(440).toString(16).padStart(8, '0'),
    partitions,
  };
}

const guid = (b: Buffer) => {
  const hex = (s: Buffer) => s.toString('hex').toUpperCase();
  const le = (s: Buffer) => hex(Buffer.from(s).reverse());
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
};

export async function readPartitionTables(r: ByteReader): Promise<PartitionTables> {
  const head = await r.read(0, 1024);
  const mbr = parseMbr(head.subarray(0, 512));
  const gptHeader = parseGptHeader(head.subarray(512, 1024));
  let gpt: PartitionTables['gpt'] = { present: false, diskGuid: null, partitions: [] };
  if (gptHeader && gptHeader.entriesOffset + gptHeader.count * gptHeader.entrySize <= r.size) {
    const entries = await r.read(gptHeader.entriesOffset, gptHeader.count * gptHeader.entrySize);
    gpt = {
      present: true,
      diskGuid: guid(head.subarray(512 + 56, 512 + 72)),
      partitions: parseGptEntries(entries, gptHeader.count, gptHeader.entrySize),
    };
  }
  const partitions: Partition[] = gpt.present
    ? gpt.partitions.map((p) => ({
        table: 'gpt',
        number: p.number,
        name: p.name,
        type: p.typeGuid,
        typeName: GPT_TYPES[p.typeGuid] ?? 'unknown',
        offset: p.offset,
        size: p.size,
        firstLba: p.offset / 512,
        lastLba: (p.offset + p.size) / 512 - 1,
        filesystem: null,
      }))
    : mbr.partitions.map((p) => ({
        table: 'mbr',
        number: p.number,
        name: '',
        type: p.type,
        typeName: MBR_TYPES[p.type] ?? 'unknown',
        offset: p.offset,
        size: p.size,
        firstLba: p.offset / 512,
        lastLba: (p.offset + p.size) / 512 - 1,
        filesystem: null,
      }));
  return { mbr, gpt, partitions };
}

/** An EFI System partition, by GPT type or MBR type ef. */
export const isEsp = (p: Partition): boolean => p.type === ESP_TYPE || p.type === 'ef';

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
