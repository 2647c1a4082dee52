// Memory stays flat: a rootfs far bigger than the budget streams through inject.
// Peak RSS is measured by /usr/bin/time around the real CLI.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonResult } from '../cli/json-lines.ts';
import { cli } from '../fixtures/synthetic-cli.ts';

const work = mkdtempSync(join(tmpdir(), 'emt-inject-mem-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sh = (cmd: string) => execFileSync('bash', ['-euo', 'pipefail', '-c', cmd], { cwd: work }).toString();
const BLOB_MB = 400;
const BUDGET_KB = 300 * 1024;

describe('inject memory', () => {
  // A 400 MiB file of zeros: cheap to compress, and far past the budget if held whole.
  sh(`mkdir -p r/usr/lib i && truncate -s ${BLOB_MB}M r/usr/lib/blob && echo x > r/usr/lib/small`);
  sh('tar --owner=0 --group=0 -cf - -C r . | gzip -1 > i/rootfs.tar.gz && echo init > i/init');
  sh('(cd i && find . | LC_ALL=C sort | cpio --quiet -o -H newc) | gzip -1 > big.img');
  mkdirSync(join(work, 's/systemd'), { recursive: true });
  writeFileSync(join(work, 's/systemd/emt-installer.service'), '[Service]\nExecStart=/bin/true\n');
  writeFileSync(join(work, 's/install.sh'), '#!/bin/sh\n', { mode: 0o755 });

  for (const mode of ['fast', 'segment']) {
    it(`--mode ${mode}: peak RSS under 300 MB with a ${BLOB_MB} MiB rootfs`, async () => {
      const out = join(work, `out-${mode}.img`);
      const rss = join(work, `rss-${mode}`);
      sh(
        `/usr/bin/time -f %M -o ${rss} node ${join(import.meta.dirname, '../../bin/emt-usb.js')} inject --bootkit big.img --installer-scripts s --out ${out} --mode ${mode}`,
      );
      const kb = Number(sh(`tail -1 ${rss}`).trim());
      expect(kb).toBeGreaterThan(10_000);
      expect(kb).toBeLessThan(BUDGET_KB);
      const j = jsonResult((await cli(['inspect', out, '--json'])).stdout);
      expect(j.rootfs.present).toBe(true);
      expect(j.rootfs.tarSize).toBeGreaterThan(BLOB_MB * 1024 * 1024);
    });
  }
});
