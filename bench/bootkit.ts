// npm run bench:bootkit — from the Bootkit OS build output (emt-bootkit.tar.gz) to a
// bootkit, side by side on one large tarball (the sample Bootkit OS tree padded to
// about 400 MB compressed; cached under $EMT_CACHE_DIR):
//   (a) cp of the tarball: the floor (the tarball is rootfs.tar.gz byte for byte)
//   (b) today's root shell steps (generate-bootkit-initramfs.sh): tar -x the tarball,
//       zcat initramfs | cpio -idm, copy the tarball in, find | cpio -o -H newc | gzip
//   (c) ours: `emt-usb bootkit --from` (Node start-up included), default, --sha256
//       (hashes the bytes copied), --check-whole (decodes the whole gzip stream),
//       --drop-boot
// Each under /usr/bin/time -f '%e %M' (wall seconds, peak RSS of the largest process);
// best of EMT_BENCH_RUNS (default 2) runs, the page cache warm for all alike.
import { execFileSync, spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cached, sourceRecipe } from '../tests/fixtures/cache.ts';
import { sampleBootkitOs } from '../tests/fixtures/sample-bootkit-os.ts';

const RUNS = Math.max(1, Number(process.env.EMT_BENCH_RUNS ?? 2));
const TARGET_MIB = Number(process.env.EMT_BENCH_BOOTKIT_MIB ?? 400);
const MiB = 2 ** 20;
const root = resolve(fileURLToPath(import.meta.url), '../..');
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Pseudo-random (AES-CTR, fixed key) so gzip cannot shrink it: the size is the tarball's. */
async function randomFile(path: string, bytes: number): Promise<void> {
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const ws = createWriteStream(path);
  const zero = Buffer.alloc(MiB);
  for (let done = 0; done < bytes; done += MiB) {
    if (!ws.write(c.update(zero).subarray(0, Math.min(MiB, bytes - done))))
      await new Promise<void>((r) => ws.once('drain', () => r()));
  }
  await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
}

async function largeTarball(): Promise<string> {
  const os = await sampleBootkitOs();
  const recipe = await sourceRecipe([fileURLToPath(import.meta.url)], os.tarball, `mib=${TARGET_MIB}`);
  const dir = await cached('bench-bootkit-os', recipe, async (tmp) => {
    const tree = join(tmp, 'tree');
    execFileSync('mkdir', ['-p', join(tree, 'opt')]);
    execFileSync('tar', ['-xzf', os.tarball, '-C', tree]);
    const have = statSync(os.tarball).size;
    await randomFile(join(tree, 'opt/padding.bin'), Math.max(0, TARGET_MIB * MiB - have));
    execFileSync('bash', [
      '-c',
      `tar -C ${q(tree)} --numeric-owner --sort=name -cf - . | pigz -6 -n > ${q(join(tmp, 'emt-bootkit.tar.gz'))}`,
    ]);
    rmSync(tree, { recursive: true, force: true });
  });
  return join(dir, 'emt-bootkit.tar.gz');
}

interface Timed {
  seconds: number;
  rssMiB: number;
}

function timed(script: string): Timed {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', 'bash', '-euo', 'pipefail', '-c', script], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const m = /TIME ([0-9.]+) ([0-9]+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`failed (${r.status}): ${script}\n${r.stderr}`);
  return { seconds: Number(m[1]), rssMiB: Number(m[2]) / 1024 };
}

function best(name: string, make: (work: string) => string): Timed & { name: string } {
  let b: Timed | null = null;
  for (let i = 0; i < RUNS; i++) {
    const work = mkdtempSync(join(tmpdir(), 'emt-bench-bootkit-'));
    try {
      const t = timed(make(work));
      if (!b || t.seconds < b.seconds) b = t;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return { name, ...b! };
}

async function main(): Promise<void> {
  const tarball = await largeTarball();
  const size = statSync(tarball).size;
  execFileSync('bash', ['-c', `cat ${q(tarball)} > /dev/null`]); // warm the page cache for all
  const sum = execFileSync('sha256sum', [tarball], { encoding: 'utf8' }).split(' ')[0]!;
  const cli = `${q(process.execPath)} ${q(join(root, 'bin/emt-usb.js'))} bootkit --from ${q(tarball)}`;
  const rows = [
    best('cp of the tarball (floor)', (w) => `cp ${q(tarball)} ${q(join(w, 'copy'))}`),
    // Ours syncs its outputs before the rename (a crash never leaves a torn bootkit).
    best(
      'cp + sync of the copy',
      (w) => `cp ${q(tarball)} ${q(join(w, 'copy'))} && sync ${q(join(w, 'copy'))}`,
    ),
    best('shell: tar -x, zcat|cpio -idm, cp, find|cpio -o|gzip', (w) =>
      [
        `cd ${q(w)} && mkdir r i out`,
        `tar -xzf ${q(tarball)} -C r`,
        'cp r/boot/vmlinuz-* out/',
        '(cd i && zcat ../r/boot/initramfs-*.img | cpio -idm --quiet)',
        `cp ${q(tarball)} i/rootfs.tar.gz`,
        '(cd i && find . | cpio -o -H newc --quiet | gzip > ../out/initramfs.img)',
      ].join(' && '),
    ),
    best('ours: bootkit --from', (w) => `${cli} --out ${q(join(w, 'out'))}`),
    best('ours: bootkit --from --sha256', (w) => `${cli} --sha256 ${sum} --out ${q(join(w, 'out'))}`),
    best('ours: bootkit --from --check-whole', (w) => `${cli} --check-whole --out ${q(join(w, 'out'))}`),
    best('ours: bootkit --from --drop-boot', (w) => `${cli} --drop-boot --out ${q(join(w, 'out'))}`),
  ];
  const floor = rows[0]!.seconds;
  process.stdout.write(`bench:bootkit on ${tarball} (${(size / MiB).toFixed(0)} MiB), best of ${RUNS}\n`);
  process.stdout.write(
    `${'contender'.padEnd(56)} ${'seconds'.padStart(8)} ${'x cp'.padStart(7)} ${'peak RSS'.padStart(10)}\n`,
  );
  for (const r of rows)
    process.stdout.write(
      `${r.name.padEnd(56)} ${r.seconds.toFixed(2).padStart(8)} ${(r.seconds / floor).toFixed(2).padStart(7)} ${`${r.rssMiB.toFixed(0)} MiB`.padStart(10)}\n`,
    );
  process.stdout.write('targets: ours (default) at most 1.5x the cp, peak RSS under 300 MiB\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:bootkit: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
