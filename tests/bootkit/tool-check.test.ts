import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRequiredCommands, requiredTools } from '../../electron/bootkit/required-commands.ts';
import {
  checkTools,
  emptyRootfsIndex,
  indexTarEntry,
  missingCommands,
  type RootfsIndex,
  resolveInRootfs,
  rootfsIndexer,
} from '../../electron/bootkit/tool-check.ts';
import { type RootfsMode, rewriteRootfsTar } from '../../electron/initramfs/rootfs-tar.ts';
import { syntheticCache } from '../fixtures/synthetic-bootkit.ts';

const cache = syntheticCache();
afterAll(() => cache.cleanup());

async function index(path: string): Promise<RootfsIndex> {
  const { sink, index } = rootfsIndexer(path);
  await pipeline(createReadStream(path), sink);
  return index;
}

describe('tool check over a real tar.gz', () => {
  it('finds every tool in a classic layout', async () => {
    const r = checkTools(await index(cache.get('gzip').rootfsTar!));
    expect(r.every((t) => t.found)).toBe(true);
    expect(r.find((t) => t.name === 'systemd')!.path).toBe('/lib/systemd/systemd');
    expect(r.find((t) => t.name === 'parted')!.path).toBe('/sbin/parted');
    expect(r.find((t) => t.name === 'lvm2')).toMatchObject({ found: true, path: '/sbin/lvm' });
    expect(r.find((t) => t.name === 'net-tools')!.commands.map((c) => c.path)).toEqual([
      '/sbin/ifconfig',
      '/sbin/route',
    ]);
  });
  it('a tool with two commands is missing when either is', () => {
    const r = checkTools({
      files: new Set(['sbin/ifconfig']),
      dirs: new Set(),
      symlinks: new Map(),
      entries: 1,
      tarSize: 0,
    });
    const nt = r.find((t) => t.name === 'net-tools')!;
    expect(nt.found).toBe(false);
    expect(nt.commands).toEqual([
      { command: 'ifconfig', found: true, optional: false, path: '/sbin/ifconfig', resolved: null },
      { command: 'route', found: false, optional: false, path: null, resolved: null },
    ]);
  });
  it('checks every command of installer-scripts/required-commands.txt, grouped by package', async () => {
    const list = parseRequiredCommands(
      await readFile(new URL('../../installer-scripts/required-commands.txt', import.meta.url), 'utf8'),
      'required-commands.txt',
    );
    const r = checkTools(await index(cache.get('gzip').rootfsTar!));
    expect(r.flatMap((t) => t.commands.map((c) => c.command)).sort()).toEqual(
      list.map((c) => c.command).sort(),
    );
    for (const t of r)
      for (const c of t.commands)
        expect(list).toContainEqual(expect.objectContaining({ command: c.command, package: t.name }));
  });
  it('a missing required command makes its package missing, named with it; an optional one does not', () => {
    const all = emptyRootfsIndex();
    for (const t of requiredTools())
      for (const c of t.commands) all.files.add(c.paths?.[0] ?? `usr/bin/${c.command}`);
    expect(checkTools(all).every((t) => t.found)).toBe(true);
    const noWipefs = { ...all, files: new Set([...all.files].filter((f) => f !== 'usr/bin/wipefs')) };
    const r = checkTools(noWipefs);
    expect(r.filter((t) => !t.found).map((t) => [t.name, missingCommands(t)])).toEqual([
      ['util-linux', ['wipefs']],
    ]);
    const noSgdisk = { ...all, files: new Set([...all.files].filter((f) => f !== 'usr/bin/sgdisk')) };
    const g = checkTools(noSgdisk).find((t) => t.name === 'gdisk')!;
    expect(g).toMatchObject({ found: true, commands: [{ command: 'sgdisk', found: false, optional: true }] });
    expect(missingCommands(g)).toEqual([]);
  });
  it('a scripts folder with its own list is checked against it; a bad list names its line', async () => {
    const d = await mkdtemp(join(tmpdir(), 'emt-toollist-'));
    try {
      await writeFile(join(d, 'required-commands.txt'), '# ours\nbash bash\nfrob frob-utils  # extra\n');
      expect(requiredTools(d).map((t) => [t.name, t.commands.map((c) => c.command)])).toEqual([
        ['bash', ['bash']],
        ['frob-utils', ['frob']],
      ]);
      await writeFile(join(d, 'required-commands.txt'), 'bash bash\nfrob frob-utils sometimes\n');
      expect(() => requiredTools(d)).toThrow(
        `${join(d, 'required-commands.txt')} line 2: unknown flag 'sometimes' (optional, indirect, path=...)`,
      );
      await rm(join(d, 'required-commands.txt'));
      // None of its own: ours.
      expect(requiredTools(d)).toEqual(requiredTools());
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
  it('names a missing tool', async () => {
    const r = checkTools(await index(cache.get('no-parted').rootfsTar!));
    expect(r.filter((t) => !t.found).map((t) => t.name)).toEqual(['parted']);
    expect(r.find((t) => t.name === 'parted')).toMatchObject({ found: false, path: null });
  });
  it('follows merged-/usr directory links and tool links inside the archive', async () => {
    const r = checkTools(await index(cache.get('merged-usr').rootfsTar!));
    expect(r.every((t) => t.found)).toBe(true);
    expect(r.find((t) => t.name === 'bash')).toMatchObject({ path: '/usr/bin/bash', resolved: null });
    expect(r.find((t) => t.name === 'lvm2')).toMatchObject({
      path: '/usr/sbin/lvm',
      resolved: '/usr/lib/lvm2/lvm',
    });
    expect(r.find((t) => t.name === 'systemd')).toMatchObject({
      path: '/usr/lib/systemd/systemd',
      resolved: null,
    });
  });
  it('refuses ../ and absolute member names, naming the entry', async () => {
    await expect(index(cache.get('rootfs-dotdot').rootfsTar!)).rejects.toThrow(
      /entry '..\/evil.txt' has a '..' component/,
    );
    await expect(index(cache.get('rootfs-absolute').rootfsTar!)).rejects.toThrow(
      /entry '\/.*evil.txt' has an absolute path/,
    );
  });
});

describe('symlink resolution', () => {
  const idx = (files: string[], links: Record<string, string>): RootfsIndex => ({
    files: new Set(files),
    dirs: new Set(),
    symlinks: new Map(Object.entries(links)),
    entries: 0,
    tarSize: 0,
  });
  it('absolute and relative targets, chains, loops', () => {
    const i = idx(['usr/bin/gawk'], {
      'usr/bin/awk': '/etc/alternatives/awk',
      'etc/alternatives/awk': '../../usr/bin/gawk',
      bin: 'usr/bin',
      x: 'y',
      y: 'x',
    });
    expect(resolveInRootfs(i, 'bin/awk')).toBe('usr/bin/gawk');
    expect(resolveInRootfs(i, 'x')).toBeNull();
    expect(resolveInRootfs(i, 'bin/missing')).toBeNull();
  });
  it('checkTools finds a tool only reachable through a directory link', () => {
    const r = checkTools(idx(['opt/tools/parted'], { sbin: 'opt/tools' }));
    expect(r.find((t) => t.name === 'parted')).toMatchObject({
      found: true,
      path: '/sbin/parted',
      resolved: '/opt/tools/parted',
    });
  });
  it('a link climbing above the root stays in the root', () => {
    const i = idx(['usr/bin/bash'], { bin: '../../../usr/bin' });
    expect(resolveInRootfs(i, 'bin/bash')).toBe('usr/bin/bash');
  });
});

describe('the index fed from the injection pass (one decompression per build)', () => {
  const scriptsDir = fileURLToPath(new URL('../../installer-scripts/', import.meta.url));
  const viaRewrite = async (tar: string, mode: RootfsMode): Promise<RootfsIndex> => {
    const dir = await mkdtemp(join(tmpdir(), 'emt-toolidx-'));
    try {
      const ix = emptyRootfsIndex();
      await rewriteRootfsTar({
        input: tar,
        output: join(dir, 'out.tar.gz'),
        scriptsDir,
        mode,
        sourceDateEpoch: 0,
        onEntry: (e) => indexTarEntry(ix, e),
      });
      return ix;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  for (const variant of ['gzip', 'no-parted', 'merged-usr'] as const) {
    for (const mode of ['splice', 'recompress'] as const) {
      it(`${variant}, ${mode}: same names and the same tool results as a separate pass`, async () => {
        const tar = cache.get(variant).rootfsTar!;
        const [a, b] = await Promise.all([index(tar), viaRewrite(tar, mode)]);
        expect(b.entries).toBeGreaterThan(0);
        expect([...b.files].sort()).toEqual([...a.files].sort());
        expect([...b.dirs].sort()).toEqual([...a.dirs].sort());
        expect([...b.symlinks].sort()).toEqual([...a.symlinks].sort());
        expect(checkTools(b)).toEqual(checkTools(a));
      });
    }
  }
  it('the separate pass and the hook refuse the same unsafe names', async () => {
    await expect(viaRewrite(cache.get('rootfs-dotdot').rootfsTar!, 'splice')).rejects.toThrow(
      /entry '..\/evil.txt' has a '..' component/,
    );
  });
});
