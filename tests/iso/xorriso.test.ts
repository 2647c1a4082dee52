// Both xorriso engines on real trees: the wasm build must give the same bytes as
// Debian's native xorriso, twice in a row; failures and cancels must be typed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsoError } from '../../electron/iso/errors.ts';
import { detectEngines, runXorriso, XorrisoError, xorrisoVersion } from '../../electron/iso/xorriso.ts';
import { findNative, wasmDir } from '../../electron/iso/xorriso-engines.ts';
import type { ProgressEvent } from '../../electron/progress.ts';

const EPOCH = 1_764_158_400; // 2025-11-26 12:00:00 UTC
const EPOCH_DATE = '2025112612000000'; // the same instant, mkisofs' YYYYMMDDhhmmsscc
const ESP_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const MBR_TYPE = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';

const haveNative = (await findNative()) !== null;

let dir = '';
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

// A small tree that exercises what differed between engines before: many equal
// sort weights, sub-second mtimes that Node would round up, UTF-8 names, a symlink.
function makeTree(root: string): void {
  const files: [string, string | Buffer][] = [
    ['boot/vmlinuz', Buffer.alloc(300_000, 7)],
    ['boot/initrd.img', Buffer.alloc(700_001, 3)],
    ['boot/grub/grub.cfg', 'set timeout=0\nmenuentry "EMT" { linux /boot/vmlinuz root=tmpfs }\n'],
    ['EFI/BOOT/BOOTX64.EFI', Buffer.alloc(4096, 0x4d)],
    ['images/os.raw', Buffer.alloc(1_048_576 + 17, 0xa5)],
    ['images/os.raw.sha256', 'x  os.raw\n'],
    ['.disk/info', 'EMT installer test\n'],
    ['docs/ünïcödé name.txt', 'utf-8 names\n'],
    ['docs/a-very-long-file-name-that-needs-joliet-long-and-full-iso9660-names.txt', 'long\n'],
  ];
  for (let i = 0; i < 60; i++)
    files.push([`many/file-${String(i).padStart(3, '0')}.txt`, `file ${i}\n`.repeat(i)]);
  let t = 1_700_000_000.9996; // .9996 s: Node rounds this up to the next second
  for (const [rel, data] of files) {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
    utimesSync(p, t, t);
    t += 3601.25;
  }
  symlinkSync('../boot/vmlinuz', join(root, 'docs/kernel-link'));
}

// An ESP image made by the FAT tools, appended as GPT partition 2.
function makeEsp(file: string, tree: string): void {
  execFileSync('mkfs.fat', ['-C', '--invariant', '-n', 'ESP', file, '2048'], { stdio: 'ignore' });
  execFileSync('mmd', ['-i', file, '::/EFI', '::/EFI/BOOT']);
  execFileSync('mcopy', ['-m', '-i', file, join(tree, 'EFI/BOOT/BOOTX64.EFI'), '::/EFI/BOOT/BOOTX64.EFI']);
}

const mkisofsArgv = (out: string) => [
  '-as',
  'mkisofs',
  '-o',
  out,
  '-V',
  'EMT_TEST_20251126',
  '-iso-level',
  '3',
  '-full-iso9660-filenames',
  '-joliet',
  '-joliet-long',
  '-rational-rock',
  '-partition_offset',
  '16',
  '-append_partition',
  '2',
  ESP_GUID,
  join(dir, 'esp.img'),
  '-appended_part_as_gpt',
  '-iso_mbr_part_type',
  MBR_TYPE,
  '-eltorito-catalog',
  'boot/boot.cat',
  '-e',
  '--interval:appended_partition_2:all::',
  '-no-emul-boot',
  `--modification-date=${EPOCH_DATE}`,
  join(dir, 'tree'),
];

const nativeArgv = (out: string) => [
  '-outdev',
  out,
  '-volid',
  'EMT_TEST_20251126',
  '-joliet',
  'on',
  '-rockridge',
  'on',
  '-compliance',
  'iso_9660_level=3:long_names:joliet_long_names',
  '-volume_date',
  'all_file_dates',
  `=${EPOCH}`,
  '-map',
  join(dir, 'tree'),
  '/',
  '-append_partition',
  '2',
  ESP_GUID,
  join(dir, 'esp.img'),
  '-boot_image',
  'any',
  'partition_offset=16',
  '-boot_image',
  'any',
  'appended_part_as=gpt',
  '-boot_image',
  'any',
  `iso_mbr_part_type=${MBR_TYPE}`,
  '-boot_image',
  'any',
  'cat_path=/boot/boot.cat',
  '-boot_image',
  'any',
  'efi_path=--interval:appended_partition_2:all::',
];

// 256 MiB of random bytes: big enough to outlast a few progress ticks.
function bigTree(): string {
  const big = join(dir, 'big');
  if (!existsSync(big)) {
    mkdirSync(big, { recursive: true });
    execFileSync('dd', ['if=/dev/urandom', `of=${join(big, 'payload.bin')}`, 'bs=1M', 'count=256'], {
      stdio: 'ignore',
    });
    // Plus a sparse 1 GiB: cheap to make, yet long enough to write that the
    // pacifier (every 0.25 s) reports at least once on an idle, fast machine.
    execFileSync('truncate', ['-s', '1G', join(big, 'sparse.bin')]);
  }
  return big;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'emt-xorriso-'));
  makeTree(join(dir, 'tree'));
  makeEsp(join(dir, 'esp.img'), join(dir, 'tree'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The wasm build is part of set-up: when it is missing these fail ("run npm run setup").
describe('wasm engine', () => {
  it('runs -version', async () => {
    const r = await runXorriso(['-version'], { engine: 'wasm' });
    expect(r.engine).toBe('wasm');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^xorriso version\s+:\s+1\.5\.4$/m);
    expect(await xorrisoVersion('wasm')).toBe('1.5.4');
  });

  it('auto picks native when it is on PATH, else wasm', async () => {
    const auto = await runXorriso(['-version'], {});
    expect(auto.engine).toBe(haveNative ? 'native' : 'wasm');
    const savedPath = process.env.PATH;
    process.env.PATH = join(dir, 'empty-path');
    try {
      expect((await runXorriso(['-version'], { engine: 'auto' })).engine).toBe('wasm');
      await expect(runXorriso(['-version'], { engine: 'native' })).rejects.toMatchObject({
        code: 'NO_NATIVE',
      });
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('ships its licence and the names of its source packages beside it', () => {
    const dist = wasmDir();
    const sources = readFileSync(join(dist, 'SOURCES.txt'), 'utf8');
    for (const pkg of ['libburn 1.5.4-1', 'libisofs 1.5.4-1', 'libisoburn 1.5.4-4'])
      expect(sources).toContain(pkg);
    expect(sources).toMatch(/GNU General Public License/);
    for (const lib of ['libburn', 'libisofs', 'libisoburn']) {
      expect(readFileSync(join(dist, `COPYING.${lib}`), 'utf8')).toMatch(/GNU GENERAL PUBLIC LICENSE/);
    }
  });

  it('is listed by detectEngines', async () => {
    const found = await detectEngines();
    expect(found.wasm).toMatchObject({ engine: 'wasm', version: '1.5.4' });
    if (haveNative) expect(found.native).toMatchObject({ engine: 'native', version: '1.5.4' });
  });
});

describe.skipIf(!haveNative)('native and wasm give the same bytes', () => {
  for (const [mode, argv] of [
    ['mkisofs emulation', mkisofsArgv],
    ['native commands', nativeArgv],
  ] as const) {
    it(`${mode}: same sha256 on both engines and on a second run`, async () => {
      const sums: Record<string, string> = {};
      for (const [name, engine] of [
        ['native', 'native'],
        ['wasm', 'wasm'],
        ['wasm2', 'wasm'],
      ] as const) {
        const out = join(dir, `${mode.replace(/ /g, '-')}-${name}.iso`);
        const r = await runXorriso(argv(out), { engine, sourceDateEpoch: EPOCH });
        expect(r.engine).toBe(engine);
        sums[name] = sha256(out);
      }
      expect(sums.wasm).toBe(sums.native);
      expect(sums.wasm2).toBe(sums.wasm);

      // Checked by the tools themselves: El Torito EFI entry and GPT with the ESP.
      const iso = join(dir, `${mode.replace(/ /g, '-')}-wasm.iso`);
      const report = await runXorriso(
        ['-indev', iso, '-report_el_torito', 'plain', '-report_system_area', 'plain'],
        { engine: 'native' },
      );
      expect(report.stdout).toMatch(/El Torito boot img :\s+1\s+UEFI\s+y\s+none/);
      expect(report.stdout).toMatch(/GPT partname local :\s+2\s+/);
      expect(report.stdout).toMatch(/GPT type GUID\s+:\s+2\s+28732ac11ff8d211ba4b00a0c93ec93b/);
      const listing = execFileSync('bsdtar', ['-tf', iso], { encoding: 'utf8' });
      expect(listing).toContain('docs/ünïcödé name.txt');
      expect(listing).toContain('many/file-059.txt');
    });
  }
});

describe('failures and cancel', () => {
  it("maps a missing input to IsoError carrying xorriso's own words, on both engines", async () => {
    const engines = haveNative ? (['wasm', 'native'] as const) : (['wasm'] as const);
    for (const engine of engines) {
      const out = join(dir, `fail-${engine}.iso`);
      const err = await runXorriso(['-as', 'mkisofs', '-o', out, join(dir, 'no-such-dir')], { engine }).catch(
        (e: unknown) => e,
      );
      // The ISO area's error type, with xorriso's exit code and own words on it.
      expect(err).toBeInstanceOf(IsoError);
      expect(err).toBeInstanceOf(XorrisoError);
      const e = err as XorrisoError;
      expect(e.code).toBe('XORRISO_FAILED');
      expect(e.area).toBe('iso');
      expect(e.exitCode).not.toBe(0);
      expect(e.message).toContain(`xorriso (${engine})`);
      expect(e.message).toContain('no-such-dir');
      expect(e.problems.some((p) => /FAILURE|SORRY/.test(p))).toBe(true);
    }
  });

  it('says "run npm run setup" when the wasm build is missing', async () => {
    const saved = process.env.EMT_XORRISO_WASM_DIR;
    process.env.EMT_XORRISO_WASM_DIR = join(dir, 'no-build-here');
    try {
      const err = await runXorriso(['-version'], { engine: 'wasm' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IsoError);
      expect((err as IsoError).code).toBe('NO_WASM');
      expect((err as IsoError).message).toMatch(/run npm run setup/);
    } finally {
      if (saved === undefined) delete process.env.EMT_XORRISO_WASM_DIR;
      else process.env.EMT_XORRISO_WASM_DIR = saved;
    }
  });

  it('rejects a bad engine name and a bad epoch before starting anything', async () => {
    await expect(runXorriso(['-version'], { engine: 'fast' as never })).rejects.toMatchObject({
      code: 'BAD_ENGINE',
    });
    await expect(runXorriso(['-version'], { engine: 'wasm', sourceDateEpoch: -1 })).rejects.toMatchObject({
      code: 'BAD_EPOCH',
    });
  });

  it('streams progress events while writing', async () => {
    const big = bigTree();
    const events: ProgressEvent[] = [];
    const r = await runXorriso(['-as', 'mkisofs', '-o', join(dir, 'progress.iso'), big], {
      engine: 'wasm',
      // Tree building reports files; writing reports percent (mkisofs style).
      onProgress: (ev) => events.push(ev),
    });
    expect(r.exitCode).toBe(0);
    const writing = events.filter((e) => e.unit === 'steps');
    expect(writing.length).toBeGreaterThanOrEqual(1);
    for (const [i, e] of writing.entries()) {
      expect(e).toMatchObject({ stage: 'master', total: 10_000 });
      expect(e.done).toBeLessThanOrEqual(10_000);
      if (i > 0) expect(e.done).toBeGreaterThanOrEqual(writing[i - 1]!.done);
    }
  });

  it('is cancelled by a kill: rejects CANCELLED and leaves no process behind', async () => {
    const big = bigTree();
    const out = join(dir, `cancel-me-${process.pid}.iso`);
    const ac = new AbortController();
    // Abort at the first sign of writing, or after 300 ms, whichever comes first.
    const timer = setTimeout(() => ac.abort(), 300);
    const err = await runXorriso(['-as', 'mkisofs', '-o', out, big], {
      engine: 'wasm',
      signal: ac.signal,
      onProgress: (ev) => {
        if (ev.unit === 'steps') ac.abort();
      },
    }).catch((e: unknown) => e);
    clearTimeout(timer);
    expect(err).toBeInstanceOf(IsoError);
    expect((err as IsoError).code).toBe('CANCELLED');
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps).not.toContain(out);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(runXorriso(['-version'], { engine: 'wasm', signal: ac.signal })).rejects.toMatchObject({
      code: 'CANCELLED',
    });
  });
});
