// `emt-usb inject` end to end on synthetic bootkits: output read back by inspect,
// exit codes, one-line errors, and no file left behind on failure.
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonResult } from '../cli/json-lines.ts';
import { type SyntheticVariant, syntheticCache } from '../fixtures/synthetic-bootkit.ts';
import { cli } from '../fixtures/synthetic-cli.ts';

const cache = syntheticCache();
afterAll(() => cache.cleanup());
const scripts = join(import.meta.dirname, '../../installer-scripts');

describe('emt-usb inject', () => {
  it('injects from a bootkit tarball; inspect reads the result', async () => {
    const dir = mkdtempSync(join(cache.parent, 'cli-'));
    const out = join(dir, 'initrd.img');
    const b = cache.get('ucode-zstd');
    const r = await cli([
      'inject',
      '--bootkit',
      b.tarball,
      '--installer-scripts',
      scripts,
      '--out',
      out,
      '--source-date-epoch',
      '1700000000',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = jsonResult(r.stdout);
    expect(j).toMatchObject({ mode: 'segment', out });
    expect(j.segments.map((s: { source: string }) => s.source)).toEqual(['kept', 'reencoded', 'rootfs']);
    expect(j.rootfs.entriesAdded).toContain(
      'etc/systemd/system/multi-user.target.wants/emt-installer.service',
    );
    const i = jsonResult((await cli(['inspect', out, '--json'])).stdout);
    expect(i.initramfs.segments.map((s: { codec: string }) => s.codec)).toEqual(['none', 'zstd', 'none']);
    expect(i.rootfs.present).toBe(true);
    expect(i.missingTools).toEqual([]);
    expect(readdirSync(dir)).toEqual(['initrd.img']);
  });
  it('--mode segment --rootfs splice', async () => {
    const dir = mkdtempSync(join(cache.parent, 'cli-'));
    const out = join(dir, 'o.img');
    const r = await cli([
      'inject',
      '--bootkit',
      cache.get('gzip').initramfs,
      '--installer-scripts',
      scripts,
      '--out',
      out,
      '--rootfs',
      'splice',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(jsonResult(r.stdout)).toMatchObject({ mode: 'segment', rootfs: { mode: 'splice' } });
  });
  it('--mode single --codec xz from a kernel + initramfs pair', async () => {
    const dir = mkdtempSync(join(cache.parent, 'cli-'));
    const out = join(dir, 'o.img');
    const b = cache.get('gzip');
    const r = await cli([
      'inject',
      '--bootkit',
      b.initramfs,
      '--kernel',
      b.kernel,
      '--installer-scripts',
      scripts,
      '--out',
      out,
      '--mode',
      'single',
      '--codec',
      'xz',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/single mode/);
    const i = jsonResult((await cli(['inspect', out, '--json'])).stdout);
    expect(i.initramfs.segments.map((s: { codec: string }) => s.codec)).toEqual(['xz']);
  });
});

describe('emt-usb inject on bad input: exit 2, one line, nothing left', () => {
  const cases: [SyntheticVariant, 'tarball' | 'initramfs', RegExp][] = [
    ['truncated', 'tarball', /gzip stream at offset 0 in .*initramfs.* is truncated/],
    ['not-bootkit', 'tarball', /is not a bootkit: no vmlinuz\*\/initramfs\* inside/],
    ['no-rootfs', 'initramfs', /has no rootfs.tar.gz/],
    ['rootfs-dotdot', 'tarball', /entry '..\/evil.txt' has a '..' component/],
    ['rootfs-absolute', 'initramfs', /has an absolute path/],
    ['cpio-size-past-end', 'initramfs', /claims 268435455 bytes/],
    ['unknown-codec', 'initramfs', /unknown codec \(bytes 50 4b\) at offset 0/],
    ['xz-crc64', 'initramfs', /CRC64/],
  ];
  for (const [variant, what, msg] of cases) {
    it(variant, async () => {
      const dir = mkdtempSync(join(cache.parent, `bad-${variant}-`));
      const b = cache.get(variant);
      const r = await cli([
        'inject',
        '--bootkit',
        what === 'tarball' ? b.tarball : b.initramfs,
        '--installer-scripts',
        scripts,
        '--out',
        join(dir, 'out.img'),
      ]);
      expect(r.code).toBe(2);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^emt-usb inject: /);
      expect(lines[0]).toMatch(msg);
      expect(readdirSync(dir)).toEqual([]);
    });
  }
  it('usage errors', async () => {
    const dir = mkdtempSync(join(cache.parent, 'usage-'));
    mkdirSync(join(dir, 'x'));
    const b = cache.get('gzip');
    const base = [
      'inject',
      '--bootkit',
      b.initramfs,
      '--installer-scripts',
      scripts,
      '--out',
      join(dir, 'o'),
    ];
    expect((await cli([...base, '--mode', 'turbo'])).stderr).toMatch(
      /--mode must be fast, segment or single/,
    );
    expect((await cli([...base, '--codec', 'lz4'])).stderr).toMatch(/--codec must be gzip, zstd, xz or none/);
    expect((await cli([...base, '--source-date-epoch', '-5'])).code).toBe(2);
    expect((await cli([...base, '--rootfs', 'zip'])).stderr).toMatch(/--rootfs must be splice or recompress/);
    expect((await cli(['inject', '--bootkit', b.initramfs])).stderr).toMatch(
      /missing required option --installer-scripts/,
    );
    expect(readdirSync(dir)).toEqual(['x']);
  });
});
