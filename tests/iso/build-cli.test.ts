// `emt-usb build` as a user meets it: bad input gives exit code 2, one line naming
// the file and the problem, and no file left in the output folder; a good build
// prints its result, JSON lines with --json.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBar } from '../../electron/cli/build.ts';
import { main } from '../../electron/cli/index.ts';
import { buildInstaller } from '../../electron/jobs/build.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { seededBytes } from './build-fixture.ts';

let dir: string;
let kit: string;
let os: string;
const mounts: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-build-cli-'));
  kit = (await sampleBootkit('gzip')).tarball;
  os = join(dir, 'os.img');
  await writeFile(os, seededBytes('cli-os', 2 * 2 ** 20));
});
afterAll(async () => {
  for (const m of mounts) execFileSync('umount', [m]);
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['build', ...args], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTty: false,
  });
  return { code, out, err };
}

async function outDir(name: string): Promise<string> {
  const d = join(dir, name);
  await mkdir(d);
  return d;
}

async function tmpfs(name: string, opts: string): Promise<string> {
  const m = await outDir(name);
  execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', m]);
  mounts.push(m);
  return m;
}

/** Exit 2, exactly one stderr line matching `msg`, nothing left in `folder`. */
async function refused(args: string[], msg: RegExp, folder: string): Promise<void> {
  const r = await cli(args);
  expect(r.err, r.err.join('\n')).toHaveLength(1);
  expect(r.err[0]).toMatch(/^emt-usb build: /);
  expect(r.err[0]).toMatch(msg);
  expect(r.code).toBe(2);
  expect(await readdir(folder)).toEqual([]);
}

describe('emt-usb build refuses bad input cleanly', () => {
  it('a missing OS image', async () => {
    const d = await outDir('o1');
    await refused(
      ['--bootkit', kit, '--os-image', join(dir, 'nope.img'), '--out', join(d, 'x.iso')],
      new RegExp(`OS image ${join(dir, 'nope.img')} does not exist`),
      d,
    );
  });

  it('an OS image that is a folder', async () => {
    const d = await outDir('o2');
    await refused(
      ['--bootkit', kit, '--os-image', dir, '--out', join(d, 'x.iso')],
      /is not a regular file/,
      d,
    );
  });

  it('a wrong sha256', async () => {
    const d = await outDir('o3');
    const sums = join(dir, 'os.img.sha256');
    await writeFile(sums, `${'0'.repeat(64)}  os.img\n`);
    await refused(
      ['--bootkit', kit, '--os-image', os, '--os-image-sha256', sums, '--out', join(d, 'x.iso')],
      /OS image .*os\.img has sha256 [0-9a-f]{64}, but 0{64} was expected/,
      d,
    );
  });

  it('a label with illegal characters', async () => {
    const d = await outDir('o4');
    await refused(
      ['--bootkit', kit, '--os-image', os, '--label', 'emt-inst 1', '--out', join(d, 'x.iso')],
      /volume label 'emt-inst 1' has illegal characters \("e", .*"-", .*space.*\): use A-Z, 0-9 and _ only/,
      d,
    );
  });

  it('an output folder on a read-only file system', async () => {
    const ro = await tmpfs('ro', 'ro,size=4m');
    await refused(
      ['--bootkit', kit, '--os-image', os, '--out', join(ro, 'x.iso')],
      new RegExp(`output folder ${ro} is on a read-only file system`),
      ro,
    );
  });

  it('an output folder without enough space', async () => {
    const small = await tmpfs('small', 'size=32m');
    await refused(
      ['--bootkit', kit, '--os-image', os, '--out', join(small, 'x.iso')],
      /not enough space for .*x\.iso: \d+ MiB needed, 32 MiB free/,
      small,
    );
  });

  it('a bootkit without a tool the installer needs, unless allowed', async () => {
    const noParted = (await sampleBootkit('no-parted')).tarball;
    const d = await outDir('o7');
    await refused(
      ['--bootkit', noParted, '--os-image', os, '--out', join(d, 'x.iso')],
      /lacks what the installer needs: parted \(no parted\) \(--allow-missing-tools builds anyway\)/,
      d,
    );
    const r = await cli([
      '--bootkit',
      noParted,
      '--os-image',
      os,
      '--allow-missing-tools',
      '--out',
      join(d, 'x.iso'),
    ]);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.err).toEqual(['warning: the bootkit lacks parted']);
    expect((await readdir(d)).sort()).toEqual(['x.iso', 'x.iso.sha256']);
  });

  it('unknown options and missing inputs', async () => {
    const d = await outDir('o8');
    await refused(
      ['--bootkit', kit, '--os-image', os, '--out', join(d, 'x.iso'), '--bois'],
      /unknown option --bois/,
      d,
    );
    await refused(
      ['--os-image', os, '--out', join(d, 'x.iso')],
      /give --bootkit <tar\.gz>, or --kernel F and --initramfs F/,
      d,
    );
    await refused(['--bootkit', kit, '--out', join(d, 'x.iso')], /missing required option --os-image/, d);
    await refused(
      ['--bootkit', kit, '--os-image', os, '--out', os],
      /--out .*os\.img is one of the inputs/,
      d,
    );
    await refused(
      ['--bootkit', kit, '--os-image', os, '--engine', 'fast', '--out', join(d, 'x.iso')],
      /--engine must be auto, wasm or native/,
      d,
    );
  });
});

describe('emt-usb build succeeds', () => {
  it('prints JSON lines with --json: progress, then the result', async () => {
    const d = await outDir('ok');
    const r = await cli([
      '--bootkit',
      kit,
      '--os-image',
      os,
      '--source-date-epoch',
      '1764115200',
      '--out',
      join(d, 'a.iso'),
      '--json',
    ]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const lines = r.out.map((l) => JSON.parse(l));
    const stages = new Set(lines.filter((l) => l.type === 'progress').map((l) => l.stage));
    for (const s of ['inspect', 'verify', 'inject', 'images', 'master', 'checksum'])
      expect(stages).toContain(s);
    const result = lines.at(-1);
    expect(result.type).toBe('result');
    expect(result.iso).toBe(join(d, 'a.iso'));
    expect(result.sha256).toBe(
      execFileSync('sha256sum', [join(d, 'a.iso')], { encoding: 'utf8' }).slice(0, 64),
    );
    expect(result.manifest.label).toBe('EMT_INST_20251126');
    expect((await readdir(d)).sort()).toEqual(['a.iso', 'a.iso.sha256']);
  });

  it('takes a kernel and an initramfs given apart, like their tarball', async () => {
    const sample = await sampleBootkit('gzip');
    const d = await outDir('pair');
    const common = ['--os-image', os, '--source-date-epoch', '1764115200', '--json'];
    const a = await cli([
      '--kernel',
      sample.kernel,
      '--initramfs',
      sample.initramfs,
      ...common,
      '--out',
      join(d, 'p.iso'),
    ]);
    expect(a.code, a.err.join('\n')).toBe(0);
    const pair = JSON.parse(a.out.at(-1)!);
    expect(pair.manifest.bootkit.kernelVersion).toBe(sample.kernelVersion);
    expect(pair.manifest.bootkit.source).toBe(sample.kernel.split('/').at(-1));
    // The same kernel and grub.cfg inside, whichever way they came in (the initrd
    // differs: its installer.conf carries the build id, which names the inputs).
    const b = await cli(['--bootkit', sample.tarball, ...common, '--out', join(d, 't.iso')]);
    const tarball = JSON.parse(b.out.at(-1)!);
    const inner = (m: { files: { path: string; sha256: string }[] }) =>
      m.files.filter((f) => ['/boot/vmlinuz', '/boot/grub/grub.cfg'].includes(f.path)).map((f) => f.sha256);
    expect(inner(pair.manifest)).toHaveLength(2);
    expect(inner(pair.manifest)).toEqual(inner(tarball.manifest));
    expect(pair.manifest.buildId).not.toBe(tarball.manifest.buildId);
  });

  it('removes its work folder when cancelled mid-build', async () => {
    const d = await outDir('cancel');
    const ac = new AbortController();
    const run = buildInstaller({
      bootkit: kit,
      osImage: os,
      out: join(d, 'c.iso'),
      onProgress: (e) => {
        if (e.stage === 'inject' && e.done > 0) ac.abort();
      },
      signal: ac.signal,
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await readdir(d)).toEqual([]);
  });
});

describe('renderBar', () => {
  it('draws a bar with percent and speed for known totals, the count otherwise', () => {
    expect(renderBar({ stage: 'master', done: 50, total: 200, unit: 'bytes' }, 3 * 2 ** 20, 8)).toBe(
      'master    [##------]  25%  3.0 MiB/s',
    );
    expect(renderBar({ stage: 'verify', done: 200, total: 200, unit: 'bytes' }, undefined, 4)).toBe(
      'verify    [####] 100%',
    );
    expect(renderBar({ stage: 'inject', done: 5 * 2 ** 20, total: null, unit: 'bytes' }, undefined)).toBe(
      'inject    5.0 MiB',
    );
    expect(renderBar({ stage: 'images', done: 0, total: null, unit: 'steps' }, undefined)).toBe('images');
  });
});
