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
