// The shim half of resources/boot/build.sh: Debian's signed files copied unmodified
// (a changed byte would break their signatures), cached by recipe hash, with SOURCES
// naming the packages and versions, and dist/shim/ in step with the cache.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shimLoaders } from '../../electron/iso/boot-loaders.ts';

const script = join(import.meta.dirname, '../../resources/boot/build.sh');
const DEBIAN = {
  'shimx64.efi': '/usr/lib/shim/shimx64.efi.signed',
  'mmx64.efi': '/usr/lib/shim/mmx64.efi.signed',
  'grubx64.efi': '/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed',
};

describe('resources/boot/build.sh shim recipe', () => {
  it('copies the signed chain unmodified into shim-<hash>, names its sources, and reuses the cache', () => {
    const cache = mkdtempSync(join(tmpdir(), 'shimc-'));
    try {
      const env = { ...process.env, EMT_CACHE_DIR: cache };
      const out = execFileSync('bash', [script], { env, encoding: 'utf8' });
      expect(out).toMatch(/dist\/shim ready \(recipe [0-9a-f]{16}\)/);
      const dirs = readdirSync(cache).filter((d) => d.startsWith('shim-'));
      expect(dirs).toHaveLength(1);
      const cached = join(cache, dirs[0]!);
      for (const [name, src] of Object.entries(DEBIAN))
        expect(readFileSync(join(cached, name)).equals(readFileSync(src)), name).toBe(true);
      expect(readFileSync(join(cached, 'grub.cfg'), 'utf8')).toBe(
        readFileSync(join(import.meta.dirname, '../../resources/boot/early.cfg'), 'utf8'),
      );
      const sources = readFileSync(join(cached, 'SOURCES'), 'utf8');
      expect(sources).toMatch(/^shim-signed \S+$/m);
      expect(sources).toMatch(/^grub-efi-amd64-signed \S+$/m);
      expect(sources).toMatch(/BSD-2-Clause/);
      // dist/shim (what the build reads) holds the same bytes as the cache.
      const dist = shimLoaders();
      expect(readFileSync(dist.shim).equals(readFileSync(join(cached, 'shimx64.efi')))).toBe(true);
      expect(readFileSync(dist.sources, 'utf8')).toBe(sources);
      const again = execFileSync('bash', [script], { env, encoding: 'utf8' });
      expect(again).toMatch(/cached /);
      expect(readdirSync(cache).filter((d) => d.startsWith('shim-'))).toEqual(dirs);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
