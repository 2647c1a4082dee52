// npm run soak:install -- N [--mode both|stick|hotplug]   (not in CI: minutes per run)
//
// Repeats the unattended VM install (tests/e2e/install-run.ts) N times with the same
// installer image and prints how many completed. `stick` boots the stick through
// OVMF (where issue 14's discovery race was seen); `hotplug` boots the ISO's kernel
// directly and plugs the stick in once the installer waits for it; `both` (default)
// alternates, starting with `stick`. Failed runs keep their serial log and say where.
// Exit 0 when every run completed, 1 when one did not, 2 on bad arguments.
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTestInstaller,
  FAILED_LINE,
  type InstallRun,
  installVm,
  isoBootFiles,
} from '../tests/e2e/install-run.ts';

type Mode = 'stick' | 'hotplug';
const USAGE = 'usage: npm run soak:install -- N [--mode both|stick|hotplug]';

function parseArgs(argv: string[]): { runs: number; modes: Mode[] } {
  let runs: number | undefined;
  let mode = 'both';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--mode') {
      mode = argv[++i] ?? '';
    } else if (a.startsWith('--mode=')) {
      mode = a.slice('--mode='.length);
    } else if (/^[1-9]\d{0,3}$/.test(a) && runs === undefined) {
      runs = Number(a);
    } else {
      throw new Error(`soak:install: unexpected argument '${a}'; ${USAGE}`);
    }
  }
  if (runs === undefined) throw new Error(`soak:install: how many runs? ${USAGE}`);
  if (mode !== 'both' && mode !== 'stick' && mode !== 'hotplug') {
    throw new Error(`soak:install: --mode must be both, stick or hotplug, not '${mode}'`);
  }
  return { runs, modes: mode === 'both' ? ['stick', 'hotplug'] : [mode] };
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(0)} s`;

/** Why a run did not complete, in one line. */
function why(r: InstallRun): string {
  const failed = FAILED_LINE.exec(r.serialLog);
  if (failed) return `failed: ${failed[1]}`;
  if (r.failedOn) return `stopped on ${r.failedOn}`;
  return r.reason === 'timeout' ? 'timed out' : `QEMU ${r.reason} before the install completed`;
}

async function main(): Promise<number> {
  const { runs, modes } = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'emt-soak-'));
  let keep = false;
  process.once('exit', () => {
    if (!keep) rmSync(work, { recursive: true, force: true });
  });
  const t0 = Date.now();
  const iso = await buildTestInstaller(join(work, 'build'));
  const boot = modes.includes('hotplug') ? await isoBootFiles(iso, join(work, 'boot')) : undefined;
  console.log(
    `soak:install: installer built in ${secs(Date.now() - t0)}; ${runs} run(s), mode ${modes.join('+')}`,
  );

  const times: number[] = [];
  const byMode = new Map<Mode, { ok: number; all: number }>(modes.map((m) => [m, { ok: 0, all: 0 }]));
  for (let i = 1; i <= runs; i++) {
    const mode = modes[(i - 1) % modes.length]!;
    const dir = join(work, `run-${i}`);
    await mkdir(dir, { recursive: true });
    const r = await installVm(boot ? { iso, boot, mode, workDir: dir } : { iso, mode, workDir: dir });
    const tally = byMode.get(mode)!;
    tally.all++;
    if (r.matched) {
      tally.ok++;
      times.push(r.elapsedMs);
      const plug = r.pluggedAtMs === undefined ? '' : `; stick plugged in at ${secs(r.pluggedAtMs)}`;
      // Whether step 1 had to wait for the medium (installer-scripts/steps/10-find-medium.sh).
      const waited = /install medium appeared after (\d+) s/.exec(r.serialLog);
      const wait = waited ? `; waited ${waited[1]} s for the medium` : '; medium there at the first look';
      console.log(`run ${i}/${runs} (${mode}): completed in ${secs(r.elapsedMs)}${plug}${wait}`);
      // Disk images are large; a good run keeps nothing.
      await rm(dir, { recursive: true, force: true });
    } else {
      keep = true;
      await rm(r.nvme, { force: true });
      console.log(
        `run ${i}/${runs} (${mode}): NOT completed after ${secs(r.elapsedMs)}: ${why(r)}; serial log ${r.logPath}`,
      );
    }
  }
  const ok = times.length;
  const sorted = [...times].sort((a, b) => a - b);
  const per = modes.map((m) => `${m} ${byMode.get(m)!.ok}/${byMode.get(m)!.all}`).join(', ');
  const spread =
    ok > 0
      ? `; per completed run: min ${secs(sorted[0]!)}, median ${secs(sorted[Math.floor((ok - 1) / 2)]!)}, max ${secs(sorted[ok - 1]!)}`
      : '';
  console.log(`soak:install: ${ok}/${runs} installs completed (${per})${spread}`);
  if (keep) console.log(`soak:install: failed runs kept in ${work}`);
  return ok === runs ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(msg.startsWith('soak:install:') ? msg : `soak:install: ${msg}`);
    process.exit(msg.startsWith('soak:install:') ? 2 : 1);
  },
);
