// Injection errors on a real sample bootkit: a problem found while the rootfs
// streams through must reach the user as itself, not as "corrupt gzip".
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { injectInitramfs } from '../../electron/initramfs/inject.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';

const work = mkdtempSync(join(tmpdir(), 'emt-inject-sample-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('injectInitramfs on the real gzip sample bootkit', () => {
  it('names a missing scripts dir instead of calling the stream corrupt, and leaves nothing', async () => {
    const kit = await sampleBootkit('gzip');
    const err = await injectInitramfs({
      initramfs: kit.initramfs,
      scriptsDir: join(work, 'missing'),
      out: join(work, 'o.img'),
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/missing: installer scripts dir not found/);
    expect((err as Error).message).not.toMatch(/truncated or corrupt/);
    expect(readdirSync(work)).toEqual([]);
  });
});
