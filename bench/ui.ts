// npm run bench:ui - the UI's numbers beside their targets:
//   bundle     renderer JS + CSS, gzipped (target <= 200 KB)
//   load       Chromium page load to the first screen ready, median of 5 (<= 300 ms)
//   build      the same build through the UI (bridge + Chromium) and the CLI,
//              interleaved, medians (UI <= 5% longer)
//   flash      two loop devices with their own hostnames, UI vs CLI, likewise
//   long tasks the longest main-thread task while two sticks flash (none > 50 ms)
// Needs root (loop devices). EMT_BENCH_RUNS (default 3) runs per contender.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { listDrives } from '../electron/flash/drive-list.ts';
import { resolveTarget } from '../electron/flash/targets.ts';
import { runJob } from '../electron/jobs/registry.ts';
import { startUiBridge } from '../scripts/ui-bridge/server.ts';
import { sampleBootkit } from '../tests/fixtures/sample-bootkit.ts';
import { seededBytes } from '../tests/iso/build-fixture.ts';
import { buildRenderer, launch } from '../tests/ui/browser.ts';

declare const document: { querySelectorAll(s: string): { length: number } };
declare const PerformanceObserver: new (
  cb: (list: { getEntries(): { duration: number }[] }) => void,
) => { observe(o: { type: string; buffered?: boolean }): void };

const RUNS = Number(process.env.EMT_BENCH_RUNS ?? 3);
const root = new URL('..', import.meta.url).pathname;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (s: number): string => `${s.toFixed(2)} s`;
const row = (what: string, value: string, target: string, ok: boolean): void =>
  console.log(
    `${what.padEnd(44)} ${value.padStart(14)}   target ${target.padEnd(16)} ${ok ? 'ok' : 'MISSED'}`,
  );

const dir = mkdtempSync(join(tmpdir(), 'emt-bench-ui-'));
const loops: string[] = [];
try {
  // 1. bundle size
  const out = join(dir, 'renderer');
  buildRenderer(out);
  const assets = readdirSync(join(out, 'assets'));
  const gz = assets.reduce(
    (n, f) => n + gzipSync(readFileSync(join(out, 'assets', f)), { level: 9 }).length,
    0,
  );

  // inputs shared by UI and CLI
  const kit = (await sampleBootkit('gzip')).tarball;
  const os = join(dir, 'edge-os.img');
  const osBytes = seededBytes('bench-ui-os', 8 << 20);
  writeFileSync(os, osBytes);
  writeFileSync(`${os}.sha256`, `${createHash('sha256').update(osBytes).digest('hex')}  edge-os.img\n`);
  const site = join(dir, 'site.yaml');
  writeFileSync(
    site,
    'user_name: edge\nhost_type: container\nhostname: site-default\ndns_name_server: [10.0.0.1]\n',
  );
  const pw = join(dir, 'pw.txt');
  writeFileSync(pw, 'Bench-Secret-1\n');
  for (const n of [1, 2]) {
    const f = join(dir, `stick${n}.img`);
    execFileSync('truncate', ['-s', '600M', f]);
    loops.push(execFileSync('losetup', ['-f', '--show', f], { encoding: 'utf8' }).trim());
  }
  const bridge = await startUiBridge({
    rendererDir: out,
    driveSource: async () => Promise.all(loops.map(async (l) => (await resolveTarget(l, listDrives)).drive)),
  });
  const browser = await launch();

  // 2. page load to first screen ready (fresh page each time)
  const loads: number[] = [];
  for (let i = 0; i < 5; i++) {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(bridge.url);
    await p.waitForSelector('#screen-title');
    loads.push(await p.evaluate(() => performance.getEntriesByName('emt:ready')[0]!.startTime));
    await ctx.close();
  }

  const page: Page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(bridge.url);
  await page.waitForSelector('#screen-title');
  const setPath = async (sel: string, v: string) => {
    await page.fill(sel, v);
    await page.press(sel, 'Tab');
  };

  async function uiBuild(iso: string): Promise<number> {
    await page.click('[data-screen=build]');
    await setPath('#bootkit', kit);
    await page.waitForSelector('[data-testid=inspect]');
    await setPath('#osimage', os);
    await page.waitForSelector('[data-testid=os-info]');
    bridge.dialogAnswers.push([site]);
    await page.click('text=Import config…');
    await page.fill('#pw1', 'Bench-Secret-1');
    await page.fill('#pw2', 'Bench-Secret-1');
    await page.fill('#out', iso);
    await page.waitForSelector('[data-testid=build]:not([disabled])');
    const t = performance.now();
    await page.click('[data-testid=build]');
    await page.waitForSelector('[data-testid=build-result]', { timeout: 600_000 });
    const s = (performance.now() - t) / 1000;
    rmSync(iso, { force: true });
    rmSync(`${iso}.sha256`, { force: true });
    return s;
  }

  function cliBuild(iso: string): number {
    const t = performance.now();
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'bin/emt-usb.js'),
        'build',
        '--bootkit',
        kit,
        '--os-image',
        os,
        '--os-image-sha256',
        `${os}.sha256`,
        '--config',
        site,
        '--password-file',
        pw,
        '--out',
        iso,
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`CLI build failed: ${r.stderr}`);
    const s = (performance.now() - t) / 1000;
    return s;
  }

  // The same job in this process: the CLI's work without its start-up.
  const quiet = { signal: new AbortController().signal, onProgress: () => {} };
  async function jobBuild(out: string): Promise<number> {
    const t = performance.now();
    const r = await runJob(
      'build',
      { bootkit: kit, osImage: os, osImageSha256: `${os}.sha256`, config: site, passwordFile: pw, out },
      quiet,
    );
    if ('error' in r) throw new Error(`job build failed: ${r.error.message}`);
    const s = (performance.now() - t) / 1000;
    rmSync(out, { force: true });
    rmSync(`${out}.sha256`, { force: true });
    return s;
  }

  const uiB: number[] = [];
  const cliB: number[] = [];
  const jobB: number[] = [];
  const iso = join(dir, 'bench.iso');
  for (let i = 0; i < RUNS; i++) {
    uiB.push(await uiBuild(join(dir, 'ui.iso')));
    cliB.push(cliBuild(iso));
    jobB.push(await jobBuild(join(dir, 'job.iso')));
  }

  async function uiFlash(): Promise<{ s: number; longest: number; count: number }> {
    await page.click('[data-screen=flash]');
    if (await page.isVisible('text=Flash more sticks')) await page.click('text=Flash more sticks');
    await setPath('#image', iso);
    for (const l of loops) await page.check(`li.drive[data-device="${l}"] input`);
    await page.fill(`tr[data-device="${loops[0]}"] [data-col=hostname]`, 'node-01');
    await page.fill(`tr[data-device="${loops[1]}"] [data-col=hostname]`, 'node-02');
    await page.click('[data-testid=flash]');
    await page.evaluate(() => {
      const g = globalThis as unknown as { __long: number[]; __at: number[]; __t0: number; __obs?: boolean };
      g.__long = [];
      g.__at = [];
      g.__t0 = performance.now();
      if (g.__obs) return;
      g.__obs = true;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as { duration: number; startTime: number }[]) {
          g.__long.push(e.duration);
          g.__at.push(Math.round(e.startTime - g.__t0));
        }
      }).observe({ type: 'longtask' });
    });
    const trace = process.env.EMT_BENCH_TRACE ? join(dir, 'trace.json') : '';
    if (trace) await browser.startTracing(page, { path: trace, categories: ['devtools.timeline'] });
    const t = performance.now();
    await page.click('[data-testid=confirm-write]');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-state=done]').length === 2, null, {
      timeout: 600_000,
    });
    const s = (performance.now() - t) / 1000;
    if (trace) {
      await browser.stopTracing();
      // Long top-level tasks: wall time (dur) beside the thread's CPU time (tdur).
      const ev = (
        JSON.parse(readFileSync(trace, 'utf8')) as {
          traceEvents: { name: string; dur?: number; tdur?: number; ph: string }[];
        }
      ).traceEvents;
      const top = ev.filter((e) => e.ph === 'X' && e.name === 'RunTask' && (e.dur ?? 0) > 40_000);
      console.log(
        `   trace: ${top.length} tasks over 40 ms wall: ${top.map((e) => `${((e.dur ?? 0) / 1000).toFixed(0)} ms wall / ${((e.tdur ?? 0) / 1000).toFixed(0)} ms CPU`).join(', ')}`,
      );
    }
    const long = await page.evaluate(() => (globalThis as unknown as { __long: number[] }).__long);
    const at = await page.evaluate(() => (globalThis as unknown as { __at: number[] }).__at);
    if (long.length > 0)
      console.log(`   long tasks: ${long.map((d, i) => `${d.toFixed(0)} ms at +${at[i]} ms`).join(', ')}`);
    const bad = await page.locator('tr[data-status]:not([data-status=ok])').count();
    if (bad > 0) throw new Error('a UI flash did not end ok');
    return { s, longest: Math.max(0, ...long), count: long.length };
  }

  function cliFlash(): number {
    const t = performance.now();
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'bin/emt-usb.js'),
        'flash',
        iso,
        '--config',
        site,
        '--password-file',
        pw,
        '--device',
        loops[0]!,
        '--hostname',
        'node-01',
        '--device',
        loops[1]!,
        '--hostname',
        'node-02',
        '--yes',
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`CLI flash failed: ${r.stderr}`);
    return (performance.now() - t) / 1000;
  }

  async function jobFlash(): Promise<number> {
    const t = performance.now();
    const r = await runJob(
      'flash',
      {
        image: iso,
        targets: [
          { device: loops[0]!, hostname: 'node-01' },
          { device: loops[1]!, hostname: 'node-02' },
        ],
        config: site,
        passwordFile: pw,
        verify: true,
        yes: true,
        showAll: false,
      },
      quiet,
    );
    if ('error' in r || r.result.results.some((x) => x.status !== 'ok')) throw new Error('job flash failed');
    return (performance.now() - t) / 1000;
  }

  const uiF: number[] = [];
  const cliF: number[] = [];
  const jobF: number[] = [];
  let longest = 0;
  let longCount = 0;
  const longAll: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const u = await uiFlash();
    uiF.push(u.s);
    longest = Math.max(longest, u.longest);
    longCount += u.count;
    longAll.push(u.longest);
    cliF.push(cliFlash());
    jobF.push(await jobFlash());
  }
  await browser.close();
  await bridge.close();

  const ratio = (a: number[], b: number[]) => median(a) / median(b);
  console.log(`bench:ui (${RUNS} runs each, interleaved; medians)\n`);
  row('renderer JS + CSS gzipped', `${(gz / 1024).toFixed(1)} KB`, '<= 200 KB', gz <= 200 * 1024);
  row(
    'page load to first screen (median of 5)',
    `${median(loads).toFixed(0)} ms`,
    '<= 300 ms',
    median(loads) <= 300,
  );
  console.log(`   loads: ${loads.map((l) => l.toFixed(0)).join(', ')} ms`);
  row('build: UI', fmt(median(uiB)), '', true);
  row('build: CLI', fmt(median(cliB)), '', true);
  row(
    'build: UI / CLI',
    `${((ratio(uiB, cliB) - 1) * 100).toFixed(1)} %`,
    '<= +5 %',
    ratio(uiB, cliB) <= 1.05,
  );
  row('build: the job in-process (no CLI start-up)', fmt(median(jobB)), '', true);
  row('build: UI / in-process job', `${((ratio(uiB, jobB) - 1) * 100).toFixed(1)} %`, '(strictest)', true);
  row('flash 2 sticks: UI', fmt(median(uiF)), '', true);
  row('flash 2 sticks: CLI', fmt(median(cliF)), '', true);
  row(
    'flash: UI / CLI',
    `${((ratio(uiF, cliF) - 1) * 100).toFixed(1)} %`,
    '<= +5 %',
    ratio(uiF, cliF) <= 1.05,
  );
  row('flash 2 sticks: the job in-process', fmt(median(jobF)), '', true);
  row('flash: UI / in-process job', `${((ratio(uiF, jobF) - 1) * 100).toFixed(1)} %`, '(strictest)', true);
  row(
    'longest main-thread task while flashing',
    longCount === 0 ? 'none > 50 ms' : `${longest.toFixed(0)} ms`,
    'none > 50 ms',
    longCount === 0,
  );
  console.log(`\n   build UI ${uiB.map(fmt).join(', ')}; CLI ${cliB.map(fmt).join(', ')}`);
  console.log(`   flash UI ${uiF.map(fmt).join(', ')}; CLI ${cliF.map(fmt).join(', ')}`);
  console.log(
    `   longest task per UI flash run: ${longAll.map((l) => `${l.toFixed(0)} ms`).join(', ')} (${longCount} over 50 ms in all)`,
  );
  console.log(
    `   machine load average while measuring: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (2 cores)`,
  );
  console.log(`   build job ${jobB.map(fmt).join(', ')}; flash job ${jobF.map(fmt).join(', ')}`);
  console.log('   (the CLI times include its process start-up through tsx; the UI times start at the click)');
} finally {
  for (const l of loops) execFileSync('losetup', ['-d', l]);
  rmSync(dir, { recursive: true, force: true });
}
