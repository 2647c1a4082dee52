import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  isSha512CryptHash,
  randomSalt,
  sha512Crypt,
} from '../../electron/config/sha512-crypt.ts';

const openssl = (pw: string, salt: string): string =>
  execFileSync('openssl', ['passwd', '-6', '-salt', salt, pw], { encoding: 'utf8' }).trim();
const mkpasswd = (pw: string, salt: string, rounds?: number): string =>
  execFileSync('mkpasswd', ['-m', 'sha-512', '-S', salt, ...(rounds ? ['-R', String(rounds)] : []), pw], {
    encoding: 'utf8',
  }).trim();

describe('sha512Crypt', () => {
  it('matches the specification vectors', () => {
    expect(sha512Crypt('Hello world!', 'saltstring')).toBe(
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    );
    expect(sha512Crypt('Hello world!', 'saltstringsaltstring', 10000)).toBe(
      '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
    );
  });

  it('agrees with openssl passwd -6 on many passwords and salts', () => {
    const pws = [
      'pw',
      'x'.repeat(63),
      'y'.repeat(64),
      'z'.repeat(65),
      'a'.repeat(200),
      'pässwörd €',
      'sp ace"\'$`',
    ];
    for (const [i, pw] of pws.entries()) {
      const salt = ['S', 'abcdefgh', 'ABCDEFGHIJKLMNOP', './09azAZ'][i % 4]!;
      expect(sha512Crypt(pw, salt), `${pw} / ${salt}`).toBe(openssl(pw, salt));
    }
  });

  it('agrees with mkpasswd (whois) with explicit rounds', () => {
    expect(sha512Crypt('secret', 'abcdefghijklmnop', 1000)).toBe(
      mkpasswd('secret', 'abcdefghijklmnop', 1000),
    );
    expect(sha512Crypt('secret', 'saltsalt', 7777)).toBe(mkpasswd('secret', 'saltsalt', 7777));
    expect(sha512Crypt('secret', 'saltsalt')).toBe(mkpasswd('secret', 'saltsalt'));
  });

  it('clamps rounds as glibc does', () => {
    expect(sha512Crypt('pw', 'salt', 10)).toBe(sha512Crypt('pw', 'salt', 1000));
    expect(sha512Crypt('pw', 'salt', 10)).toMatch(/^\$6\$rounds=1000\$salt\$/);
  });

  it('hashPassword uses a fresh 16-character salt and verifies with openssl', () => {
    const a = hashPassword('correct horse');
    const b = hashPassword('correct horse');
    expect(a).not.toBe(b);
    expect(isSha512CryptHash(a)).toBe(true);
    const salt = a.split('$')[2]!;
    expect(salt).toHaveLength(16);
    expect(openssl('correct horse', salt)).toBe(a);
    expect(a).not.toContain('correct');
    expect(randomSalt()).toMatch(/^[./0-9A-Za-z]{16}$/);
  });

  it('recognises hashes and rejects other strings', () => {
    expect(isSha512CryptHash(sha512Crypt('p', 'salt', 5000))).toBe(true);
    expect(isSha512CryptHash('$5$salt$abc')).toBe(false);
    expect(isSha512CryptHash('plaintext')).toBe(false);
  });
});

describe('hashPasswordFile', () => {
  it('hashes the one line of the file (trailing newline dropped)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { hashPasswordFile } = await import('../../electron/config/password-file.ts');
    const dir = mkdtempSync(join(tmpdir(), 'emt-pw-'));
    writeFileSync(join(dir, 'pw'), 'p@ss word$\n');
    const h = await hashPasswordFile(join(dir, 'pw'));
    expect(openssl('p@ss word$', h.split('$')[2]!)).toBe(h);
    writeFileSync(join(dir, 'empty'), '\n');
    await expect(hashPasswordFile(join(dir, 'empty'))).rejects.toThrow(
      `${join(dir, 'empty')}: the password file is empty`,
    );
    writeFileSync(join(dir, 'two'), 'a\nb\n');
    await expect(hashPasswordFile(join(dir, 'two'))).rejects.toThrow('must hold one line');
    await expect(hashPasswordFile(join(dir, 'none'))).rejects.toThrow(
      'cannot read the password file: no such file',
    );
  });
});
