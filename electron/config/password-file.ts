// The user's password, the one reader: a `--password-file` (build and flash
// alike) or a value typed in the app. One line; the file's size is checked before
// it is read, the line's length is capped (sha512-crypt's cost grows with the
// square of it) and NUL bytes are refused (no one can type them at a login).
// Only its SHA-512 crypt hash is ever kept.
import { open, stat } from 'node:fs/promises';
import { ConfigError } from './config-error.ts';
import { hashPassword } from './sha512-crypt.ts';

/** Longer than any passphrase a person types, short enough to hash in milliseconds. */
export const MAX_PASSWORD_LENGTH = 256;
/** A file larger than this cannot hold one such line (plus a newline, in any encoding). */
const MAX_FILE_BYTES = 4 * MAX_PASSWORD_LENGTH + 2;

const fail = (where: string, message: string): never => {
  throw new ConfigError(where, [{ path: [], message }], 'PASSWORD_FILE');
};

/** Checks a password (typed or read); `where` names its source in the message. */
export function checkPassword(pw: string, where: string, what = 'the password'): string {
  if (pw === '') fail(where, `${what} is empty`);
  if (/[\r\n]/.test(pw)) fail(where, `${what} must be one line`);
  if (pw.includes('\u0000')) fail(where, `${what} contains a NUL byte (no one can type it at a login)`);
  if ([...pw].length > MAX_PASSWORD_LENGTH)
    fail(where, `${what} is longer than ${MAX_PASSWORD_LENGTH} characters`);
  return pw;
}

/** The file's one line, checked; callers hash it and drop it. */
export async function readPasswordFile(path: string): Promise<string> {
  let text: string;
  try {
    const st = await stat(path);
    if (st.isDirectory()) fail(path, 'cannot read the password file: is a folder, not a file');
    if (!st.isFile()) fail(path, 'cannot read the password file: is not a regular file');
    if (st.size > MAX_FILE_BYTES)
      fail(
        path,
        `the password file is ${st.size} bytes; it must hold one line of at most ${MAX_PASSWORD_LENGTH} characters`,
      );
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    return fail(path, `cannot read the password file: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
  // One line; the newline an editor adds at the end is not part of the password.
  const pw = text.replace(/\r?\n$/, '');
  if (pw === '') fail(path, 'the password file is empty');
  if (/[\r\n]/.test(pw)) fail(path, 'the password file must hold one line');
  return checkPassword(pw, path, 'the password in the file');
}

export async function hashPasswordFile(path: string, opts: { rounds?: number } = {}): Promise<string> {
  return hashPassword(await readPasswordFile(path), opts);
}
