// GPT naming on bytes: tables made by sgdisk (a tool we did not write), named by
// nameGptPartitions, then read back by sgdisk (names, `-v` verifies both copies and
// their CRCs) and by our reader; idempotent, and refusing what is not a sound GPT.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGptEntries, parseGptHeader } from '../../electron/flash/gpt.ts';
import { GptNameError, gptNamePatch, nameGptPartitions } from '../../electron/iso/gpt-names.ts';

let dir: string;
let blank: Buffer;
const NAMES = new Map([
  [2, 'ESP'],
  [3, 'EMTCONFIG'],
]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-gptnames-'));
  const img = join(dir, 'disk.img');
  await writeFile(img, Buffer.alloc(8 << 20));
  execFileSync('sgdisk', [
    ...['-n', '1:2048:+1M', '-t', '1:0700', '-c', '1:ISO9660'],
    ...['-n', '2:0:+2M', '-t', '2:ef00', '-c', '2:Appended2'],
    ...['-n', '3:0:+2M', '-t', '3:0700', '-c', '3:Appended3'],
    img,
  ]);
  blank = await readFile(img);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sgdisk(image: Buffer, ...args: string[]): Promise<string> {
  const f = join(dir, `check-${Math.random().toString(36).slice(2)}.img`);
  await writeFile(f, image);
  try {
    return execFileSync('sgdisk', [...args, f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    await rm(f);
  }
}

const names = (out: string): string[] =>
  [...out.matchAll(/^\s+\d+\s+\d+\s+\d+\s+\S+ \S+\s+\S+\s+(.*)$/gm)].map((m) => m[1]!.trim());

function ourNames(image: Buffer, backup: boolean): string[] {
  const lba = backup ? image.length - 512 : 512;
  const h = parseGptHeader(image.subarray(lba, lba + 512))!;
  const at = h.entriesOffset;
  return parseGptEntries(image.subarray(at, at + h.count * h.entrySize), h.count, h.entrySize).map(
    (p) => p.name,
  );
}

describe('nameGptPartitions', () => {
  it('names partitions in both copies; sgdisk reads the names and verifies the table', async () => {
    const named = nameGptPartitions(blank, NAMES);
    expect(names(await sgdisk(named, '-p'))).toEqual(['ISO9660', 'ESP', 'EMTCONFIG']);
    expect(await sgdisk(named, '-v')).toMatch(/No problems found/);
    expect(ourNames(named, false)).toEqual(['ISO9660', 'ESP', 'EMTCONFIG']);
    expect(ourNames(named, true)).toEqual(['ISO9660', 'ESP', 'EMTCONFIG']);
    // With only the backup left, sgdisk still finds the names (backup CRCs valid).
    const noPrimary = Buffer.from(named);
    noPrimary.fill(0, 512, 1024);
    const fromBackup = await sgdisk(noPrimary, '-p');
    expect(names(fromBackup)).toEqual(['ISO9660', 'ESP', 'EMTCONFIG']);
  });

  it('changes only the names and the four CRC fields, and leaves its input alone', () => {
    const before = Buffer.from(blank);
    const named = nameGptPartitions(blank, NAMES);
    expect(blank.equals(before)).toBe(true);
    const changed: number[] = [];
    for (let i = 0; i < blank.length; i++) if (blank[i] !== named[i]) changed.push(i);
    const h = parseGptHeader(blank.subarray(512, 1024))!;
    const back = blank.length - 512;
    const backEntries = Number(blank.readBigUInt64LE(back + 72)) * 512;
    const allowed = (i: number): boolean =>
      (i >= 512 + 16 && i < 512 + 20) ||
      (i >= 512 + 88 && i < 512 + 92) ||
      (i >= back + 16 && i < back + 20) ||
      (i >= back + 88 && i < back + 92) ||
      [h.entriesOffset, backEntries].some((e) =>
        [1, 2].some((k) => i >= e + k * 128 + 56 && i < e + k * 128 + 128),
      );
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.filter((i) => !allowed(i))).toEqual([]);
    // The header CRCs are right by the spec's rule (CRC field zeroed while summed).
    for (const at of [512, back]) {
      const hdr = Buffer.from(named.subarray(at, at + named.readUInt32LE(at + 12)));
      const want = hdr.readUInt32LE(16);
      hdr.writeUInt32LE(0, 16);
      expect(crc32(hdr)).toBe(want);
    }
  });

  it('is idempotent and reproducible', () => {
    const once = nameGptPartitions(blank, NAMES);
    expect(nameGptPartitions(once, NAMES).equals(once)).toBe(true);
    expect(nameGptPartitions(blank, NAMES).equals(once)).toBe(true);
  });

  it('as a stream patch: head then tail give the same bytes as the whole-image function', () => {
    const p = gptNamePatch(NAMES);
    const head = p.head(blank.subarray(0, p.headBytes));
    expect(head.tailAt).not.toBeNull();
    const tail = p.tail(blank.subarray(head.tailAt!));
    const out = Buffer.concat([head.bytes, blank.subarray(p.headBytes, head.tailAt!), tail]);
    expect(out.equals(nameGptPartitions(blank, NAMES))).toBe(true);
  });

  it('refuses what is not a sound GPT, naming the problem', () => {
    const code = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(GptNameError);
        return `${(e as GptNameError).code}: ${(e as Error).message}`;
      }
      return 'no error';
    };
    expect(code(() => nameGptPartitions(Buffer.alloc(1 << 20), NAMES))).toMatch(
      /^NOT_GPT: no GPT primary header/,
    );
    const badCrc = Buffer.from(blank);
    badCrc.writeUInt8(badCrc.readUInt8(512 + 40) ^ 1, 512 + 40); // first usable LBA, under the header CRC
    expect(code(() => nameGptPartitions(badCrc, NAMES))).toBe(
      'BAD_GPT: GPT primary header CRC does not match',
    );
    const badEntries = Buffer.from(blank);
    badEntries.writeUInt8(badEntries.readUInt8(1024 + 40) ^ 1, 1024 + 40); // partition 1 last LBA, under the entry array CRC
    expect(code(() => nameGptPartitions(badEntries, NAMES))).toBe(
      'BAD_GPT: GPT primary entry array CRC does not match',
    );
    const noBackup = Buffer.from(blank);
    noBackup.fill(0, noBackup.length - 512);
    expect(code(() => nameGptPartitions(noBackup, NAMES))).toMatch(/^NOT_GPT: no GPT backup header/);
    expect(code(() => nameGptPartitions(blank, new Map([[4, 'X']])))).toBe(
      "NO_SUCH_PARTITION: GPT has no partition 4 to name 'X'",
    );
    expect(code(() => nameGptPartitions(blank, new Map([[2, 'x'.repeat(37)]])))).toMatch(/^BAD_NAME: /);
    expect(nameGptPartitions(blank, new Map([[2, 'x'.repeat(36)]])).length).toBe(blank.length);
  });
});
