// A real OpenSSH public key made by ssh-keygen, for config tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeSshPublicKey(type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519'): string {
  const dir = mkdtempSync(join(tmpdir(), 'emt-sshkey-'));
  try {
    const f = join(dir, 'k');
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'tech@site', '-f', f], { stdio: 'ignore' });
    return readFileSync(`${f}.pub`, 'utf8').trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
