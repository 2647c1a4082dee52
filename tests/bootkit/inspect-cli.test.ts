// `emt-usb inspect` as a user runs it: the JSON shape scripts rely on, exit codes,
// one-line errors.
import { afterAll, describe, expect, it } from 'vitest';
import { requiredTools } from '../../electron/bootkit/required-commands.ts';
import { jsonResult, parseJsonLines } from '../cli/json-lines.ts';
import { type SyntheticVariant, syntheticCache } from '../fixtures/synthetic-bootkit.ts';
import { cli } from '../fixtures/synthetic-cli.ts';

const cache = syntheticCache();
afterAll(() => cache.cleanup());

describe('emt-usb inspect --json', () => {
  it('gzip bootkit tarball: kernel, segments, rootfs, tools', async () => {
    const b = cache.get('gzip');
    const r = await cli(['inspect', b.tarball, '--json']);
    expect(r.code).toBe(0);
    const j = jsonResult(r.stdout);
    expect(j.kernel.version).toBe(b.version);
    expect(j.initramfs.segments).toEqual([expect.objectContaining({ offset: 0, codec: 'gzip', entries: 7 })]);
    expect(j.rootfs).toMatchObject({ present: true, size: expect.any(Number) });
    // One entry per package of installer-scripts/required-commands.txt, in its order.
    expect(j.tools.map((t: { name: string }) => t.name)).toEqual(requiredTools().map((t) => t.name));
    for (const p of ['systemd', 'bash', 'efibootmgr', 'gawk', 'lvm2', 'net-tools', 'parted', 'util-linux'])
      expect(j.tools.map((t: { name: string }) => t.name)).toContain(p);
    for (const t of j.tools) expect(t).toMatchObject({ found: true, path: expect.stringMatching(/^\//) });
    expect(j.missingCommands).toEqual([]);
  });
  it('early microcode + zstd', async () => {
    const j = jsonResult((await cli(['inspect', cache.get('ucode-zstd').tarball, '--json'])).stdout);
    expect(j.initramfs.segments.map((s: { codec: string; offset: number }) => [s.codec, s.offset])).toEqual([
      ['none', 0],
      ['zstd', 6144],
    ]);
  });
  it('xz, given as a vmlinuz + initramfs pair', async () => {
    const b = cache.get('xz');
    const j = jsonResult((await cli(['inspect', b.kernel, b.initramfs, '--json'])).stdout);
    expect(j.kernel.version).toBe(b.version);
    expect(j.initramfs.segments[0].codec).toBe('xz');
  });
  it('a missing tool: exit 0, named in JSON and in the table', async () => {
    const b = cache.get('no-parted');
    const r = await cli(['inspect', b.tarball, '--json']);
    expect(r.code).toBe(0);
    const j = jsonResult(r.stdout);
    expect(j.tools.find((t: { name: string }) => t.name === 'parted')).toMatchObject({
      found: false,
      path: null,
    });
    expect(j.missingTools).toEqual(['parted']);
    const h = await cli(['inspect', b.tarball]);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/missing tools: parted/);
    expect(h.stdout).toMatch(/kernel: +6\.6\.0-emt-synthetic/);
  });
  it('an initramfs alone has no kernel version', async () => {
    const j = jsonResult((await cli(['inspect', cache.get('gzip').initramfs, '--json'])).stdout);
    expect(j.kernel.version).toBeNull();
    expect(j.rootfs.present).toBe(true);
  });
  it('no rootfs.tar.gz: present false, every tool missing', async () => {
    const j = jsonResult((await cli(['inspect', cache.get('no-rootfs').initramfs, '--json'])).stdout);
    expect(j.rootfs).toMatchObject({ present: false, size: null });
    const tools = requiredTools();
    // Every package but those whose commands are all optional (gdisk, fdisk: fallbacks exist).
    expect(j.missingTools).toEqual(
      tools.filter((t) => t.commands.some((c) => !c.optional)).map((t) => t.name),
    );
    expect(j.missingTools).not.toContain('gdisk');
    // Every required command named; the optional ones (a fallback exists) are not.
    expect(j.missingCommands).toEqual(
      tools.flatMap((t) => t.commands.filter((c) => !c.optional).map((c) => c.command)),
    );
    expect(j.missingCommands).toContain('route');
    expect(j.missingCommands).toContain('wipefs');
    expect(j.missingCommands).not.toContain('sgdisk');
  });
});

describe('emt-usb inspect on bad input: exit 2, one line naming the file', () => {
  const cases: [SyntheticVariant, 'tarball' | 'initramfs', RegExp][] = [
    ['truncated', 'initramfs', /gzip stream at offset 0 in .*initramfs.* is truncated/],
    [
      'not-bootkit',
      'tarball',
      /emb_uos_x86_64_not-bootkit.tar.gz is not a bootkit: no vmlinuz\*\/initramfs\* inside/,
    ],
    ['rootfs-dotdot', 'tarball', /rootfs.tar.gz in .*: entry '..\/evil.txt' has a '..' component/],
    ['rootfs-absolute', 'initramfs', /entry '\/.*evil.txt' has an absolute path/],
    [
      'cpio-size-past-end',
      'initramfs',
      /cpio entry 'usr\/lib\/payload.bin' at offset \d+ .* claims 268435455 bytes/,
    ],
    ['unknown-codec', 'initramfs', /unknown codec \(bytes 50 4b\) at offset 0 in .*initramfs/],
    ['xz-crc64', 'initramfs', /uses the CRC64 integrity check/],
  ];
  for (const [variant, what, msg] of cases) {
    it(variant, async () => {
      const b = cache.get(variant);
      const r = await cli(['inspect', what === 'tarball' ? b.tarball : b.initramfs, '--json']);
      expect(r.code).toBe(2);
      // No report on stdout: --json ends with the one error line (README: --json).
      expect(parseJsonLines(r.stdout).error?.message).toMatch(msg);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^emt-usb inspect: /);
      expect(lines[0]).toMatch(msg);
    });
  }
  it('a kernel that is not a bzImage, a missing file, no arguments', async () => {
    const b = cache.get('gzip');
    const r1 = await cli(['inspect', b.initramfs, b.initramfs]);
    expect(r1).toMatchObject({ code: 2, stderr: expect.stringMatching(/is a bzImage kernel|not a bzImage/) });
    const r2 = await cli(['inspect', '/no/such/file']);
    expect(r2).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/cannot read \/no\/such\/file: ENOENT/),
    });
    const r3 = await cli(['inspect']);
    expect(r3.code).toBe(2);
  });
});
