// inspect on the real sample bootkits (Debian kernel, debootstrap rootfs; built and
// cached by tests/fixtures/sample-bootkit.ts, which needs root).
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { inspectBootkit } from '../../electron/bootkit/inspect.ts';
import { jsonResult } from '../cli/json-lines.ts';
import { type SampleVariant, sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { cli } from '../fixtures/synthetic-cli.ts';

const root = process.getuid?.() === 0;

const CASES: [SampleVariant, string[], string[]][] = [
  ['gzip', ['gzip'], []],
  ['zstd-ucode', ['none', 'zstd'], []],
  ['xz', ['xz'], []],
  ['no-parted', ['gzip'], ['parted']],
];

describe.skipIf(!root)('inspect real sample bootkits', () => {
  for (const [variant, codecs, missing] of CASES) {
    it(variant, async () => {
      const kit = await sampleBootkit(variant);
      const r = await inspectBootkit([kit.tarball]);
      expect(r.kernel.version).toBe(kit.kernelVersion);
      expect(r.initramfs.segments.map((s) => s.codec)).toEqual(codecs);
      expect(r.rootfs.present).toBe(true);
      expect(r.missingTools).toEqual(missing);
      // The size reported is the size of the file the kernel unpacks.
      expect(r.rootfs.size).toBeGreaterThan(1_000_000);
      expect(r.initramfs.size).toBe((await readFile(kit.initramfs)).length);
      // Every command found (installer-scripts/required-commands.txt) sits where a shell finds it.
      for (const t of r.tools)
        for (const c of t.commands)
          if (c.found) expect(c.path).toMatch(/^\/(usr\/)?s?bin\/|^\/(usr\/)?lib\/systemd\/systemd$/);
      // All the required ones are there but in no-parted (sgdisk is optional and absent).
      expect(r.missingCommands).toEqual(missing.length ? ['parted'] : []);
    });
  }
  it('--json through the CLI, kernel and initramfs given apart', async () => {
    const kit = await sampleBootkit('zstd-ucode');
    const r = await cli(['inspect', kit.kernel, kit.initramfs, '--json']);
    expect(r.code).toBe(0);
    const j = jsonResult(r.stdout);
    expect(j.kernel.version).toBe(kit.kernelVersion);
    expect(j.initramfs.segments[0]).toMatchObject({ offset: 0, codec: 'none' });
    expect(j.initramfs.segments[1].offset % 4).toBe(0);
  });
});
