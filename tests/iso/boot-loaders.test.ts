import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootLoaders } from '../../electron/iso/boot-loaders.ts';
import { IsoError } from '../../electron/iso/errors.ts';

const script = join(import.meta.dirname, '../../resources/boot/build.sh');

describe('bootLoaders', () => {
  it('names a missing dir with a setup hint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'noboot-'));
    try {
      expect(() => bootLoaders(dir)).toThrow(IsoError);
      expect(() => bootLoaders(dir)).toThrow(/BOOTX64\.EFI is missing \(run npm run setup/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves the files of resources/boot/dist', () => {
    const b = bootLoaders();
    const efi = readFileSync(b.efi);
    expect(efi.subarray(0, 2).toString('latin1')).toBe('MZ');
    // PE32+ machine type x86_64 (0x8664) after the "PE\0\0" signature.
    const pe = efi.readUInt32LE(0x3c);
    expect(efi.subarray(pe, pe + 4).toString('latin1')).toBe('PE\0\0');
    expect(efi.readUInt16LE(pe + 4)).toBe(0x8664);
    const mbr = readFileSync(b.biosHybridMbr);
    expect(mbr.length).toBe(512);
    expect(readFileSync(b.biosEltorito).length).toBeGreaterThan(32 * 1024);
    expect(readFileSync(b.sources, 'utf8')).toMatch(
      /GNU General Public License v3[\s\S]*grub-efi-amd64-bin 2\./,
    );
    // The early config sits in the EFI memdisk as plain tar data.
    expect(efi.includes('/.disk/emt-installer')).toBe(true);
  });
});

describe('resources/boot/build.sh', () => {
  it('builds the same bytes twice from an empty cache (reproducible) and reuses the cache', () => {
    const caches = [mkdtempSync(join(tmpdir(), 'bootc1-')), mkdtempSync(join(tmpdir(), 'bootc2-'))];
    try {
      const sums = caches.map((cache) => {
        const out = execFileSync('bash', [script], {
          env: { ...process.env, EMT_CACHE_DIR: cache },
          encoding: 'utf8',
        });
        expect(out).toMatch(/building GRUB images/);
        return execFileSync(
          'sh',
          ['-c', 'cd "$1"/boot-* && sha256sum BOOTX64.EFI eltorito.img boot_hybrid.img', 'sh', cache],
          {
            encoding: 'utf8',
          },
        );
      });
      expect(sums[0]).toBe(sums[1]);
      const again = execFileSync('bash', [script], {
        env: { ...process.env, EMT_CACHE_DIR: caches[0] },
        encoding: 'utf8',
      });
      expect(again).toMatch(/cached /);
      expect(readFileSync(bootLoaders().sources, 'utf8')).toContain(sums[0]!.split('\n')[0]);
    } finally {
      for (const c of caches) rmSync(c, { recursive: true, force: true });
    }
  });
});
