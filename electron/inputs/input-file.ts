// Input paths, the one check: a file input must be a regular file we can open,
// a folder input a folder. Pipes, sockets, devices and folders given as files
// are refused up front with what they are, never met later as EISDIR/ESPIPE.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { errnoMessage, InputError } from '../errors.ts';

type Stats = Awaited<ReturnType<typeof stat>>;

export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** Words a message around the problem, e.g. `OS image X: <problem>`. `code` is the errno, when one. */
export type Describe = (problem: string, code: string | undefined) => string;

/** `what` names the input ("bootkit", "config"), or `describe` words the whole message. */
export async function checkInputFile(path: string, what: string | Describe): Promise<{ size: number }> {
  const say: Describe = typeof what === 'string' ? (problem) => `${what} ${path}: ${problem}` : what;
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'ENOENT' || code === 'ENOTDIR' ? 'NOT_FOUND' : 'READ_FAILED',
      say(errnoMessage(e), code),
      path,
    );
  }
  if (!st.isFile()) {
    const hint = st.isFIFO() ? ' (save it to a file first)' : '';
    throw new InputError('NOT_A_FILE', say(`is ${kindOf(st)}, not a regular file${hint}`, undefined), path);
  }
  try {
    await access(path, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError('ACCESS_DENIED', say(errnoMessage(e), code), path);
  }
  return { size: st.size };
}

/** A bootkit part: "cannot read X: ENOENT (no such file or folder)", as the bootkit opener words it. */
export const bootkitInput =
  (path: string): Describe =>
  (problem, code) =>
    `cannot read ${path}: ${code ? `${code} (${problem})` : problem}`;

/** An image to write or verify: "X: cannot open the image: <problem>". */
export const imageInput =
  (path: string): Describe =>
  (problem) =>
    `${path}: cannot open the image: ${problem}`;

export async function checkInputFolder(path: string, what: string): Promise<void> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    throw new InputError('NOT_FOUND', `${what} ${path}: ${errnoMessage(e)}`, path);
  }
  if (!st.isDirectory()) throw new InputError('NOT_A_FOLDER', `${what} ${path}: is not a folder`, path);
}
