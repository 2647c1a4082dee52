// npm run bench:preview - "preview of a 4 GB ISO answers in under 2 s", side by
// side with what a person runs today to see the same: `xorriso -indev X
// -report_el_torito plain` (boot catalog) + `7z l X` (the tree).
// The ISO is a real emt-usb build from the sample bootkit with a sparse
// EMT_BENCH_GB (default 4) GB OS image, cached under $EMT_CACHE_DIR/bench-preview.
// Each contender runs EMT_BENCH_RUNS (default 5) times, interleaved; medians
// printed. `preview (engine)` is the job in-process; `emt-usb preview --json` adds
// the CLI's start-up. Page cache is warm for all (the same for every contender).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildInstaller } from '../electron/jobs/build.ts';
import { previewImage } from '../electron/preview/preview.ts';
import { sampleBootkit } from '../tests/fixtures/sample-bootkit.ts';

const GB = Number(process.env.EMT_BENCH_GB ?? 4);
const RUNS = Number(process.env.EMT_BENCH_RUNS ?? 5);
const root = resolve(fileURLToPath(import.meta.url), '../..');
const cache = join(process.env.EMT_CACHE_DIR || join(homedir(), '.cache', 'emt-usb'), 'bench-preview');

async function bigIso(): Promise<string> {
  const iso = join(cache, `installer-${GB}G.iso`);
  if (existsSync(iso)) return iso;
  mkdirSync(cache, { recursive: true });
  const os = join(cache, `os-${GB}G.raw`);
  const fd = openSync(os, 'w');
  ftruncateSync(fd, Math.round(GB * 1e9) - (1 << 20)); // sparse: a 4 GB ISO without 4 GB of writes to make it
  closeSync(fd);
  const kit = await sampleBootkit('gzip');
  const tmp = join(cache, `tmp-${process.pid}.iso`);
  process.stderr.write(`bench:preview: building a ${GB} GB installer ISO once (cached)...\n`);
  await buildInstaller({
    bootkit: kit.tarball,
    osImage: os,
    sourceDateEpoch: 1_764_115_200,
    bios: true,
    out: tmp,
  });
  renameSync(tmp, iso);
  rmSync(`${tmp}.sha256`, { force: true });
  rmSync(os, { force: true });
  return iso;
}

function timedCommands(argvs: string[][]): number {
  const t0 = performance.now();
  for (const [cmd, ...args] of argvs) {
    const r = spawnSync(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: root, maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  }
  return (performance.now() - t0) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const iso = await bigIso();
  const have7z = spawnSync('7z', ['i'], { stdio: 'ignore' }).status === 0;
  const contenders: { name: string; run: () => Promise<number> }[] = [
    {
      name: 'preview (engine, in-process)',
      run: async () => {
        const t0 = performance.now();
        await previewImage(iso);
        return (performance.now() - t0) / 1000;
      },
    },
    {
      name: 'emt-usb preview --json (CLI)',
      run: async () => timedCommands([['node', 'bin/emt-usb.js', 'preview', iso, '--json']]),
    },
    {
      name: 'xorriso -report_el_torito plain',
      run: async () => timedCommands([['xorriso', '-indev', iso, '-report_el_torito', 'plain']]),
    },
  ];
  if (have7z) {
    contenders.push({ name: '7z l', run: async () => timedCommands([['7z', 'l', iso]]) });
    contenders.push({
      name: 'xorriso report + 7z l (today)',
      run: async () =>
        timedCommands([
          ['xorriso', '-indev', iso, '-report_el_torito', 'plain'],
          ['7z', 'l', iso],
        ]),
    });
  }
  const times = new Map(contenders.map((c) => [c.name, [] as number[]]));
  await contenders[0]!.run(); // warm the page cache for everyone
  for (let i = 0; i < RUNS; i++) for (const c of contenders) times.get(c.name)!.push(await c.run());
  const p = (await previewImage(iso)).report;
  console.log(
    `bench:preview on ${iso} (${(p.input.size / 1e9).toFixed(2)} GB), ${RUNS} runs, load ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(
    `  preview read ${(p.bytesRead / 2 ** 20).toFixed(1)} MiB of it (initramfs ${(p.initramfs.size / 2 ** 20).toFixed(1)} MiB)`,
  );
  console.log('  contender                          median s   min s');
  for (const c of contenders) {
    const t = times.get(c.name)!;
    console.log(
      `  ${c.name.padEnd(34)} ${median(t).toFixed(3).padStart(8)} ${Math.min(...t)
        .toFixed(3)
        .padStart(7)}`,
    );
  }
  const engine = median(times.get(contenders[0]!.name)!);
  const cli = median(times.get(contenders[1]!.name)!);
  console.log(
    `  under 2 s: engine ${engine < 2 ? 'yes' : 'NO'} (${engine.toFixed(2)} s), CLI ${cli < 2 ? 'yes' : 'NO'} (${cli.toFixed(2)} s)`,
  );
}

await main();
