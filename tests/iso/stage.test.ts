import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ISO_PATHS,
  listUserApps,
  materialize,
  type PayloadInputs,
  payloadFiles,
  planMeta,
  planPayload,
} from '../../electron/iso/stage.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-stage-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = 'ab'.repeat(32);
const inputs = (over: Partial<PayloadInputs> = {}): PayloadInputs => ({
  kernel: '/in/vmlinuz-6.1',
  initrd: '/tmp/x/initrd.new',
  grubCfg: new TextEncoder().encode('menuentry x {}\n'),
  efiLoader: '/res/BOOTX64.EFI',
  osImage: '/data/emt-os.raw.gz',
  osImageSha256: sha,
  ...over,
});

describe('planPayload', () => {
  it('lays out the EFI-only tree of DESIGN.md', () => {
    const plan = planPayload(inputs());
    expect(plan.map((e) => e.isoPath)).toEqual([
      '/boot/vmlinuz',
      '/boot/initrd.img',
      '/boot/grub/grub.cfg',
      '/EFI/BOOT/BOOTX64.EFI',
      '/images/emt-os.raw.gz',
      '/images/emt-os.raw.gz.sha256',
    ]);
    expect(plan[0]!.source).toEqual({ kind: 'file', path: '/in/vmlinuz-6.1' });
    // The OS image is referenced in place, never copied.
    expect(plan[4]!.source).toEqual({ kind: 'file', path: '/data/emt-os.raw.gz' });
    const sums = plan[5]!.source;
    expect(sums.kind === 'bytes' && new TextDecoder().decode(sums.data)).toBe(`${sha}  emt-os.raw.gz\n`);
  });

  it('adds the BIOS El Torito image and user-apps when given', () => {
    const plan = planPayload(
      inputs({ biosEltorito: '/res/eltorito.img', userApps: { dir: '/apps', files: ['b/y.bin', 'a.sh'] } }),
    );
    expect(plan.find((e) => e.isoPath === ISO_PATHS.biosEltorito)?.source).toEqual({
      kind: 'file',
      path: '/res/eltorito.img',
    });
    expect(plan.at(-1)).toEqual({
      isoPath: '/user-apps',
      source: { kind: 'dir', path: '/apps', files: ['a.sh', 'b/y.bin'] },
    });
    expect(payloadFiles(plan).map((f) => f.isoPath)).toContain('/user-apps/b/y.bin');
  });

  it('refuses a malformed sha256 and escaping user-apps entries', () => {
    expect(() => planPayload(inputs({ osImageSha256: 'AB'.repeat(32) }))).toThrow(/64 lower-case hex/);
    expect(() => planPayload(inputs({ userApps: { dir: '/apps', files: ['../etc/passwd'] } }))).toThrow(
      /'..\/etc\/passwd' in \/apps is not a clean relative path/,
    );
  });
});

describe('planMeta + materialize', () => {
  it('writes generated files under the stage dir and grafts the rest in place', async () => {
    const stageDir = join(dir, 'stage1');
    const manifest = new TextEncoder().encode('{"schema":1}\n');
    const entries = [
      ...planPayload(inputs()),
      ...planMeta({
        buildId: '0123456789abcdef',
        label: 'EMT_X',
        createdAt: '2025-11-26T00:00:00Z',
        manifest,
      }),
    ];
    const grafts = await materialize(entries, stageDir);
    const by = new Map(grafts.map((g) => [g.isoPath, g.diskPath]));
    expect(by.get('/images/emt-os.raw.gz')).toBe('/data/emt-os.raw.gz');
    expect(by.get('/boot/vmlinuz')).toBe('/in/vmlinuz-6.1');
    expect(by.get(ISO_PATHS.manifest)).toBe(join(stageDir, 'emt-installer.json'));
    expect(await readFile(join(stageDir, 'emt-installer.json'), 'utf8')).toBe('{"schema":1}\n');
    expect(await readFile(join(stageDir, '.disk/emt-installer'), 'utf8')).toBe(
      'build_id=0123456789abcdef\nlabel=EMT_X\n',
    );
    expect(await readFile(join(stageDir, '.disk/info'), 'utf8')).toMatch(/EMT_X build 0123456789abcdef/);
    expect(await readFile(join(stageDir, 'boot/grub/grub.cfg'), 'utf8')).toBe('menuentry x {}\n');
  });

  it('grafts relative sources by absolute path (xorriso may run elsewhere)', async () => {
    const grafts = await materialize(
      [{ isoPath: '/boot/vmlinuz', source: { kind: 'file', path: 'k/vmlinuz' } }],
      dir,
    );
    expect(grafts).toEqual([{ isoPath: '/boot/vmlinuz', diskPath: join(process.cwd(), 'k/vmlinuz') }]);
  });

  it('refuses a path staged twice and unclean ISO paths', async () => {
    const f = { kind: 'bytes' as const, data: new Uint8Array(1) };
    await expect(
      materialize(
        [
          { isoPath: '/a', source: f },
          { isoPath: '/a', source: f },
        ],
        join(dir, 's2'),
      ),
    ).rejects.toThrow(/\/a is staged twice/);
    for (const p of ['a', '/a/../b', '/a//b', '/a/./b']) {
      await expect(materialize([{ isoPath: p, source: f }], join(dir, 's3'))).rejects.toThrow(/not a clean/);
    }
  });
});

describe('listUserApps', () => {
  it('lists regular files recursively, sorted', async () => {
    const apps = join(dir, 'apps');
    await mkdir(join(apps, 'sub/deeper'), { recursive: true });
    await writeFile(join(apps, 'z.sh'), 'z');
    await writeFile(join(apps, 'a=b.txt'), 'a');
    await writeFile(join(apps, 'sub/deeper/k.bin'), 'k');
    expect(await listUserApps(apps)).toEqual(['a=b.txt', 'sub/deeper/k.bin', 'z.sh']);
  });

  it('refuses symlinks, naming the entry, and a missing dir', async () => {
    const apps = join(dir, 'apps-link');
    await mkdir(apps);
    await symlink('/etc/passwd', join(apps, 'pw'));
    await expect(listUserApps(apps)).rejects.toThrow(`user-apps entry ${join(apps, 'pw')} is a symlink`);
    await expect(listUserApps(join(dir, 'nope'))).rejects.toThrow(/does not exist/);
  });
});
