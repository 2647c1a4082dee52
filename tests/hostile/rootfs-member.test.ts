// Hostile rootfs.tar.gz members inside a bootkit (issue 13 items 2 and 14): inspect
// and inject refuse them in one line naming the member and the entry, exit 2,
// leaving nothing beside the output and the bootkit as it was.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craftBootkit } from './craft.ts';
import { refused } from './rule.ts';

const scripts = join(import.meta.dirname, '../../installer-scripts');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-hostile-rootfs-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** inspect and inject both refuse `kit` with `msg`; the kit is untouched, nothing is left. */
async function refusedByBoth(kit: string, msg: RegExp) {
  const before = sha(kit);
  const listing = readdirSync(dirname(kit)).sort();
  await refused(['inspect', kit], msg);
  const out = join(dirname(kit), 'out.img');
  await refused(['inject', '--bootkit', kit, '--installer-scripts', scripts, '--out', out], msg);
  expect(sha(kit)).toBe(before);
  expect(readdirSync(dirname(kit)).sort()).toEqual(listing);
}

describe('14. rootfs entries whose parent path runs through a symlink', () => {
  it('etc/out -> /tmp/x, then etc/out/file: refused, naming the entry and the link', async () => {
    const kit = craftBootkit(dir, 'through-abs', {
      rootfs: [
        'ln -s /tmp/x rootfs/etc/out',
        'mkdir -p extra/etc/out && echo pwned > extra/etc/out/file',
        'tar --owner=0 --group=0 -cf r.tar -C rootfs .',
        'tar --owner=0 --group=0 -rf r.tar -C extra etc/out/file',
        'gzip -n -c r.tar > initramfs/rootfs.tar.gz',
      ].join(' && '),
    });
    await refusedByBoth(
      kit,
      /^(?=.*through-abs\.tar\.gz)(?=.*rootfs\.tar\.gz).*: entry 'etc\/out\/file' is under 'etc\/out', a symlink \(-> '\/tmp\/x'\)/,
    );
  });

  it('s -> ., s/s2 -> .., s/s2/file: refused at s/s2, the first entry through a link', async () => {
    const kit = craftBootkit(dir, 'through-dots', {
      rootfs: [
        'ln -s . rootfs/s',
        'mkdir -p a/s b/s/s2 && ln -s .. a/s/s2 && echo pwned > b/s/s2/file',
        'tar --owner=0 --group=0 -cf r.tar -C rootfs .',
        'tar --owner=0 --group=0 -rf r.tar -C a s/s2',
        'tar --owner=0 --group=0 -rf r.tar -C b s/s2/file',
        'gzip -n -c r.tar > initramfs/rootfs.tar.gz',
      ].join(' && '),
    });
    await refusedByBoth(kit, /entry 's\/s2' is under 's', a symlink \(-> '\.'\)/);
  });

  it('a clean toy rootfs with symlinks (usr/bin/awk -> /usr/bin/gawk) still inspects', async () => {
    const kit = craftBootkit(dir, 'clean');
    const { cli } = await import('./rule.ts');
    const r = await cli(['inspect', kit]);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(basename(kit)).toBe('clean.tar.gz');
  });
});

describe('2. a rootfs.tar.gz that is not gzip', () => {
  for (const codec of ['plain', 'gzip'] as const)
    it(`a plain tar, in a ${codec} cpio: named, and said what it is (not the outer stream)`, async () => {
      const kit = craftBootkit(dir, `plain-tar-${codec}`, {
        codec,
        rootfs: 'tar --owner=0 --group=0 -cf initramfs/rootfs.tar.gz -C rootfs .',
      });
      await refusedByBoth(
        kit,
        /rootfs\.tar\.gz.* is a plain \(uncompressed\) tar archive, not gzip-compressed/,
      );
    });

  it('an xz tarball and random bytes named rootfs.tar.gz say what they are', async () => {
    const xz = craftBootkit(dir, 'xz-tar', {
      rootfs: 'tar --owner=0 --group=0 -cJf initramfs/rootfs.tar.gz -C rootfs .',
    });
    await refusedByBoth(xz, /rootfs\.tar\.gz.* is xz-compressed data, not gzip-compressed/);
    const junk = craftBootkit(dir, 'junk-tar', {
      rootfs: 'printf "JUNKJUNK%.0s" {1..200} > initramfs/rootfs.tar.gz',
    });
    await refusedByBoth(junk, /rootfs\.tar\.gz.* is not gzip data \(it starts with 4a554e4b\)/);
  });

  it('a gzip rootfs with 4 bytes zeroed inside a gzip cpio: the rootfs is blamed, not the initramfs', async () => {
    const kit = craftBootkit(dir, 'zeroed-rootfs', {
      codec: 'gzip',
      rootfs: [
        'tar --owner=0 --group=0 -czf initramfs/rootfs.tar.gz -C rootfs .',
        'n=$(stat -c %s initramfs/rootfs.tar.gz)',
        'printf "\\0\\0\\0\\0" | dd of=initramfs/rootfs.tar.gz bs=1 seek=$((n / 2)) conv=notrunc status=none',
      ].join(' && '),
    });
    const r = await refused(['inspect', kit], /rootfs\.tar\.gz/);
    expect(r.err[0]).not.toMatch(/gzip stream at offset 0 in/);
    const out = join(dirname(kit), 'out.img');
    await refused(
      ['inject', '--bootkit', kit, '--installer-scripts', scripts, '--out', out],
      /rootfs\.tar\.gz/,
    );
  });
});
