import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installerConf, installerEntries } from '../../electron/initramfs/installer-layout.ts';

const EPOCH = 1_764_000_000;
let dir: string;

async function scripts(name: string): Promise<string> {
  const d = join(dir, name);
  await mkdir(join(d, 'systemd'), { recursive: true });
  await mkdir(join(d, 'lib'), { recursive: true });
  await mkdir(join(d, 'tests'), { recursive: true });
  await writeFile(join(d, 'install.sh'), '#!/bin/bash\necho hi\n');
  await chmod(join(d, 'install.sh'), 0o700);
  await writeFile(join(d, 'lib', 'disk.sh'), 'disk() { :; }\n');
  await chmod(join(d, 'lib', 'disk.sh'), 0o600);
  await writeFile(join(d, 'README.md'), 'docs\n');
  await writeFile(join(d, 'tests', 'x.bats'), 'test\n');
  await writeFile(join(d, 'systemd', 'emt-installer.service'), '[Unit]\n');
  return d;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-layout-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('installerEntries', () => {
  it('lays out scripts, unit, wants link, conf and parents, sorted, root-owned, at the epoch', async () => {
    const d = await scripts('a');
    const entries = await installerEntries(d, EPOCH, [
      { path: '/usr/bin/yq', data: Buffer.from('yq'), mode: 0o100755 },
    ]);
    const paths = entries.map((e) => e.path);
    expect(paths).toEqual([
      'etc',
      'etc/emt-installer',
      'etc/emt-installer/installer.conf',
      'etc/systemd',
      'etc/systemd/system',
      'etc/systemd/system/emt-installer.service',
      'etc/systemd/system/multi-user.target.wants',
      'etc/systemd/system/multi-user.target.wants/emt-installer.service',
      'opt',
      'opt/emt-installer',
      'opt/emt-installer/install.sh',
      'opt/emt-installer/lib',
      'opt/emt-installer/lib/disk.sh',
      'usr',
      'usr/bin',
      'usr/bin/yq',
    ]);
    const by = new Map(entries.map((e) => [e.path, e]));
    expect(by.get('opt/emt-installer/install.sh')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(by.get('opt/emt-installer/lib/disk.sh')).toMatchObject({ type: 'file', mode: 0o644 });
    expect(by.get('opt/emt-installer/lib')).toMatchObject({ type: 'directory', mode: 0o755 });
    expect(by.get('etc/systemd/system/emt-installer.service')).toMatchObject({ mode: 0o644 });
    expect(by.get('etc/systemd/system/emt-installer.service')!.data!.toString()).toBe('[Unit]\n');
    expect(by.get('etc/systemd/system/multi-user.target.wants/emt-installer.service')).toMatchObject({
      type: 'symlink',
      linkname: '../emt-installer.service',
    });
    expect(by.get('usr/bin/yq')).toMatchObject({ mode: 0o755 });
    const conf = by.get('etc/emt-installer/installer.conf')!.data!.toString();
    expect(conf).toContain('config_partlabel=EMTCONFIG\n');
    expect(conf).toContain('manifest=/emt-installer.json\n');
    for (const e of entries)
      expect(e).toMatchObject({ uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: EPOCH });
  });

  it('keeps a symlink that stays inside and refuses one pointing out', async () => {
    const d = await scripts('b');
    await symlink('install.sh', join(d, 'run.sh'));
    const entries = await installerEntries(d, EPOCH);
    expect(entries.find((e) => e.path === 'opt/emt-installer/run.sh')).toMatchObject({
      type: 'symlink',
      linkname: 'install.sh',
    });
    await symlink('../../etc/passwd', join(d, 'lib', 'evil'));
    await expect(installerEntries(d, EPOCH)).rejects.toThrow(
      /lib\/evil: symlink to '..\/..\/etc\/passwd' points outside/,
    );
    await rm(join(d, 'lib', 'evil'));
    await symlink('/etc/passwd', join(d, 'abs'));
    await expect(installerEntries(d, EPOCH)).rejects.toThrow(
      /abs: symlink to '\/etc\/passwd' points outside/,
    );
  });

  it('refuses a dir without the unit, a missing dir, and a bad epoch', async () => {
    const d = await scripts('c');
    await rm(join(d, 'systemd', 'emt-installer.service'));
    await expect(installerEntries(d, EPOCH)).rejects.toThrow(
      /emt-installer.service: the installer's systemd unit is missing/,
    );
    await expect(installerEntries(join(dir, 'nope'), EPOCH)).rejects.toThrow(
      /nope: installer scripts dir not found/,
    );
    await expect(installerEntries(await scripts('d'), -1)).rejects.toThrow(/SOURCE_DATE_EPOCH/);
  });

  it('writes strict key=value conf and refuses line breaks', () => {
    expect(installerConf({ a: '1', build_id: 'x y' }).toString()).toBe('a=1\nbuild_id=x y\n');
    expect(() => installerConf({ a: 'x\nb=2' })).toThrow(/line break/);
    expect(() => installerConf({ 'A-B': '1' })).toThrow(/bad key/);
  });

  it('is the same on every run', async () => {
    const d = await scripts('e');
    expect(await installerEntries(d, EPOCH)).toEqual(await installerEntries(d, EPOCH));
  });
});
