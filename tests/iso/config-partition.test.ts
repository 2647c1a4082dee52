import { describe, expect, it } from 'vitest';
import { emtConfigPartition } from '../../electron/config/config-partition.ts';
import { validateConfig } from '../../electron/config/validate.ts';
import {
  CONFIG_LABEL,
  CONFIG_PARTITION_BYTES,
  checkConfigPartitionImage,
  configPartitionImage,
} from '../../electron/iso/config-partition-image.ts';
import { makeFatImage, readFatFiles } from '../../electron/iso/fat-image.ts';
import { inspectFat, sha256 } from './fat-image-check.ts';

const EPOCH = 1764115200;
const files = [
  { path: 'emt-config/config.yaml', data: Buffer.from('user_name: edge\nhost_type: container\n') },
  { path: 'emt-config/credentials', data: Buffer.from('password_sha512=$6$salt$hash\n') },
  { path: 'README.txt', data: Buffer.from('EMT installer site configuration\n') },
];

describe('configPartitionImage', () => {
  it('is a 64 MiB FAT32 volume labelled EMTCONFIG holding the files, fsck-clean', async () => {
    const img = await configPartitionImage({ files, dateEpoch: EPOCH, serial: 0x20261126 });
    expect(img.length).toBe(CONFIG_PARTITION_BYTES);
    const r = inspectFat(img);
    expect(r.fsck.status, r.fsck.output).toBe(0);
    expect(r.blkid.VERSION).toBe('FAT32');
    expect(r.blkid.LABEL).toBe(CONFIG_LABEL);
    expect(r.blkid.UUID).toBe('2026-1126');
    expect(r.file).toContain('label: "EMTCONFIG  "');
    expect(r.tree).toEqual(['README.txt', 'emt-config', 'emt-config/config.yaml', 'emt-config/credentials']);
    for (const f of files) expect(r.read(f.path).toString()).toBe(f.data.toString());
  });

  it('gives the same sha256 for the same inputs, another for another serial', async () => {
    const a = sha256(await configPartitionImage({ files, dateEpoch: EPOCH, serial: 1 }));
    expect(sha256(await configPartitionImage({ files, dateEpoch: EPOCH, serial: 1 }))).toBe(a);
    expect(sha256(await configPartitionImage({ files, dateEpoch: EPOCH, serial: 2 }))).not.toBe(a);
  });
});

describe('checkConfigPartitionImage (flash --config-image)', () => {
  const config = validateConfig({ user_name: 'edge', host_type: 'container' }).config!;

  it('accepts what build and flash make, and reads it without changing a byte', async () => {
    const img = await emtConfigPartition({ config, dateEpoch: EPOCH, serial: 1 });
    const before = sha256(img);
    await expect(checkConfigPartitionImage(img, 'ok.img')).resolves.toBeUndefined();
    const fat = await readFatFiles(img, ['emt/config.env', 'emt/nothing']);
    expect(fat?.label).toBe('EMTCONFIG');
    expect(fat?.type).toBe(32);
    expect(fat?.files.get('emt/config.env')?.toString()).toMatch(/^format_version=1$/m);
    expect(fat?.files.get('emt/nothing')).toBeNull();
    expect(sha256(img)).toBe(before);
  });

  it('refuses random bytes, an empty file, another label, an EMTCONFIG without our files, a too large file', async () => {
    const random = Buffer.alloc(1000);
    for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) & 0xff;
    const boot = await makeFatImage({
      sizeBytes: 2 ** 20,
      fat: 12,
      label: 'BOOT',
      serial: 2,
      dateEpoch: EPOCH,
      files: [],
    });
    const empty = await configPartitionImage({ files: [], dateEpoch: EPOCH, serial: 3 });
    const good = await emtConfigPartition({ config, dateEpoch: EPOCH, serial: 4 });
    // A broken boot sector: the right size, no file system.
    const wiped = Buffer.from(good);
    wiped.fill(0, 0, 512);
    const cases: [Buffer, RegExp][] = [
      [random, /config image x\.img: is not a FAT file system/],
      [Buffer.alloc(0), /config image x\.img: is empty, not a FAT file system/],
      [boot, /is a FAT file system labelled 'BOOT', not EMTCONFIG/],
      [empty, /holds no emt\/config\.env of ours/],
      [wiped, /is not a FAT file system/],
      [
        Buffer.concat([good, Buffer.alloc(512)]),
        /is 67109376 bytes; an EMTCONFIG image is at most 67108864 bytes/,
      ],
    ];
    for (const [bytes, msg] of cases)
      await expect(checkConfigPartitionImage(bytes, 'x.img')).rejects.toThrow(msg);
  });
});
