// The renderer bundle touches neither Node nor files: no `require(`, no
// `process.`, no node: imports; one JS and one CSS file within the size budget.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRenderer } from './browser.ts';

describe('the built renderer bundle', () => {
  let dir: string;
  let files: { name: string; text: string }[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emt-renderer-'));
    buildRenderer(dir);
    const assets = await readdir(join(dir, 'assets'));
    files = await Promise.all(
      assets.map(async (name) => ({ name, text: await readFile(join(dir, 'assets', name), 'utf8') })),
    );
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is one JS and one CSS file, loaded by index.html under a strict CSP', async () => {
    expect(files.filter((f) => f.name.endsWith('.js'))).toHaveLength(1);
    expect(files.filter((f) => f.name.endsWith('.css'))).toHaveLength(1);
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    expect(html).toContain("script-src 'self'");
    expect(html).toContain("connect-src 'none'");
    expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline script
  });

  it('holds no require(, no process., no node: module', () => {
    for (const f of files) {
      expect(f.text.includes('require('), f.name).toBe(false);
      expect(f.text.includes('process.'), f.name).toBe(false);
      expect(/["']node:/.test(f.text), f.name).toBe(false);
    }
  });

  it('is at most 200 KB gzipped, JS and CSS together', () => {
    const total = files.reduce((n, f) => n + gzipSync(f.text, { level: 9 }).length, 0);
    expect(total).toBeGreaterThan(1000);
    expect(total).toBeLessThanOrEqual(200 * 1024);
  });
});
