// Hostile bootkits for the hostile-input suites, made in code: the synthetic toy
// rootfs (tools present), with the rootfs.tar.gz and the initramfs wrapping chosen
// by the test. Real tar, cpio and gzip make every byte.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fakeBzImage, SYNTHETIC_VERSION, toyRootfs } from '../fixtures/synthetic-bootkit.ts';

export const sh = (cmd: string, cwd: string) =>
  execFileSync('bash', ['-euo', 'pipefail', '-c', cmd], { cwd, stdio: 'pipe' });

export interface CraftOptions {
  /**
   * Shell run in the work folder after the toy tree is in `rootfs/`; it must
   * leave the member at `initramfs/rootfs.tar.gz`. Default: a clean tar.gz of it.
   */
  rootfs?: string;
  /** How the main cpio is stored in the initramfs. */
  codec?: 'plain' | 'gzip';
}

/** Returns the bootkit tar.gz path (in a fresh folder under `parent`). */
export function craftBootkit(parent: string, name: string, o: CraftOptions = {}): string {
  const dir = mkdtempSync(join(parent, `craft-${name}-`));
  mkdirSync(join(dir, 'rootfs'));
  mkdirSync(join(dir, 'initramfs/dev'), { recursive: true });
  writeFileSync(join(dir, 'initramfs/init'), '#!/bin/sh\necho crafted init\n', { mode: 0o755 });
  toyRootfs(join(dir, 'rootfs'), 'gzip');
  sh(o.rootfs ?? 'tar --owner=0 --group=0 -czf initramfs/rootfs.tar.gz -C rootfs .', dir);
  const img = `initramfs-${SYNTHETIC_VERSION}.img`;
  sh('cd initramfs && find . | LC_ALL=C sort | cpio --quiet -o -H newc > ../main.cpio', dir);
  sh(o.codec === 'plain' ? `cp main.cpio ${img}` : `gzip -n -c main.cpio > ${img}`, dir);
  writeFileSync(
    join(dir, `vmlinuz-${SYNTHETIC_VERSION}`),
    fakeBzImage(`${SYNTHETIC_VERSION} (crafted) #1 SMP`),
  );
  const tarball = join(dir, `${name}.tar.gz`);
  sh(`tar -czf ${tarball} vmlinuz-${SYNTHETIC_VERSION} ${img}`, dir);
  return tarball;
}
