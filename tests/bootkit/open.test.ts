import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openBootkit } from '../../electron/bootkit/open.ts';
import { syntheticCache } from '../fixtures/synthetic-bootkit.ts';

const cache = syntheticCache();
afterAll(() => cache.cleanup());

describe('openBootkit', () => {
  it('extracts vmlinuz* and initramfs* from a tarball, at any depth, and cleans up', async () => {
    const b = cache.get('merged-usr');
    const bk = await openBootkit([b.tarball]);
    expect(bk.kind).toBe('tarball');
    expect(bk.kernelName).toMatch(/:emb\/vmlinuz-/);
    expect(bk.initramfsName).toMatch(/:emb\/initramfs-/);
    expect(existsSync(bk.initramfs)).toBe(true);
    await bk.cleanup();
    expect(existsSync(bk.initramfs)).toBe(false);
  });
  it('takes a kernel + initramfs pair in either order', async () => {
    const b = cache.get('gzip');
    for (const args of [
      [b.kernel, b.initramfs],
      [b.initramfs, b.kernel],
    ]) {
      const bk = await openBootkit(args);
      expect(bk).toMatchObject({ kind: 'pair', kernel: b.kernel, initramfs: b.initramfs });
    }
  });
  it('takes a gzip initramfs alone (not mistaken for a tarball)', async () => {
    const bk = await openBootkit([cache.get('gzip').initramfs]);
    expect(bk).toMatchObject({ kind: 'initramfs', kernel: null });
  });
  it('says what is wrong with a tar.gz that is no bootkit', async () => {
    const b = cache.get('not-bootkit');
    await expect(openBootkit([b.tarball])).rejects.toThrow(
      `${b.tarball} is not a bootkit: no vmlinuz*/initramfs* inside`,
    );
  });
  it('says a plain tar is not a tar.gz', async () => {
    const b = cache.get('gzip');
    const tar = join(b.dir, 'plain.tar');
    execFileSync('tar', ['-cf', tar, '-C', b.dir, 'main.cpio']);
    await expect(openBootkit([tar])).rejects.toThrow(`${tar} is an uncompressed tar; a bootkit is a tar.gz`);
  });
  it('refuses a kernel alone and a missing file', async () => {
    await expect(openBootkit([cache.get('gzip').kernel])).rejects.toThrow(
      /is a kernel; give its initramfs too/,
    );
    await expect(openBootkit(['/nonexistent/bootkit.tar.gz'])).rejects.toThrow(
      /cannot read \/nonexistent\/bootkit.tar.gz: ENOENT/,
    );
  });
});
