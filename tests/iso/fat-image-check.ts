// Checks FAT images with tools we did not write: fsck.fat (dosfstools), mtools,
// blkid (util-linux) and file(1). Each image is written to a temp file first.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export interface FatReport {
  fsck: { status: number; output: string };
  blkid: Record<string, string>;
  file: string;
  /** `mdir -/ -b` listing: one path per line (mtools' bare format). */
  tree: string[];
  read: (path: string) => Buffer;
}

export function inspectFat(image: Uint8Array): FatReport {
  const dir = mkdtempSync(join(tmpdir(), 'fatcheck-'));
  const img = join(dir, 'fat.img');
  try {
    writeFileSync(img, image);
    const fsck = spawnSync('fsck.fat', ['-n', '-v', img], { encoding: 'utf8' });
    const blkidOut = execFileSync('blkid', ['-p', '-o', 'export', img], { encoding: 'utf8' });
    const blkid = Object.fromEntries(
      blkidOut
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const file = execFileSync('file', ['-b', '-s', img], { encoding: 'utf8' }).trim();
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const tree = execFileSync('mdir', ['-i', img, '-/', '-b', '::'], { encoding: 'utf8', env })
      .trim()
      .split('\n')
      .map((l) => l.replace(/^::\//, '').replace(/\/$/, ''))
      .sort();
    const files = new Map<string, Buffer>();
    for (const p of tree) {
      const r = spawnSync('mtype', ['-i', img, `::/${p}`], { env, maxBuffer: 1 << 26 });
      if (r.status === 0) files.set(p, r.stdout);
    }
    return {
      fsck: { status: fsck.status ?? -1, output: `${fsck.stdout}${fsck.stderr}` },
      blkid,
      file,
      tree,
      read: (p) => {
        const f = files.get(p);
        if (!f) throw new Error(`mtype could not read ${p}`);
        return f;
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
