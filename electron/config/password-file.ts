// `--password-file`: a file holding the plaintext password. Read it, hash it,
// and keep only the hash; the plaintext is never written anywhere.
import { readFile } from 'node:fs/promises';
import { ConfigError } from './config-error.ts';
import { hashPassword } from './sha512-crypt.ts';

/** The file's one line, checked; callers hash it and drop it. */
export async function readPasswordFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      path,
      [{ path: [], message: `cannot read the password file: ${code === 'ENOENT' ? 'no such file' : code}` }],
      'PASSWORD_FILE',
    );
  }
  // One line; the newline an editor adds at the end is not part of the password.
  const pw = text.replace(/\r?\n$/, '');
  const fail = (message: string): never => {
    throw new ConfigError(path, [{ path: [], message }], 'PASSWORD_FILE');
  };
  if (pw === '') fail('the password file is empty');
  if (/[\r\n]/.test(pw)) fail('the password file must hold one line');
  if (pw.includes('\u0000')) fail('the password contains a NUL byte');
  return pw;
}

export async function hashPasswordFile(path: string, opts: { rounds?: number } = {}): Promise<string> {
  return hashPassword(await readPasswordFile(path), opts);
}
