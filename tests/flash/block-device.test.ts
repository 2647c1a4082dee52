// The Linux block-device edge on real loop devices: sizes and partitions from
// sysfs, mounts from /proc, unmounting, O_DIRECT-ready buffers.
import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alignedBuffers,
  linuxBlockInfo,
  linuxMountsOf,
  O_DIRECT,
  unmountAll,
} from '../../electron/flash/block-device.ts';
import { isRoot } from './fixture-image.ts';

describe.skipIf(!isRoot)('block devices', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'emt-blockdev-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads size, partitions and backing file; finds and removes mounts of its partitions', async () => {
    const file = join(dir, 'disk.img');
    writeFileSync(file, Buffer.alloc(0));
    execFileSync('truncate', ['-s', '64M', file]);
    execFileSync('sgdisk', ['-o', '-n', '1:2048:+16M', '-n', '2:0:+16M', file], { stdio: 'ignore' });
    const dev = execFileSync('losetup', ['-f', '--show', '-P', file], { encoding: 'utf8' }).trim();
    const mnt = mkdtempSync(join(tmpdir(), 'emt-blockdev-mnt-'));
    try {
      // the partition scan of -P does not always show up at once here; partx makes sure
      try {
        execFileSync('partx', ['-a', dev], { stdio: 'ignore' });
      } catch {}
      const info = linuxBlockInfo(dev);
      expect(info.size).toBe(64 << 20);
      expect(info.backingFile).toBe(file);
      expect(info.readOnly).toBe(false);
      expect(info.partitions.sort()).toEqual([`${info.name}p1`, `${info.name}p2`]);
      execFileSync('mkfs.ext4', ['-q', `${dev}p2`]);
      execFileSync('mount', [`${dev}p2`, mnt]);
      const mounts = linuxMountsOf(dev, info.partitions);
      expect(mounts).toEqual([mnt]);
      await unmountAll(dev, mounts);
      expect(linuxMountsOf(dev, info.partitions)).toEqual([]);
    } finally {
      try {
        execFileSync('umount', [mnt], { stdio: 'ignore' });
      } catch {} // already unmounted when the test passed
      execFileSync('losetup', ['-d', dev]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('alignedBuffers finds addresses O_DIRECT accepts for large transfers', async () => {
    const file = join(dir, 'd.img');
    writeFileSync(file, Buffer.alloc(16 << 20, 1));
    const dev = execFileSync('losetup', ['-f', '--show', file], { encoding: 'utf8' }).trim();
    try {
      const fh = await open(dev, constants.O_RDWR | O_DIRECT);
      try {
        const [buf] = (await alignedBuffers(fh, 1, 4 << 20, 512))!;
        expect(buf!.length).toBe(4 << 20);
        const { bytesRead } = await fh.read(buf!, 0, 4 << 20, 0);
        expect(bytesRead).toBe(4 << 20);
        buf!.fill(9);
        await fh.write(buf!, 0, 4 << 20, 4 << 20);
        // a buffer one byte off that address is refused by the kernel: the probe matters
        const off = Buffer.from(buf!.buffer, buf!.byteOffset + 1, 1 << 20);
        await expect(fh.read(off, 0, 1 << 20, 0)).rejects.toMatchObject({ code: 'EINVAL' });
      } finally {
        await fh.close();
      }
    } finally {
      execFileSync('losetup', ['-d', dev]);
    }
  });
});
