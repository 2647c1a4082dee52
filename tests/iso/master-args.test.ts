import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASIC_DATA_TYPE_GUID,
  ESP_TYPE_GUID,
  escapePathspec,
  type MasterArgsInput,
  masterArgs,
  timestring,
} from '../../electron/iso/master-args.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-master-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const input = (over: Partial<MasterArgsInput> = {}): MasterArgsInput => ({
  out: '/o/x.iso',
  label: 'EMT_INST_20251126',
  sourceDateEpoch: 1_764_115_200,
  grafts: [{ isoPath: '/boot/vmlinuz', diskPath: '/in/vmlinuz' }],
  espImage: '/t/esp.img',
  configImage: '/t/config.img',
  ...over,
});

/** The value following a flag in an argv. */
const valueAfter = (argv: string[], flag: string): string | undefined => argv[argv.indexOf(flag) + 1];

describe('masterArgs', () => {
  it('gives the proven EFI layout with reproducible dates', () => {
    const a = masterArgs(input());
    expect(a.slice(0, 2)).toEqual(['-as', 'mkisofs']);
    expect(valueAfter(a, '-o')).toBe('/o/x.iso');
    expect(valueAfter(a, '-V')).toBe('EMT_INST_20251126');
    expect(valueAfter(a, '-iso-level')).toBe('3');
    for (const f of ['-joliet', '-joliet-long', '-rational-rock', '-appended_part_as_gpt', '-no-emul-boot']) {
      expect(a).toContain(f);
    }
    expect(a).toContain('--modification-date=2025112600000000');
    expect(valueAfter(a, '--set_all_file_dates')).toBe('=1764115200');
    expect(valueAfter(a, '--gpt_disk_guid')).toBe('modification-date');
    expect(valueAfter(a, '-partition_offset')).toBe('16');
    const i2 = a.indexOf('-append_partition');
    expect(a.slice(i2, i2 + 4)).toEqual(['-append_partition', '2', ESP_TYPE_GUID, '/t/esp.img']);
    const i3 = a.indexOf('-append_partition', i2 + 1);
    expect(a.slice(i3, i3 + 4)).toEqual(['-append_partition', '3', BASIC_DATA_TYPE_GUID, '/t/config.img']);
    expect(valueAfter(a, '-e')).toBe('--interval:appended_partition_2:all::');
    expect(a).not.toContain('--grub2-mbr');
    expect(a.at(-1)).toBe('/boot/vmlinuz=/in/vmlinuz');
  });

  it('adds the BIOS entry first, then the EFI one', () => {
    const a = masterArgs(input({ bios: { hybridMbr: '/r/boot_hybrid.img' } }));
    expect(valueAfter(a, '--grub2-mbr')).toBe('/r/boot_hybrid.img');
    expect(valueAfter(a, '-eltorito-boot')).toBe('boot/grub/i386-pc/eltorito.img');
    expect(a.indexOf('-eltorito-boot')).toBeLessThan(a.indexOf('-eltorito-alt-boot'));
    expect(a.indexOf('-eltorito-alt-boot')).toBeLessThan(a.indexOf('-e'));
    expect(a).toContain('--grub2-boot-info');
  });

  it('leaves out the El Torito EFI entry for an ESP over 32 MiB (GPT partition 2 only)', () => {
    const a = masterArgs(input({ efiElTorito: false }));
    expect(a).not.toContain('-e');
    expect(a).not.toContain('-eltorito-catalog');
    expect(valueAfter(a, '-append_partition')).toBe('2');
    // With --bios, GRUB's El Torito entry stays, alone.
    const b = masterArgs(input({ efiElTorito: false, bios: { hybridMbr: '/r/boot_hybrid.img' } }));
    expect(valueAfter(b, '-eltorito-boot')).toBe('boot/grub/i386-pc/eltorito.img');
    expect(b).toContain('-eltorito-catalog');
    expect(b).not.toContain('-eltorito-alt-boot');
    expect(b).not.toContain('-e');
  });

  it('escapes = and \\ in pathspecs', () => {
    expect(escapePathspec('/a=b\\c')).toBe('/a\\=b\\\\c');
    expect(timestring(0)).toBe('1970010100000000');
    expect(timestring(1_764_158_645)).toBe('2025112612040500');
  });
});

describe('masterArgs under real xorriso', () => {
  it('masters an image with both appended partitions, odd names intact, same bytes twice', async () => {
    const src = join(dir, 'src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'vmlinuz'), 'kernel');
    await writeFile(join(src, 'we=ird\\name'), 'odd');
    const esp = join(dir, 'esp.img');
    const cfg = join(dir, 'cfg.img');
    execFileSync('mkfs.fat', ['-C', '-i', '12345678', '-n', 'ESP', esp, '2048']);
    execFileSync('mkfs.fat', ['-C', '-F', '32', '-i', '87654321', '-n', 'EMTCONFIG', cfg, '33792']);
    const master = (out: string, epochEnv: boolean) => {
      const argv = masterArgs(
        input({
          out,
          espImage: esp,
          configImage: cfg,
          grafts: [
            { isoPath: '/boot/vmlinuz', diskPath: join(src, 'vmlinuz') },
            { isoPath: '/images/we=ird\\name', diskPath: join(src, 'we=ird\\name') },
          ],
        }),
      );
      const env: NodeJS.ProcessEnv = { ...process.env, LANG: 'C.UTF-8' };
      if (epochEnv) env.SOURCE_DATE_EPOCH = '1764115200';
      else delete env.SOURCE_DATE_EPOCH;
      execFileSync('xorriso', argv, { env, stdio: 'pipe' });
    };
    const a = join(dir, 'a.iso');
    const b = join(dir, 'b.iso');
    master(a, true);
    // A second later, without SOURCE_DATE_EPOCH in the environment: the argv alone
    // must pin every date and GUID.
    await new Promise((r) => setTimeout(r, 1100));
    master(b, false);
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);

    const listing = execFileSync('xorriso', ['-indev', a, '-find', '/', '-exec', 'lsdl', '--'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(listing).toContain("'/images/we=ird\\name'");
    expect(listing).toMatch(/Nov 26 {2}2025 '\/boot\/vmlinuz'/);
    const gpt = execFileSync('sgdisk', ['-p', a], { encoding: 'utf8' });
    expect(gpt).toMatch(/^\s+2\s+\d+\s+\d+\s+2\.0 MiB\s+EF00\s+Appended2$/m);
    expect(gpt).toMatch(/^\s+3\s+\d+\s+\d+\s+33\.0 MiB\s+0700\s+Appended3$/m);
    expect(gpt).not.toMatch(/Gap/);
  });
});
