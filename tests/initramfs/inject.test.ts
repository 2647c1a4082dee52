// injectInitramfs on synthetic bootkits, each output checked by independent tools:
// segments split out with dd, then the real cpio, gzip/zstd/xz and tar.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Codec } from '../../electron/initramfs/codecs.ts';
import { type InjectMode, injectInitramfs } from '../../electron/initramfs/inject.ts';
import type { RootfsMode } from '../../electron/initramfs/rootfs-tar.ts';
import { walkInitramfs } from '../../electron/initramfs/segments.ts';
import { type SyntheticVariant, syntheticCache } from '../fixtures/synthetic-bootkit.ts';

const cache = syntheticCache();
afterAll(() => cache.cleanup());
const work = join(cache.parent, 'inject');
mkdirSync(work);
const sh = (cmd: string, cwd = work) =>
  execFileSync('bash', ['-euo', 'pipefail', '-c', cmd], { cwd, maxBuffer: 1 << 26 }).toString();
const SDE = 1_700_000_000;

/** A scripts dir shaped like installer-scripts/ (its contract), made here so the test owns it. */
function scriptsDir(): string {
  const d = join(work, 'scripts');
  mkdirSync(join(d, 'systemd'), { recursive: true });
  mkdirSync(join(d, 'lib'), { recursive: true });
  writeFileSync(join(d, 'install.sh'), '#!/usr/bin/env bash\necho "emt-installer: start"\n', { mode: 0o755 });
  writeFileSync(join(d, 'lib/common.sh'), 'x=1\n', { mode: 0o644 });
  writeFileSync(join(d, 'README.md'), 'not copied\n');
  writeFileSync(
    join(d, 'systemd/emt-installer.service'),
    '[Service]\nExecStart=/opt/emt-installer/install.sh\n[Install]\nWantedBy=multi-user.target\n',
  );
  return d;
}
const scripts = scriptsDir();

const decompress: Record<Codec, string> = {
  none: 'cat',
  gzip: 'gzip -dc',
  zstd: 'zstd -q -dc',
  xz: 'xz -dc',
  lz4: 'lz4 -q -dc',
  bzip2: 'bzip2 -dc',
  lzma: 'lzma -dc',
};

/** Split a segment out with dd and list it with the real cpio. */
function listSegment(file: string, offset: number, length: number, codec: Codec): string[] {
  const out = sh(
    `dd if=${file} bs=4 skip=${offset / 4} count=${Math.ceil(length / 4)} status=none | head -c ${length} | ${decompress[codec]} | cpio --quiet -t`,
  );
  return out.split('\n').filter(Boolean);
}

/** Extract rootfs.tar.gz from the output's last segment with cpio -i; check it with gzip and tar. */
function checkRootfs(file: string, offset: number, length: number, codec: Codec, dir: string): string {
  mkdirSync(dir, { recursive: true });
  sh(
    `dd if=${file} bs=4 skip=${offset / 4} count=${Math.ceil(length / 4)} status=none | head -c ${length} | ${decompress[codec]} | (cd ${dir} && cpio --quiet -idm rootfs.tar.gz)`,
  );
  sh(`gzip -t ${dir}/rootfs.tar.gz`);
  return sh(`tar -tzvf ${dir}/rootfs.tar.gz --numeric-owner --full-time`);
}

function expectOurFiles(listing: string, original: string[]) {
  const line = (path: string) =>
    listing.split('\n').find((l) => l.endsWith(` ${path}`) || l.includes(` ${path} -> `));
  const date = '2023-11-14 22:13:20'; // SDE in UTC
  expect(line('opt/emt-installer/install.sh')).toMatch(new RegExp(`^-rwxr-xr-x 0/0 .* ${date} `));
  expect(line('opt/emt-installer/lib/common.sh')).toMatch(new RegExp(`^-rw-r--r-- 0/0 .* ${date} `));
  expect(line('etc/systemd/system/emt-installer.service')).toMatch(new RegExp(`^-rw-r--r-- 0/0 .* ${date} `));
  expect(line('etc/systemd/system/multi-user.target.wants/emt-installer.service')).toMatch(
    /^lrwxrwxrwx 0\/0 .* -> \.\.\/emt-installer.service$/,
  );
  expect(line('etc/emt-installer/installer.conf')).toMatch(/^-rw-r--r-- 0\/0 /);
  expect(listing).not.toMatch(/opt\/emt-installer\/README.md/);
  // Everything of the old rootfs is still there.
  for (const p of original) expect(listing).toContain(p);
}

const ORIGINAL = ['sbin/parted', 'lib/systemd/systemd', 'usr/bin/gawk', 'etc/os-release'];
const MAIN_ENTRIES = ['.', 'dev', 'init', 'usr', 'usr/lib', 'usr/lib/payload.bin'];

describe('injectInitramfs, checked by cpio, gzip and tar', () => {
  const cases: [SyntheticVariant, InjectMode, RootfsMode?][] = [
    ['gzip', 'segment'],
    ['gzip', 'segment', 'recompress'],
    ['xz', 'single', 'recompress'],
    ['ucode-zstd', 'segment'],
    ['xz', 'segment'],
    ['plain', 'segment'],
    ['lz4', 'segment'],
    ['gzip', 'fast'],
    ['ucode-zstd', 'fast'],
    ['gzip', 'single'],
    ['ucode-zstd', 'single'],
  ];
  for (const [variant, mode, rootfsMode] of cases) {
    it(`${variant}, ${mode} mode${rootfsMode ? `, rootfs ${rootfsMode}` : ''}`, async () => {
      const b = cache.get(variant);
      const out = join(work, `${variant}-${mode}-${rootfsMode ?? 'default'}.img`);
      const r = await injectInitramfs({
        initramfs: b.initramfs,
        scriptsDir: scripts,
        out,
        mode,
        sourceDateEpoch: SDE,
        ...(rootfsMode ? { rootfsMode } : {}),
      });
      expect(r.rootfs.mode).toBe(rootfsMode ?? 'splice');
      const input = readFileSync(b.initramfs);
      const output = readFileSync(out);
      expect(r.size).toBe(output.length);
      const inL = await walkInitramfs(b.initramfs);
      const outL = await walkInitramfs(out);
      const main = inL.segments[inL.rootfsSegment]!;
      const last = outL.segments.at(-1)!;
      expect(outL.rootfsSegment).toBe(outL.segments.length - 1);

      if (mode === 'fast') {
        // The input byte for byte, then our segment.
        expect(output.subarray(0, input.length).equals(input)).toBe(true);
        expect(last).toMatchObject({ codec: 'none', entries: 1 });
        expect(r.rootfs.mode).toBe('splice');
      }
      if (mode === 'segment') {
        expect(outL.segments.map((s) => s.codec)).toEqual([
          ...inL.segments.map((s) => (s.codec === 'lz4' ? 'gzip' : s.codec)),
          'none',
        ]);
        // Leading segments kept byte for byte.
        for (const s of inL.segments.slice(0, inL.rootfsSegment)) {
          const o = outL.segments[s.index]!;
          expect(
            output
              .subarray(o.offset, o.offset + o.length)
              .equals(input.subarray(s.offset, s.offset + s.length)),
          ).toBe(true);
        }
        // The main segment, re-encoded in its codec without rootfs.tar.gz, read by the real tools.
        const m = outL.segments[inL.rootfsSegment]!;
        expect(listSegment(out, m.offset, m.length, m.codec).sort()).toEqual(MAIN_ENTRIES);
        expect(last).toMatchObject({ codec: 'none', entries: 1 });
      }
      if (mode === 'single') {
        expect(outL.segments.length).toBe(inL.rootfsSegment + 1);
        expect(last.codec).toBe(main.codec);
        expect(listSegment(out, last.offset, last.length, last.codec).sort()).toEqual(
          [...MAIN_ENTRIES, 'rootfs.tar.gz'].sort(),
        );
      }
      const listing = checkRootfs(
        out,
        last.offset,
        last.length,
        last.codec,
        join(work, `x-${variant}-${mode}`),
      );
      expectOurFiles(listing, ORIGINAL);
      // cpio header of our rootfs.tar.gz: root-owned, 0644, mtime SDE.
      const v = sh(
        `dd if=${out} bs=4 skip=${last.offset / 4} status=none | ${decompress[last.codec]} | cpio --quiet -tv --numeric-uid-gid 2>/dev/null | grep rootfs.tar.gz`,
      );
      expect(v).toMatch(/^-rw-r--r-- +1 0 +0 /);
    });
  }

  it('is reproducible: same input, scripts and SOURCE_DATE_EPOCH give the same bytes', async () => {
    const b = cache.get('ucode-zstd');
    const a = await injectInitramfs({
      initramfs: b.initramfs,
      scriptsDir: scripts,
      out: join(work, 'r1.img'),
      sourceDateEpoch: SDE,
    });
    const c = await injectInitramfs({
      initramfs: b.initramfs,
      scriptsDir: scripts,
      out: join(work, 'r2.img'),
      sourceDateEpoch: SDE,
    });
    expect(a.sha256).toBe(c.sha256);
    expect(sh('sha256sum r1.img').split(' ')[0]).toBe(a.sha256);
  });

  it('shows the rootfs entries to a caller in the same pass, per rootfs.tar.gz (tool check input)', async () => {
    for (const variant of ['gzip', 'no-parted'] as const) {
      const seen: string[][] = [];
      const r = await injectInitramfs({
        initramfs: cache.get(variant).initramfs,
        scriptsDir: scripts,
        out: join(work, `hook-${variant}.img`),
        sourceDateEpoch: SDE,
        onRootfsTar: () => {
          const names: string[] = [];
          seen.push(names);
          return (e) => names.push(`${e.type} ${e.name.replace(/^\.\//, '')}`);
        },
      });
      expect(seen).toHaveLength(1);
      // Every old entry, no more: the count the rewrite reports, the names GNU tar lists.
      expect(seen[0]).toHaveLength(r.rootfs.oldEntries);
      const listed = sh(`tar -tzf ${cache.get(variant).rootfsTar}`)
        .split('\n')
        .filter((l) => l && l !== './')
        .map((l) => l.replace(/^\.\//, '').replace(/\/$/, ''));
      expect(seen[0]!.map((x) => x.split(' ')[1]!.replace(/\/$/, '')).filter((x) => x)).toEqual(listed);
      expect(seen[0]!.includes('file sbin/parted')).toBe(variant === 'gzip');
    }
  });

  it('xz output keeps CRC32 (the kernel refuses CRC64)', async () => {
    const b = cache.get('xz');
    const out = join(work, 'xz-check.img');
    await injectInitramfs({
      initramfs: b.initramfs,
      scriptsDir: scripts,
      out,
      mode: 'single',
      sourceDateEpoch: SDE,
    });
    expect(sh(`xz --robot -lvv ${out} 2>/dev/null || true`)).toMatch(/CRC32/);
  });
});

describe('bad input: an error naming file and problem, and no file left behind', () => {
  const bad: [SyntheticVariant, RegExp][] = [
    ['truncated', /gzip stream at offset 0 in .* is truncated/],
    ['no-rootfs', /has no rootfs.tar.gz/],
    ['rootfs-dotdot', /entry '..\/evil.txt' has a '..' component/],
    ['rootfs-absolute', /entry '\/.*evil.txt' has an absolute path/],
    ['cpio-size-past-end', /cpio entry 'usr\/lib\/payload.bin' at offset \d+ .* claims 268435455 bytes/],
    ['unknown-codec', /unknown codec \(bytes 50 4b\) at offset 0/],
    ['xz-crc64', /CRC64/],
  ];
  for (const [variant, msg] of bad) {
    it(variant, async () => {
      const dir = mkdtempSync(join(work, `bad-${variant}-`));
      const out = join(dir, 'out.img');
      await expect(
        injectInitramfs({
          initramfs: cache.get(variant).initramfs,
          scriptsDir: scripts,
          out,
          sourceDateEpoch: SDE,
        }),
      ).rejects.toThrow(msg);
      expect(readdirSync(dir)).toEqual([]);
    });
  }
  it('an abort leaves nothing behind', async () => {
    const dir = mkdtempSync(join(work, 'abort-'));
    const ac = new AbortController();
    ac.abort();
    await expect(
      injectInitramfs({
        initramfs: cache.get('gzip').initramfs,
        scriptsDir: scripts,
        out: join(dir, 'o.img'),
        signal: ac.signal,
      }),
    ).rejects.toThrow(/abort/i);
    expect(readdirSync(dir)).toEqual([]);
  });
  it('an abort in the middle (after the first segment) leaves nothing behind', async () => {
    const dir = mkdtempSync(join(work, 'abort-mid-'));
    const ac = new AbortController();
    let events = 0;
    await expect(
      injectInitramfs({
        initramfs: cache.get('ucode-zstd').initramfs,
        scriptsDir: scripts,
        out: join(dir, 'o.img'),
        signal: ac.signal,
        onProgress: (e) => {
          events++;
          if (e.stage === 'walk') ac.abort();
        },
      }),
    ).rejects.toThrow(/abort/i);
    expect(events).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual([]);
  });
  it('a scripts dir without the unit', async () => {
    const dir = mkdtempSync(join(work, 'nounit-'));
    mkdirSync(join(dir, 's'));
    await expect(
      injectInitramfs({
        initramfs: cache.get('gzip').initramfs,
        scriptsDir: join(dir, 's'),
        out: join(dir, 'o.img'),
      }),
    ).rejects.toThrow(/systemd unit is missing/);
    expect(readdirSync(dir)).toEqual(['s']);
  });
});
