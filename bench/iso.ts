// npm run bench:iso — native xorriso, our wasm xorriso, and `cp` of the same bytes
// (the physical floor), side by side on one staged tree: a bootkit-sized kernel +
// initrd stand-in (~60 MB), a 1 GiB OS image of random bytes, and a few thousand
// small files. The tree is generated once and cached under $EMT_CACHE_DIR.
//
//   EMT_BENCH_RUNS=N   runs per contender (best time counts; default 2)
import { execFileSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runXorriso, type XorrisoEngine } from '../electron/iso/xorriso.ts';
import { findNative, findWasm } from '../electron/iso/xorriso-engines.ts';

const EPOCH = 1_764_158_400;
const RUNS = Math.max(1, Number(process.env.EMT_BENCH_RUNS ?? 2));
const MiB = 2 ** 20;
const cacheRoot = process.env.EMT_CACHE_DIR || join(homedir(), '.cache', 'emt-usb');
// Bump when the tree recipe below changes.
const treeDir = join(cacheRoot, 'bench-iso-tree-v1');

function randomFile(path: string, bytes: number): void {
  const buf = Buffer.allocUnsafe(Math.min(bytes, 16 * MiB));
  const fd = openSync(path, 'w');
  try {
    for (let left = bytes; left > 0; left -= buf.length) {
      const n = Math.min(left, buf.length);
      randomFillSync(buf, 0, n);
      writeSync(fd, buf, 0, n);
    }
  } finally {
    closeSync(fd);
  }
}

function makeTree(): { files: number; bytes: number } {
  if (!existsSync(join(treeDir, '.done'))) {
    mkdirSync(cacheRoot, { recursive: true });
    const tmp = mkdtempSync(join(cacheRoot, '.bench-iso-tree-'));
    console.log(`bench: generating the tree in ${treeDir} (once)`);
    const t = join(tmp, 'tree');
    mkdirSync(join(t, 'boot/grub'), { recursive: true });
    mkdirSync(join(t, 'EFI/BOOT'), { recursive: true });
    mkdirSync(join(t, 'images'), { recursive: true });
    randomFile(join(t, 'boot/vmlinuz'), 12 * MiB);
    randomFile(join(t, 'boot/initrd.img'), 48 * MiB);
    randomFile(join(t, 'EFI/BOOT/BOOTX64.EFI'), 2 * MiB);
    writeFileSync(join(t, 'boot/grub/grub.cfg'), 'set timeout=0\n');
    randomFile(join(t, 'images/os.raw'), 1024 * MiB);
    writeFileSync(join(t, 'images/os.raw.sha256'), 'not-checked  os.raw\n');
    for (let d = 0; d < 30; d++) {
      const dir = join(t, 'user-apps', `app-${String(d).padStart(2, '0')}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 100; f++)
        randomFile(join(dir, `file-${String(f).padStart(3, '0')}.dat`), 512 + ((d * 100 + f) % 16) * 512);
    }
    execFileSync('mkfs.fat', ['-C', '--invariant', '-n', 'ESP', join(tmp, 'esp.img'), '4096'], {
      stdio: 'ignore',
    });
    execFileSync('mmd', ['-i', join(tmp, 'esp.img'), '::/EFI', '::/EFI/BOOT']);
    execFileSync('mcopy', [
      '-i',
      join(tmp, 'esp.img'),
      join(t, 'EFI/BOOT/BOOTX64.EFI'),
      '::/EFI/BOOT/BOOTX64.EFI',
    ]);
    writeFileSync(join(tmp, '.done'), '');
    rmSync(treeDir, { recursive: true, force: true });
    renameSync(tmp, treeDir);
  }
  const out = execFileSync('du', ['-sb', '--apparent-size', join(treeDir, 'tree')], { encoding: 'utf8' });
  const files = Number(
    execFileSync('sh', ['-c', `find '${join(treeDir, 'tree')}' -type f | wc -l`], { encoding: 'utf8' }),
  );
  return { files, bytes: Number(out.split('\t')[0]) };
}

const argv = (out: string) => [
  '-as',
  'mkisofs',
  '-o',
  out,
  '-V',
  'EMT_BENCH',
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
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  join(treeDir, 'esp.img'),
  '-appended_part_as_gpt',
  '-eltorito-catalog',
  'boot/boot.cat',
  '-e',
  '--interval:appended_partition_2:all::',
  '-no-emul-boot',
  '--modification-date=2025112612000000',
  join(treeDir, 'tree'),
];

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function timeBest(
  label: string,
  run: (out: string) => Promise<void>,
  outDir: string,
): Promise<{ ms: number; out: string }> {
  let best = Number.POSITIVE_INFINITY;
  const out = join(outDir, `${label}.out`);
  for (let i = 0; i < RUNS; i++) {
    rmSync(out, { recursive: true, force: true });
    const t0 = performance.now();
    await run(out);
    const ms = performance.now() - t0;
    console.log(`  ${label.padEnd(8)} run ${i + 1}: ${(ms / 1000).toFixed(2)} s`);
    best = Math.min(best, ms);
  }
  return { ms: best, out };
}

async function main(): Promise<void> {
  const { files, bytes } = makeTree();
  console.log(`bench: tree ${files} files, ${(bytes / MiB).toFixed(0)} MiB; best of ${RUNS} run(s) each`);
  const outDir = mkdtempSync(join(tmpdir(), 'emt-bench-iso-'));
  try {
    const results: [string, number][] = [];
    // cp first: it also brings the tree into the page cache for everyone after it.
    const cp = await timeBest(
      'cp',
      async (out) => {
        execFileSync('cp', ['-r', join(treeDir, 'tree'), out]);
        execFileSync('sync', ['-f', outDir]);
      },
      outDir,
    );
    results.push(['cp -r (floor)', cp.ms]);
    const isos: Partial<Record<XorrisoEngine, string>> = {};
    for (const engine of ['native', 'wasm'] as const) {
      if (engine === 'native' && !(await findNative())) {
        console.log('  native: not installed, skipped');
        continue;
      }
      if (engine === 'wasm' && !findWasm()) {
        console.log('  wasm: not built (npm run setup), skipped');
        continue;
      }
      const r = await timeBest(
        engine,
        async (out) => {
          await runXorriso(argv(out), { engine, sourceDateEpoch: EPOCH });
          execFileSync('sync', ['-f', outDir]);
        },
        outDir,
      );
      results.push([`xorriso ${engine}`, r.ms]);
      isos[engine] = r.out;
    }

    const native = results.find(([n]) => n === 'xorriso native')?.[1];
    console.log('');
    console.log(
      `${'contender'.padEnd(16)} ${'time'.padStart(8)} ${'MB/s'.padStart(7)} ${'x cp'.padStart(6)} ${'x native'.padStart(9)}`,
    );
    for (const [name, ms] of results) {
      const mbps = bytes / MiB / (ms / 1000);
      const vsNative = native ? (ms / native).toFixed(2) : '-';
      console.log(
        `${name.padEnd(16)} ${`${(ms / 1000).toFixed(2)} s`.padStart(8)} ${mbps.toFixed(0).padStart(7)} ${(ms / cp.ms).toFixed(2).padStart(6)} ${vsNative.padStart(9)}`,
      );
    }
    if (isos.native && isos.wasm) {
      const [a, b] = await Promise.all([sha256(isos.native), sha256(isos.wasm)]);
      console.log(`\nnative and wasm ISOs ${a === b ? 'identical' : 'DIFFER'} (sha256 ${a.slice(0, 16)}...)`);
      if (a !== b) process.exitCode = 1;
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

await main();
