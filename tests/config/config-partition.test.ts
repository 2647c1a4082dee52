import { describe, expect, it } from 'vitest';
import { passwordHashFor } from '../../electron/config/config-partition.ts';
import { isSha512CryptHash, sha512Crypt } from '../../electron/config/sha512-crypt.ts';

describe('passwordHashFor', () => {
  it('hashes a plaintext with a fresh random salt every time', () => {
    const a = passwordHashFor('s3cret pass');
    const b = passwordHashFor('s3cret pass');
    expect(isSha512CryptHash(a)).toBe(true);
    expect(a).not.toBe(b);
    for (const h of [a, b]) {
      const salt = h.split('$')[2]!;
      expect(salt).toHaveLength(16);
      expect(sha512Crypt('s3cret pass', salt)).toBe(h);
    }
  });

  it('keeps a given $6$ hash as it is', () => {
    const h = sha512Crypt('x', 'abcdefgh12345678');
    expect(passwordHashFor(h)).toBe(h);
  });
});
