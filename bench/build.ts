// npm run bench:build — the whole `emt-usb build` against today's workflow, on the
// same inputs: a sample bootkit (H1's `gzip`; `large` on request) and a 1 GiB OS
// image of random bytes (generated once, cached under $EMT_CACHE_DIR).
//
// today (a): the shell steps of the reference notes: unpack the bootkit, zcat | cpio
//   -idm, gzip -d rootfs.tar.gz, tar -uf our files, gzip, find | cpio | gzip -9, then
//   grub-mkrescue (BIOS + UEFI). The OS image is not in that ISO at all.
// today (b): (a) plus step 5, packaging ISO + OS image + md5 sum into one tarball
//   (what a user carries to the stick-making PC).
// ours: `emt-usb build --bios` (BIOS + UEFI, OS image inside, sha256 verified and
//   recorded, manifest, .sha256), as a child process (Node start-up included), with
//   the native and the wasm xorriso engine.
//
//   npm run bench:build [-- gzip large]   bootkit variants (default both: the 47 MiB sample, where
//                                        fixed costs weigh most, and the 378 MiB large one)
//   EMT_BENCH_RUNS=N                      runs per contender (best counts; default 1)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SampleVariant, sampleBootkit } from '../tests/fixtures/sample-bootkit.ts';

const RUNS = Math.max(1, Number(process.env.EMT_BENCH_RUNS ?? 1));
const MiB = 2 ** 20;
const EPOCH = 1_764_158_400;
const root = resolve(fileURLToPath(import.meta.url), '../..');
const cacheRoot = process.env.EMT_CACHE_DIR || join(homedir(), '.cache', 'emt-usb');

interface Result {
  seconds: number;
  /** user + system CPU of the child processes. */
  cpu: number;
  outBytes: number;
}

/**
 * A 1 GiB OS image that is what its name says: random bytes through gzip -1 (the
 * build tests a .raw.gz's whole stream when no checksum is given). Incompressible,
 * so it stays 1 GiB; made once (temp + rename).
 */
function osImage(): string {
  const dir = join(cacheRoot, 'bench-build-os-v2');
  const file = join(dir, 'emt-os-bench.raw.gz');
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  execFileSync('bash', [
    '-euo',
    'pipefail',
    '-c',
    `head -c ${1024 * MiB} /dev/urandom | gzip -1 -n > "$1"`,
    'os',
    tmp,
  ]);
  renameSync(tmp, file);
  return file;
}

const TODAY = String.raw`set -euo pipefail
w=$1 kit=$2 scripts=$3 os=$4 out=$5 package=$6
cd "$w"
tar -xzf "$kit"
k=$(ls vmlinuz*) i=$(ls initramfs*)
mkdir root
(cd root && zcat "../$i" | cpio -idm --quiet)
cd root
gzip -d rootfs.tar.gz
mkdir -p add/etc/scripts add/etc/systemd/system/default.target.wants
cp -r "$scripts"/. add/etc/scripts/
cp "$scripts/systemd/emt-installer.service" add/etc/systemd/system/start-provision.service
ln -s ../start-provision.service add/etc/systemd/system/default.target.wants/start-provision.service
tar -uf rootfs.tar -C add etc
rm -rf add
gzip rootfs.tar
find . | cpio -o -H newc --quiet | gzip -9 > ../initrd
cd ..
mkdir -p iso/boot/grub
cp "$k" iso/boot/vmlinuz
cp initrd iso/boot/initrd
printf 'set timeout=0\nmenuentry EMT {\n linux /boot/vmlinuz root=tmpfs rootflags=mode=0755 rd.skipfsck noresume modules-load=nbd console=ttyS0\n initrd /boot/initrd\n}\n' > iso/boot/grub/grub.cfg
grub-mkrescue -o "$out" iso 2>/dev/null
if [ "$package" = 1 ]; then
  cp "$os" image.raw.gz
  md5sum image.raw.gz "$(basename "$out")" > md5sums 2>/dev/null || md5sum image.raw.gz > md5sums
  tar -cf "$out.tar" -C "$(dirname "$out")" "$(basename "$out")" -C "$w" image.raw.gz md5sums
fi
`;

function timed(cmd: string, args: string[], out: string): Result {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const [u, s] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number];
  return { seconds, cpu: u + s, outBytes: statSync(out).size };
}

function today(kit: string, os: string, work: string, pkg: boolean): Result {
  const w = mkdtempSync(join(work, 'today-'));
  const out = join(work, `today-${pkg ? 'b' : 'a'}.iso`);
  try {
    execFileSync('sync');
    return timed(
      'bash',
      ['-c', TODAY, 'today', w, kit, join(root, 'installer-scripts'), os, out, pkg ? '1' : '0'],
      pkg ? `${out}.tar` : out,
    );
  } finally {
    rmSync(w, { recursive: true, force: true });
    rmSync(out, { force: true });
    rmSync(`${out}.tar`, { force: true });
  }
}

// Debian's snakeoil key (package ovmf) as an organisation's signing key.
const SIGN = [
  '--sign-key',
  '/usr/share/ovmf/PkKek-1-snakeoil.key',
  '--sign-cert',
  '/usr/share/ovmf/PkKek-1-snakeoil.pem',
];

function ours(
  kit: string,
  os: string,
  work: string,
  engine: 'native' | 'wasm',
  extra: string[] = [],
): Result & { stages: string } {
  const out = join(work, `ours-${engine}.iso`);
  try {
    execFileSync('sync');
    const args = [join(root, 'bin/emt-usb.js'), 'build', '--bootkit', kit, '--os-image', os, '--bios'];
    args.push('--engine', engine, '--source-date-epoch', String(EPOCH), '--out', out, '--json', ...extra);
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`emt-usb build failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const [u, s] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number];
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      stages: { stage: string; seconds: number }[];
    };
    const stages = result.stages.map((x) => `${x.stage} ${x.seconds.toFixed(1)}`).join(', ');
    return { seconds, cpu: u + s, outBytes: statSync(out).size, stages };
  } finally {
    rmSync(out, { force: true });
    rmSync(`${out}.sha256`, { force: true });
  }
}

const best = <T extends Result>(rs: T[]): T => rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

async function main(): Promise<void> {
  const variants = (
    process.argv.slice(2).length ? process.argv.slice(2) : ['gzip', 'large']
  ) as SampleVariant[];
  const os = osImage();
  console.log(
    `bench:build  OS image ${(statSync(os).size / MiB).toFixed(0)} MiB, best of ${RUNS} run(s), ${new Date().toISOString()}`,
  );
  console.log(
    `${pad('bootkit', 10)} ${pad('contender', 34)} ${lpad('wall s', 7)} ${lpad('vs (a)', 7)} ${lpad('vs (b)', 7)} ${lpad('cpu s', 7)} ${lpad('out MiB', 8)}  stages (s)`,
  );
  for (const v of variants) {
    const kit = (await sampleBootkit(v)).tarball;
    const work = mkdtempSync(join(tmpdir(), 'emt-bench-build-'));
    const pass = join(work, 'snakeoil.pass');
    writeFileSync(pass, 'snakeoil\n');
    try {
      const run = <T extends Result>(name: string, f: () => T): T => {
        const rs: T[] = [];
        for (let i = 0; i < RUNS; i++) {
          process.stderr.write(`bench: ${v}: ${name}, run ${i + 1}\n`);
          rs.push(f());
        }
        return best(rs);
      };
      const a = run('today (a)', () => today(kit, os, work, false));
      const b = run('today (b)', () => today(kit, os, work, true));
      const rows: [string, Result & { stages?: string }][] = [
        ['today (a): inject + grub-mkrescue', a],
        ['today (b): (a) + package OS image', b],
        ['ours: emt-usb build --bios, native', run('ours native', () => ours(kit, os, work, 'native'))],
        ['ours: emt-usb build --bios, wasm', run('ours wasm', () => ours(kit, os, work, 'wasm'))],
        [
          'ours: + --secure-boot shim --sign-key',
          run('ours secure boot', () =>
            ours(kit, os, work, 'native', ['--secure-boot', 'shim', ...SIGN, '--sign-key-pass-file', pass]),
          ),
        ],
        [
          'ours: + --secure-boot uki --sign-key',
          run('ours uki', () =>
            ours(kit, os, work, 'native', ['--secure-boot', 'uki', ...SIGN, '--sign-key-pass-file', pass]),
          ),
        ],
      ];
      for (const [name, r] of rows) {
        console.log(
          `${pad(v, 10)} ${pad(name, 34)} ${lpad(r.seconds.toFixed(1), 7)} ${lpad(`${(a.seconds / r.seconds).toFixed(1)}x`, 7)} ${lpad(`${(b.seconds / r.seconds).toFixed(1)}x`, 7)} ${lpad(r.cpu.toFixed(1), 7)} ${lpad((r.outBytes / MiB).toFixed(0), 8)}  ${r.stages ?? ''}`,
        );
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

await main();
