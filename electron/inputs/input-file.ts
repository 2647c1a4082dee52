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

/** `what` names the input for the message, e.g. "bootkit", "OS image". */
export async function checkInputFile(path: string, what: string): Promise<{ size: number }> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'ENOENT' || code === 'ENOTDIR' ? 'NOT_FOUND' : 'READ_FAILED',
      `${what} ${path}: ${errnoMessage(e)}`,
      path,
    );
  }
  if (!st.isFile()) {
    const hint = st.isFIFO() ? ' (save it to a file first)' : '';
    throw new InputError('NOT_A_FILE', `${what} ${path}: is ${kindOf(st)}, not a regular file${hint}`, path);
  }
  try {
    await access(path, constants.R_OK);
  } catch (e) {
    throw new InputError('ACCESS_DENIED', `${what} ${path}: cannot be read (${errnoMessage(e)})`, path);
  }
  return { size: st.size };
}

export async function checkInputFolder(path: string, what: string): Promise<void> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    throw new InputError('NOT_FOUND', `${what} ${path}: ${errnoMessage(e)}`, path);
  }
  if (!st.isDirectory()) throw new InputError('NOT_A_FOLDER', `${what} ${path}: is not a folder`, path);
}
