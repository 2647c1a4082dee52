import { describe, expect, it } from 'vitest';
import {
  CONFIG_LABEL,
  CONFIG_PARTITION_BYTES,
  configPartitionImage,
} from '../../electron/iso/config-partition-image.ts';
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
