// masterInstallerIso on real inputs with real xorriso: the tree, the manifest, the
// `.sha256`, reproducibility, cancel, and a 5 GB (multi-extent) OS image.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MasterIsoInput, masterInstallerIso } from '../../electron/iso/build.ts';
import { sha256File } from '../../electron/iso/manifest.ts';
import { runXorriso } from '../../electron/iso/xorriso.ts';
import { ISO_TEST_EPOCH, type IsoInputs, makeIsoInputs, masterInput } from './build-fixture.ts';

let dir: string;
let inp: IsoInputs;
let osHash: { sha256: string; size: number };
const EPOCH = ISO_TEST_EPOCH;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-isobuild-'));
  inp = await makeIsoInputs(join(dir, 'in'));
  osHash = await sha256File(inp.osImage);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256sum = (p: string): string => execFileSync('sha256sum', [p], { encoding: 'utf8' }).slice(0, 64);

const input = (out: string, over: Partial<MasterIsoInput> = {}): MasterIsoInput =>
  masterInput({ inp, osHash, workRoot: dir, out }, 'native', over);

describe('masterInstallerIso', () => {
  it('beforeCommit throwing (the OS image test failed meanwhile) leaves no ISO and no temp file', async () => {
    await mkdir(join(dir, 'out-refused'));
    const out = join(dir, 'out-refused', 'installer.iso');
    let asked = 0;
    await expect(
      masterInstallerIso(
        input(out, {
          beforeCommit: async () => {
            asked++;
            throw new Error('OS image x.raw.gz: its gzip stream is truncated or corrupt');
          },
        }),
      ),
    ).rejects.toThrow(/truncated or corrupt/);
    expect(asked).toBe(1);
    expect(await readdir(join(dir, 'out-refused'))).toEqual([]);
  });

  it('masters the tree with a manifest whose hashes are the real ones', async () => {
    await mkdir(join(dir, 'out1'));
    const out = join(dir, 'out1', 'installer.iso');
    const events: string[] = [];
    const r = await masterInstallerIso(input(out, { onProgress: (e) => events.push(e.stage) }));
    expect(r.iso).toBe(out);
    expect(r.sha256).toBe(sha256sum(out));
    expect(await readFile(`${out}.sha256`, 'utf8')).toBe(`${r.sha256}  installer.iso\n`);
    expect((await readdir(join(dir, 'out1'))).sort()).toEqual(['installer.iso', 'installer.iso.sha256']);
    expect(events).toContain('stage');
    expect(events).toContain('checksum');

    // bsdtar (libarchive) reads the Rock Ridge tree.
    const list = execFileSync('bsdtar', ['-tf', out], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const p of [
      '.disk/info',
      '.disk/emt-installer',
      'emt-installer.json',
      'boot/vmlinuz',
      'boot/initrd.img',
      'boot/grub/grub.cfg',
      'EFI/BOOT/BOOTX64.EFI',
      'images/emt-os.raw.gz',
      'images/emt-os.raw.gz.sha256',
    ]) {
      expect(list.map((l) => l.replace(/^\.\//, '').replace(/\/$/, ''))).toContain(p);
    }

    // The manifest read back from the ISO, every hash recomputed from the ISO's own files.
    const x = join(dir, 'x1');
    await mkdir(x);
    execFileSync('bsdtar', ['-xf', out, '-C', x]);
    const m = JSON.parse(await readFile(join(x, 'emt-installer.json'), 'utf8'));
    expect(m).toEqual(r.manifest);
    expect(m.files.map((f: { path: string }) => f.path)).toEqual([
      '/EFI/BOOT/BOOTX64.EFI',
      '/boot/grub/grub.cfg',
      '/boot/initrd.img',
      '/boot/vmlinuz',
      '/images/emt-os.raw.gz',
      '/images/emt-os.raw.gz.sha256',
    ]);
    for (const f of m.files) expect(sha256sum(join(x, f.path))).toBe(f.sha256);
    expect(m.osImage).toEqual({ path: '/images/emt-os.raw.gz', size: osHash.size, sha256: osHash.sha256 });
    expect(m.partitions.esp.sha256).toBe(sha256sum(inp.espImage));
    expect(m.createdAt).toBe('2025-11-26T00:00:00Z');
    expect(await readFile(join(x, '.disk/emt-installer'), 'utf8')).toBe(
      'build_id=0123456789abcdef\nlabel=EMT_TEST_1\n',
    );
    // `sha256sum -c` in /images works on the stick.
    execFileSync('sha256sum', ['-c', 'emt-os.raw.gz.sha256'], { cwd: join(x, 'images'), stdio: 'pipe' });
  });

  it('gives the same bytes for the same inputs, whatever their mtimes', async () => {
    await mkdir(join(dir, 'rep'));
    const a = await masterInstallerIso(input(join(dir, 'rep', 'a.iso')));
    await utimes(inp.kernel, new Date(), new Date('2001-01-01'));
    await utimes(inp.osImage, new Date(), new Date());
    const b = await masterInstallerIso(input(join(dir, 'rep', 'b.iso')));
    expect(b.sha256).toBe(a.sha256);
    const c = await masterInstallerIso(input(join(dir, 'rep', 'c.iso'), { sourceDateEpoch: EPOCH + 1 }));
    expect(c.sha256).not.toBe(a.sha256);
  });

  it('carries user-apps, every file in the manifest', async () => {
    const apps = join(dir, 'apps');
    await mkdir(join(apps, 'charts'), { recursive: true });
    await writeFile(join(apps, 'install-extra.sh'), '#!/bin/sh\necho extra\n');
    await writeFile(join(apps, 'charts', 'app=1.tgz'), 'chart');
    await mkdir(join(dir, 'out2'));
    const out = join(dir, 'out2', 'apps.iso');
    const r = await masterInstallerIso(input(out, { userApps: apps }));
    const paths = r.manifest.files.map((f) => f.path);
    expect(paths).toContain('/user-apps/install-extra.sh');
    expect(paths).toContain('/user-apps/charts/app=1.tgz');
    const list = execFileSync('bsdtar', ['-tf', out], { encoding: 'utf8' });
    expect(list).toContain('user-apps/charts/app=1.tgz');
  });

  it('leaves nothing behind when cancelled while mastering', async () => {
    await mkdir(join(dir, 'out3'));
    const ac = new AbortController();
    const run = masterInstallerIso(
      input(join(dir, 'out3', 'c.iso'), {
        master: (argv, o) => {
          const p = runXorriso(argv, { engine: 'native', signal: o.signal });
          setTimeout(() => ac.abort(), 5);
          return p;
        },
        signal: ac.signal,
      }),
    );
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await readdir(join(dir, 'out3'))).toEqual([]);
  });

  it('keeps a previous ISO when xorriso fails', async () => {
    await mkdir(join(dir, 'out4'));
    const out = join(dir, 'out4', 'x.iso');
    await writeFile(out, 'old');
    const run = masterInstallerIso(input(out, { espImage: join(dir, 'missing-esp.img') }));
    await expect(run).rejects.toThrow(/missing-esp\.img/);
    expect(await readdir(join(dir, 'out4'))).toEqual(['x.iso']);
    expect(await readFile(out, 'utf8')).toBe('old');
  });

  it('masters a 5 GB OS image as a multi-extent file with the right bytes', async () => {
    const big = join(dir, 'in', 'big-os.img');
    const size = 5_000_000_000;
    // Sparse, with marks at the start, across the 4 GiB boundary and at the end.
    const fh = await open(big, 'w');
    await fh.truncate(size);
    await fh.write(Buffer.from('START'), 0, 5, 0);
    await fh.write(Buffer.from('ACROSS-4GiB'), 0, 11, 2 ** 32 - 5);
    await fh.write(Buffer.from('END'), 0, 3, size - 3);
    await fh.close();
    const h = await sha256File(big);
    await mkdir(join(dir, 'out5'));
    const out = join(dir, 'out5', 'big.iso');
    const r = await masterInstallerIso(input(out, { osImage: { path: big, ...h } }));
    try {
      expect(r.size).toBeGreaterThan(size);
      expect(r.manifest.osImage).toEqual({ path: '/images/big-os.img', size, sha256: h.sha256 });
      // libarchive (not xorriso) reads the file back, joining its extents.
      const back = execFileSync('sh', ['-c', 'bsdtar -xOf "$1" images/big-os.img | sha256sum', 'sh', out], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      expect(back.slice(0, 64)).toBe(h.sha256);
      const extents = execFileSync(
        'xorriso',
        ['-indev', out, '-find', '/images/big-os.img', '-exec', 'report_lba', '--'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      expect(extents.match(/^File data lba:/gm)?.length).toBeGreaterThan(1);
    } finally {
      await rm(out, { force: true });
      await rm(big, { force: true });
    }
  }, 600_000);
});
