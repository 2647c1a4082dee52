// Memory stays flat: a rootfs.tar.gz of ~1.1 GB uncompressed goes through both
// modes in a fresh process whose peak RSS must stay far below the data size.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
let dir: string;
let input: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-rootfs-mem-'));
  const src = join(dir, 'src');
  await mkdir(join(src, 'opt'), { recursive: true });
  // A sparse 1 GiB file reads as zeros without using disk; random data beside it.
  execFileSync('bash', [
    '-c',
    `truncate -s 1G ${src}/opt/pad.bin && head -c 48M /dev/urandom > ${src}/opt/rand.bin && ` +
      `tar -C ${src} -cf - . | gzip -1 > ${dir}/in.tar.gz`,
  ]);
  input = join(dir, 'in.tar.gz');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rewriteRootfsTar memory', () => {
  for (const mode of ['splice', 'recompress'] as const) {
    it(`${mode}: peak RSS under 300 MB for a 1.1 GB tar`, async () => {
      const script = join(dir, `run-${mode}.mts`);
      await writeFile(
        script,
        `import { rewriteRootfsTar } from ${JSON.stringify(join(root, 'electron/initramfs/rootfs-tar.ts'))};
const r = await rewriteRootfsTar({ input: ${JSON.stringify(input)}, output: ${JSON.stringify(join(dir, `out-${mode}.tar.gz`))},
  scriptsDir: ${JSON.stringify(join(root, 'installer-scripts'))}, mode: '${mode}', sourceDateEpoch: 1764000000 });
console.log(JSON.stringify({ rss: process.resourceUsage().maxRSS * 1024, tar: r.tarSize }));`,
      );
      const out = execFileSync(process.execPath, ['--import', 'tsx', script], {
        cwd: root,
        encoding: 'utf8',
      });
      const { rss, tar } = JSON.parse(out.trim().split('\n').at(-1)!) as { rss: number; tar: number };
      expect(tar).toBeGreaterThan(1.1e9);
      expect(rss).toBeLessThan(300e6);
      execFileSync('gzip', ['-t', join(dir, `out-${mode}.tar.gz`)]);
    });
  }
});
