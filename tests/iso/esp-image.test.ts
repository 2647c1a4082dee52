import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bootLoaders } from '../../electron/iso/boot-loaders.ts';
import { IsoError } from '../../electron/iso/errors.ts';
import { ESP_MAX_BYTES, espGeometry, espImage } from '../../electron/iso/esp-image.ts';
import { inspectFat, sha256 } from './fat-image-check.ts';

const EPOCH = 1764115200;
const MIB = 1024 * 1024;

describe('espImage', () => {
  it('holds EFI/BOOT/BOOTX64.EFI in a small FAT12/16 labelled EMTESP, fsck-clean', async () => {
    const { efi } = bootLoaders();
    const img = await espImage({ efiBinary: efi, dateEpoch: EPOCH });
    expect(img.length % MIB).toBe(0);
    expect(img.length).toBeLessThanOrEqual(ESP_MAX_BYTES);
    const r = inspectFat(img);
    expect(r.fsck.status, r.fsck.output).toBe(0);
    expect(r.blkid.LABEL).toBe('EMTESP');
    expect(['FAT12', 'FAT16']).toContain(r.blkid.VERSION);
    expect(r.tree).toEqual(['EFI', 'EFI/BOOT', 'EFI/BOOT/BOOTX64.EFI']);
    expect(sha256(r.read('EFI/BOOT/BOOTX64.EFI'))).toBe(sha256(readFileSync(efi)));
    // Same inputs, same bytes.
    expect(sha256(await espImage({ efiBinary: efi, dateEpoch: EPOCH }))).toBe(sha256(img));
  });

  it('grows with its payload, adds extra files, and switches to FAT16 from 4 MiB', async () => {
    expect(espGeometry(800_000)).toEqual({ sizeBytes: 2 * MIB, fat: 12 });
    expect(espGeometry(5 * MIB)).toEqual({ sizeBytes: 7 * MIB, fat: 16 });
    const img = await espImage({
      efiBinary: Buffer.alloc(5 * MIB, 1),
      dateEpoch: EPOCH,
      extraFiles: [{ path: 'EFI/BOOT/grubx64.efi', data: Buffer.alloc(1000, 2) }],
    });
    const r = inspectFat(img);
    expect(r.fsck.status, r.fsck.output).toBe(0);
    expect(r.blkid.VERSION).toBe('FAT16');
    expect(r.read('EFI/BOOT/grubx64.efi')).toEqual(Buffer.alloc(1000, 2));
  });

  it('refuses boot files that would need an ESP over 32 MiB', async () => {
    const err = await espImage({ efiBinary: Buffer.alloc(30 * MIB), dateEpoch: EPOCH }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IsoError);
    expect((err as IsoError).message).toMatch(/El Torito can address at most 32 MiB/);
  });

  it('grows past 32 MiB when no El Torito image points at it (a UKI ESP), still fsck-clean', async () => {
    const img = await espImage({ efiBinary: Buffer.alloc(40 * MIB, 3), dateEpoch: EPOCH, noElTorito: true });
    expect(img.length).toBeGreaterThan(ESP_MAX_BYTES);
    const r = inspectFat(img);
    expect(r.fsck.status, r.fsck.output).toBe(0);
    expect(sha256(r.read('EFI/BOOT/BOOTX64.EFI'))).toBe(sha256(Buffer.alloc(40 * MIB, 3)));
  });
});
