// The "also cover" cases of issue 13 that were clean already, kept so: every codec
// the kernel reads, cut short or with 4 bytes zeroed, the lz4 frame format (which
// the kernel does not read), and rootfs entries that escape (hard link out, a
// device node where the installer writes). inspect and inject: exit 2, one line
// naming the file, nothing left beside the output, the bootkit as it was.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craftBootkit } from './craft.ts';
import { refused } from './rule.ts';

const scripts = join(import.meta.dirname, '../../installer-scripts');
const isRoot = process.getuid?.() === 0;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-hostile-streams-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

async function refusedByBoth(kit: string, msg: RegExp) {
  const before = sha(kit);
  const listing = readdirSync(dirname(kit)).sort();
  await refused(['inspect', kit], msg, kit);
  const out = join(dirname(kit), 'out.img');
  await refused(['inject', '--bootkit', kit, '--installer-scripts', scripts, '--out', out], msg, kit);
  expect(sha(kit)).toBe(before);
  expect(readdirSync(dirname(kit)).sort()).toEqual(listing);
}

const CODECS: [string, string][] = [
  ['gzip', 'gzip -n -c'],
  ['zstd', 'zstd -q -c'],
  ['xz', 'xz --check=crc32 -c'],
  ['bzip2', 'bzip2 -c'],
  ['lzma', 'lzma -c'],
  ['lz4', 'lz4 -q -l -c'],
];

describe('initramfs streams of every codec, damaged', () => {
  for (const [codec, compress] of CODECS) {
    it(`${codec}: cut at 60% and with 4 bytes zeroed in the middle`, async () => {
      const cut = craftBootkit(dir, `cut-${codec}`, {
        codec: { compress },
        damage: (b) => b.subarray(0, Math.floor(b.length * 0.6)),
      });
      await refusedByBoth(
        cut,
        new RegExp(`${codec} stream at offset 0 in .*initramfs.* is truncated or corrupt`),
      );
      const zeroed = craftBootkit(dir, `zeroed-${codec}`, {
        codec: { compress },
        damage: (b) => b.fill(0, b.length >> 1, (b.length >> 1) + 4),
      });
      await refusedByBoth(zeroed, /initramfs/);
    });
  }

  it('lz4 frame format (the kernel reads only legacy lz4 -l): unknown codec, named', async () => {
    const kit = craftBootkit(dir, 'lz4-frame', { codec: { compress: 'lz4 -q -c' } });
    await refusedByBoth(kit, /unknown codec \(bytes 04 22\) at offset 0 in .*initramfs/);
  });

  it('a cpio archive that ends without its TRAILER, plain', async () => {
    const kit = craftBootkit(dir, 'no-trailer', {
      codec: 'plain',
      damage: (b) => b.subarray(0, b.length - 512),
    });
    await refusedByBoth(kit, /initramfs.*(TRAILER|claims|cut off)/);
  });
});

describe('15. a 070702 (crc) cpio whose data does not match its checksum', () => {
  it('is refused by inspect and inject, naming the entry and saying the kernel would refuse it', async () => {
    const flip = (b: Buffer) => {
      const at = b.indexOf('crafted init');
      b[at] = b[at]! ^ 0x20;
      return b;
    };
    for (const codec of ['plain', 'gzip'] as const) {
      const kit = craftBootkit(dir, `crc-${codec}`, {
        cpio: 'crc',
        codec,
        ...(codec === 'plain' ? { damage: flip } : {}),
      });
      if (codec === 'plain')
        await refusedByBoth(kit, /cpio entry 'init' .* has a wrong data checksum .*bad data checksum/);
      // Intact, the same format is read as before.
      else
        await expect((await import('./rule.ts')).cli(['inspect', kit])).resolves.toMatchObject({ code: 0 });
    }
  });
});

describe('rootfs entries that escape', () => {
  const tarThen = (extra: string) =>
    [
      'tar --owner=0 --group=0 -cf r.tar -C rootfs .',
      extra,
      'gzip -n -c r.tar > initramfs/rootfs.tar.gz',
    ].join(' && ');

  it('a hard link to an absolute path, and to ../ outside', async () => {
    for (const [name, target, msg] of [
      [
        'hardlink-abs',
        '/etc/shadow',
        /rootfs\.tar\.gz.*hard link 'h\/g' -> '\/etc\/shadow' points outside the archive/,
      ],
      [
        'hardlink-up',
        '../../outside',
        /rootfs\.tar\.gz.*hard link 'h\/g' -> '\.\.\/\.\.\/outside' points outside/,
      ],
    ] as const) {
      // The transform renames only hard-link targets (flags R and S: not names, not symlink targets).
      const kit = craftBootkit(dir, name, {
        rootfs: tarThen(
          `mkdir -p h && echo x > h/f && ln h/f h/g && tar -P --owner=0 --group=0 -rf r.tar --transform 's,^h/f$,${target},RS' h/f h/g`,
        ),
      });
      await refusedByBoth(kit, msg);
    }
  });

  it.skipIf(!isRoot)('a device node or fifo where the installer writes its unit (inject)', async () => {
    for (const [name, make] of [
      ['chardev', 'mknod rootfs/etc/systemd/system/emt-installer.service c 1 3'],
      ['fifo', 'mkdir -p rootfs/opt && mkfifo rootfs/opt/emt-installer'],
    ] as const) {
      const kit = craftBootkit(dir, `special-${name}`, {
        rootfs: `${make} && tar --owner=0 --group=0 -czf initramfs/rootfs.tar.gz -C rootfs .`,
      });
      const out = join(dirname(kit), 'out.img');
      await refused(
        ['inject', '--bootkit', kit, '--installer-scripts', scripts, '--out', out],
        /is a (character-device|fifo) where the installer writes a file/,
      );
      expect(readdirSync(dirname(kit)).filter((n) => n.startsWith('.') || n === 'out.img')).toEqual([]);
    }
  });
});
