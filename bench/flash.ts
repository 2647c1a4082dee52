// npm run bench:flash - on one loop device backed by a file, side by side:
//   baseline: dd bs=4M oflag=direct conv=fsync, then cmp (write + verify)
//   ours:     emt-usb flash (write + read-back verify), and --no-verify (write only)
//   engine:   the same writer in-process (no CLI start-up), with and without verify
//   floor:    dd iflag=direct of the loop device: the raw read any read-back verify
//             must pay at least (its time against write-only bounds the verify ratio)
// Each is run RUNS times, interleaved; medians are printed. Needs root (losetup).
// The loop device does direct I/O on its backing file, so writes reach the disk
// rather than stopping in the backing file's page cache.
// Stick-like (second table): here the loop device reads slower than it writes (the
// host absorbs writes), the opposite of a USB stick, so the same contenders run
// again on a smaller image with the device's writes throttled to a stick's speed
// by the kernel's block throttle (blkio cgroup; reads untouched):
//   EMT_BENCH_STICK_MB (default 256), EMT_BENCH_STICK_WRITE_MBS (default 30; 0 skips).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { flash } from '../electron/flash/writer.ts';

const MB = Number(process.env.EMT_BENCH_MB ?? 512);
const RUNS = Number(process.env.EMT_BENCH_RUNS ?? 5);
const cache = join(process.env.EMT_CACHE_DIR || join(homedir(), '.cache', 'emt-usb'), 'bench-flash');
const root = new URL('..', import.meta.url).pathname;

const STICK_MB = Number(process.env.EMT_BENCH_STICK_MB ?? 256);
const STICK_WRITE_MBS = Number(process.env.EMT_BENCH_STICK_WRITE_MBS ?? 30);

function makeImage(mb = MB): string {
  mkdirSync(cache, { recursive: true });
  const path = join(cache, `image-${mb}M.img`);
  if (existsSync(path)) return path;
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  const buf = Buffer.alloc(4 << 20);
  for (let i = 0; i < mb / 4; i++) writeSync(fd, randomFillSync(buf)); // incompressible, like an OS image
  closeSync(fd);
  renameSync(tmp, path);
  return path;
}

function timed(label: string, argvs: string[][]): number {
  const t0 = performance.now();
  for (const [cmd, ...args] of argvs) {
    const r = spawnSync(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: root });
    if (r.status !== 0) throw new Error(`${label}: ${cmd} failed (${r.status}): ${r.stderr}`);
  }
  return (performance.now() - t0) / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (process.getuid?.() !== 0) {
  console.error('bench:flash needs root (loop devices)');
  process.exit(2);
}
const image = makeImage();
const logs = mkdtempSync(join(tmpdir(), 'emt-bench-flash-logs-')); // one log per run; not worth keeping
const backing = join(cache, 'stick.img');
execFileSync('truncate', ['-s', String((MB + 64) << 20), backing]);
const dev = execFileSync('losetup', ['-f', '--show', '--direct-io=on', backing], { encoding: 'utf8' }).trim();
const emt = [process.execPath, join(root, 'bin/emt-usb.js')];
/** The baseline and ours (with and without verify); `prefix` runs the writers in a throttle group. */
const contenders = (
  img: string,
  mb: number,
  device: string,
  prefix: string[] = [],
): Record<string, string[][]> => ({
  'dd oflag=direct conv=fsync + cmp': [
    [...prefix, 'dd', `if=${img}`, `of=${device}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none'],
    ['cmp', '-n', String(mb << 20), img, device],
  ],
  'emt-usb flash (write + verify)': [
    [...prefix, ...emt, 'flash', img, '--device', device, '--yes', '--log-dir', logs],
  ],
  'emt-usb flash --no-verify': [
    [...prefix, ...emt, 'flash', img, '--device', device, '--yes', '--no-verify', '--log-dir', logs],
  ],
});

/** Prints each contender's median and the two target ratios; returns ours write-only. */
function report(t: Record<string, number[]>, mb: number): number {
  for (const [label, xs] of Object.entries(t))
    console.log(
      `  ${label.padEnd(40)} ${median(xs).toFixed(2)} s  ${(mb / median(xs)).toFixed(0).padStart(5)} MiB/s   [${xs.map((x) => x.toFixed(2)).join(', ')}]`,
    );
  const base = median(t['dd oflag=direct conv=fsync + cmp']!);
  const ours = median(t['emt-usb flash (write + verify)']!);
  const writeOnly = median(t['emt-usb flash --no-verify']!);
  console.log(`  ours / baseline (write + verify): ${(ours / base).toFixed(2)}x   (target <= 1.00x)`);
  console.log(`  ours write+verify / ours write-only: ${(ours / writeOnly).toFixed(2)}x   (target < 1.30x)`);
  return writeOnly;
}

const variants: Record<string, string[][]> = {
  ...contenders(image, MB, dev),
  'dd oflag=direct conv=fsync (write only)': [
    ['dd', `if=${image}`, `of=${dev}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none'],
  ],
  'dd iflag=direct (raw device read, floor)': [
    ['dd', `if=${dev}`, 'of=/dev/null', 'bs=4M', `count=${MB / 4}`, 'iflag=direct', 'status=none'],
  ],
};
// Each phase runs from its first progress event to the next phase's (verify: to the end).
const phases: Record<string, number[]> = { 'write pass (with verify)': [], 'verify pass': [] };
const engine = async (verify: boolean): Promise<number> => {
  const marks: Record<string, number> = {};
  const t0 = performance.now();
  const out = await flash(
    { imagePath: image, devices: [dev], verify, yes: true, showAll: false, logDir: logs },
    {
      onProgress: (p) => {
        marks[p.stage] ??= performance.now();
      },
    },
  );
  const t1 = performance.now();
  if (out.results[0]!.status !== 'ok') throw new Error(out.results[0]!.message);
  if (verify) {
    phases['write pass (with verify)']!.push((marks.verify! - marks.write!) / 1000);
    phases['verify pass']!.push((t1 - marks.verify!) / 1000);
  }
  return (t1 - t0) / 1000;
};
const ENGINE_RW = 'engine in-process (write + verify)';
const ENGINE_W = 'engine in-process (write only)';
const times: Record<string, number[]> = Object.fromEntries(
  [...Object.keys(variants), ENGINE_RW, ENGINE_W].map((k) => [k, []]),
);
const started = performance.now();
timed('start-up', [[...emt, '--help']]);
const startup = (performance.now() - started) / 1000;
try {
  timed('warm-up', [['cat', image]]); // the image comes from the page cache for everyone
  for (let run = 0; run < RUNS; run++)
    for (const [label, argvs] of Object.entries(variants)) {
      // start each run from an empty loop cache and zeroed stick head
      execFileSync('blockdev', ['--flushbufs', dev]);
      times[label]!.push(timed(label, argvs));
    }
  for (let run = 0; run < RUNS; run++) {
    execFileSync('blockdev', ['--flushbufs', dev]);
    times[ENGINE_RW]!.push(await engine(true));
    execFileSync('blockdev', ['--flushbufs', dev]);
    times[ENGINE_W]!.push(await engine(false));
  }
} finally {
  execFileSync('losetup', ['-d', dev]);
  rmSync(backing, { force: true });
  rmSync(logs, { recursive: true, force: true });
}
console.log(`bench:flash  ${MB} MiB image, loop device on a file, ${RUNS} runs each (median, all)`);
const writeOnly = report(times, MB);
const erw = median(times[ENGINE_RW]!);
const ew = median(times[ENGINE_W]!);
for (const [label, xs] of Object.entries(phases))
  console.log(
    `  engine ${label.padEnd(33)} ${median(xs).toFixed(2)} s   [${xs.map((x) => x.toFixed(2)).join(', ')}]`,
  );
console.log(`  engine write+verify / write-only: ${(erw / ew).toFixed(2)}x`);
// Write-only hashes while writing; with verify the hash is taken in the verify pass instead.
const floor = median(times['dd iflag=direct (raw device read, floor)']!);
// A verify that reads every byte back costs at least the raw read: against write-only,
// the 1.30x target leaves 0.30x of write-only for the whole verify pass.
console.log(
  `  raw device read / write-only: ${(floor / ew).toFixed(2)}x (engine), ${(floor / writeOnly).toFixed(2)}x (CLI); the 1.30x target allows 0.30x`,
);
console.log(
  `  emt-usb start-up (--help): ${startup.toFixed(2)} s; load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`,
);

/**
 * A block-throttle group that limits writes to `device` (reads untouched): cgroup v1
 * blkio, else v2 io.max. Returns a command prefix that runs a command inside it, and
 * a cleanup; null when neither is available (the stick-like table is then skipped).
 */
function writeThrottle(device: string, bytesPerSecond: number): { prefix: string[]; remove(): void } | null {
  const majMin = execFileSync('lsblk', ['-dno', 'MAJ:MIN', device], { encoding: 'utf8' }).trim();
  const v1 = '/sys/fs/cgroup/blkio';
  const v2 = '/sys/fs/cgroup';
  let dir: string;
  try {
    if (existsSync(join(v1, 'blkio.throttle.write_bps_device'))) {
      dir = join(v1, `emt-bench-${process.pid}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'blkio.throttle.write_bps_device'), `${majMin} ${bytesPerSecond}`);
    } else if (existsSync(join(v2, 'cgroup.controllers'))) {
      writeFileSync(join(v2, 'cgroup.subtree_control'), '+io');
      dir = join(v2, `emt-bench-${process.pid}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'io.max'), `${majMin} wbps=${bytesPerSecond}`);
    } else return null;
  } catch (e) {
    console.error(`bench:flash: no block throttle here (${(e as Error).message}); stick-like table skipped`);
    return null;
  }
  return {
    // The shell joins the group, then becomes the command: it and its children are throttled.
    prefix: ['sh', '-c', `echo $$ > ${join(dir, 'cgroup.procs')} && exec "$@"`, 'sh'],
    remove: () => rmdirSync(dir),
  };
}

if (STICK_MB > 0 && STICK_WRITE_MBS > 0) {
  const stickImage = makeImage(STICK_MB);
  const stickBacking = join(cache, 'stick-slow.img');
  execFileSync('truncate', ['-s', String((STICK_MB + 64) << 20), stickBacking]);
  const sdev = execFileSync('losetup', ['-f', '--show', '--direct-io=on', stickBacking], {
    encoding: 'utf8',
  }).trim();
  const slow = writeThrottle(sdev, STICK_WRITE_MBS * 1e6);
  try {
    if (slow) {
      const stickRuns = Math.min(RUNS, 3);
      const sv = contenders(stickImage, STICK_MB, sdev, slow.prefix);
      const st: Record<string, number[]> = Object.fromEntries(Object.keys(sv).map((k) => [k, []]));
      mkdirSync(logs, { recursive: true });
      timed('warm-up', [['cat', stickImage]]);
      for (let run = 0; run < stickRuns; run++)
        for (const [label, argvs] of Object.entries(sv)) {
          execFileSync('blockdev', ['--flushbufs', sdev]);
          st[label]!.push(timed(label, argvs));
        }
      console.log(
        `bench:flash  stick-like: ${STICK_MB} MiB image, the loop device's writes throttled to ${STICK_WRITE_MBS} MB/s (reads not), ${stickRuns} runs each`,
      );
      report(st, STICK_MB);
    }
  } finally {
    slow?.remove();
    execFileSync('losetup', ['-d', sdev]);
    rmSync(stickBacking, { force: true });
    rmSync(logs, { recursive: true, force: true });
  }
}
