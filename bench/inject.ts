// npm run bench:inject — today's shell workflow against our injection, side by side
// on the same generated bootkits (H1's sample bootkits: `gzip`, and `large` with its
// rootfs padded to ~800 MB uncompressed).
//
// (a) shell: the steps of the installer build today (see the reference notes):
//     zcat initramfs | cpio -idm; gzip -d rootfs.tar.gz; tar -uf (our files);
//     gzip rootfs.tar; find . | cpio -o -H newc | gzip -9
//     run under /usr/bin/time -v: peak RSS is the largest of its processes.
// (b) ours: injectInitramfs in each mode, each in a fresh child process that reports
//     process.resourceUsage().maxRSS; wall time measured by the parent around it
//     (Node start-up included, as the shell's process start-ups are).
//
//   npm run bench:inject [-- gzip large]    variants (default both)
//   EMT_BENCH_RUNS=N                        runs per contender (best time counts; default 1)
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installerEntries } from '../electron/initramfs/installer-layout.ts';

const EPOCH = 1_764_158_400;
const RUNS = Math.max(1, Number(process.env.EMT_BENCH_RUNS ?? 1));
const MiB = 2 ** 20;
const root = resolve(fileURLToPath(import.meta.url), '../..');
const scriptsDir = join(root, 'installer-scripts');

interface Contender {
  name: string;
  mode?: 'segment' | 'fast' | 'single';
  rootfsMode?: 'splice' | 'recompress';
}

const OURS: Contender[] = [
  { name: 'ours: segment', mode: 'segment' },
  { name: 'ours: segment, rootfs spliced', mode: 'segment', rootfsMode: 'splice' },
  { name: 'ours: fast', mode: 'fast' },
  { name: 'ours: single', mode: 'single' },
];

interface Result {
  seconds: number;
  /** user + system CPU seconds (all processes): steadier than wall time on a shared machine. */
  cpu: number;
  rssMiB: number;
  outBytes: number;
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The child side: one injection, then its own numbers as one JSON line. */
async function child(args: string[]): Promise<void> {
  const [initramfs, out, mode, rootfsMode] = args as [string, string, Contender['mode'], string];
  const { injectInitramfs } = await import('../electron/initramfs/inject.ts');
  const r = await injectInitramfs({
    initramfs,
    scriptsDir,
    out,
    mode: mode!,
    sourceDateEpoch: EPOCH,
    ...(rootfsMode === 'splice' || rootfsMode === 'recompress' ? { rootfsMode } : {}),
  });
  process.stdout.write(
    `${JSON.stringify({ rssKiB: process.resourceUsage().maxRSS, cpu: cpuSeconds(), size: r.size, rootfs: r.rootfs.mode })}\n`,
  );
}

function runOurs(c: Contender, initramfs: string, work: string): Result {
  const out = join(work, 'ours.img');
  rmSync(out, { force: true });
  const t0 = performance.now();
  const p = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      initramfs,
      out,
      c.mode!,
      c.rootfsMode ?? '-',
    ],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (p.status !== 0) throw new Error(`${c.name} failed: ${p.stderr}`);
  const j = JSON.parse(p.stdout.trim().split('\n').at(-1)!) as { rssKiB: number; cpu: number; size: number };
  return { seconds, cpu: j.cpu, rssMiB: j.rssKiB / 1024, outBytes: j.size };
}

/** Today's steps 1-3, as real processes. Our files are staged first (not timed: `cp` of a few KiB). */
async function runShell(initramfs: string, work: string): Promise<Result> {
  const stage = join(work, 'stage');
  rmSync(stage, { recursive: true, force: true });
  for (const e of await installerEntries(scriptsDir, EPOCH)) {
    const p = join(stage, e.path);
    if (e.type === 'directory') mkdirSync(p, { recursive: true });
    else if (e.type === 'symlink') execFileSync('ln', ['-s', e.linkname!, p]);
    else {
      writeFileSync(p, e.data!);
      chmodSync(p, e.mode);
    }
  }
  const tree = join(work, 'tree');
  const out = join(work, 'shell.img');
  rmSync(tree, { recursive: true, force: true });
  rmSync(out, { force: true });
  mkdirSync(tree);
  const script = [
    'set -euo pipefail',
    `cd ${tree}`,
    `zcat ${initramfs} | cpio -idm --quiet`,
    'gzip -d rootfs.tar.gz',
    `tar -uf rootfs.tar --owner=0 --group=0 -C ${stage} etc opt`,
    'gzip rootfs.tar',
    `find . | cpio -o -H newc --quiet | gzip -9 > ${out}`,
  ].join('\n');
  const t0 = performance.now();
  const p = spawnSync('/usr/bin/time', ['-f', 'MAXRSS_KIB=%M CPU=%U+%S', 'bash', '-c', script], {
    encoding: 'utf8',
  });
  const seconds = (performance.now() - t0) / 1000;
  if (p.status !== 0) throw new Error(`shell workflow failed: ${p.stderr}`);
  const kib = Number(/MAXRSS_KIB=(\d+)/.exec(p.stderr)?.[1]);
  const cpuM = /CPU=([\d.]+)\+([\d.]+)/.exec(p.stderr);
  const cpu = Number(cpuM?.[1]) + Number(cpuM?.[2]);
  const outBytes = statSync(out).size;
  rmSync(tree, { recursive: true, force: true });
  return { seconds, cpu, rssMiB: kib / 1024, outBytes };
}

function best(rs: Result[]): Result {
  return rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

async function main(): Promise<void> {
  const variants = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const wanted = (variants.length ? variants : ['gzip', 'large']) as ('gzip' | 'large')[];
  const { sampleBootkit } = await import('../tests/fixtures/sample-bootkit.ts');
  const rows: string[] = [];
  const header = `${pad('bootkit', 26)} ${pad('contender', 32)} ${lpad('time s', 8)} ${lpad('peak RSS MiB', 13)} ${lpad('speed-up', 9)} ${lpad('CPU s', 7)} ${lpad('CPU ×', 6)} ${lpad('out MiB', 8)}`;
  for (const v of wanted) {
    process.stderr.write(`bench: preparing sample bootkit '${v}' (cached after the first run)\n`);
    const bk = await sampleBootkit(v);
    const inMiB = statSync(bk.initramfs).size / MiB;
    const rootfsMiB =
      Number(
        execFileSync('bash', [
          '-c',
          `zcat ${bk.initramfs} | cpio -i --to-stdout --quiet rootfs.tar.gz | gzip -dc | wc -c`,
        ])
          .toString()
          .trim(),
      ) / MiB;
    const label = `${v} (${inMiB.toFixed(0)} MiB, tar ${rootfsMiB.toFixed(0)} MiB)`;
    const work = mkdtempSync(join(tmpdir(), 'emt-bench-inject-'));
    try {
      const shell: Result[] = [];
      for (let i = 0; i < RUNS; i++) {
        process.stderr.write(`bench: ${v}: shell workflow, run ${i + 1}\n`);
        shell.push(await runShell(bk.initramfs, work));
      }
      const base = best(shell);
      const line = (name: string, r: Result) =>
        `${pad(label, 26)} ${pad(name, 32)} ${lpad(r.seconds.toFixed(2), 8)} ${lpad(r.rssMiB.toFixed(0), 13)} ${lpad(`${(base.seconds / r.seconds).toFixed(1)}x`, 9)} ${lpad(r.cpu.toFixed(2), 7)} ${lpad(`${(base.cpu / r.cpu).toFixed(1)}x`, 6)} ${lpad((r.outBytes / MiB).toFixed(1), 8)}`;
      rows.push(line('shell (today)', base));
      for (const c of OURS) {
        const rs: Result[] = [];
        for (let i = 0; i < RUNS; i++) {
          process.stderr.write(`bench: ${v}: ${c.name}, run ${i + 1}\n`);
          rs.push(runOurs(c, bk.initramfs, work));
        }
        rows.push(line(c.name, best(rs)));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  console.log(header);
  for (const r of rows) console.log(r);
}

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await main();
