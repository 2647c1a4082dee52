// Output paths, the one check: the folder exists and takes files, the path is not
// a folder or a device, and no file a job writes is one of its inputs (by name
// or by inode: a hard link or symlink to an input counts). Writes go to a temp
// file beside the output and are renamed; a failure leaves nothing behind.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { errnoMessage, InputError } from '../errors.ts';
import { kindOf } from './input-file.ts';

type Stats = Awaited<ReturnType<typeof stat>>;

const statOrNull = async (p: string): Promise<Stats | null> => {
  try {
    return await stat(p);
  } catch {
    return null;
  }
};

/**
 * Refuses when any output (e.g. `out` and `out.sha256`) is one of the inputs.
 * `option` names the flag for the message.
 */
export async function checkNotAnInput(
  outputs: string[],
  inputs: (string | undefined)[],
  option = '--out',
): Promise<void> {
  const given = inputs.filter((i): i is string => i !== undefined);
  const ins = await Promise.all(given.map(async (p) => ({ p, abs: resolve(p), st: await statOrNull(p) })));
  for (const [n, o] of outputs.entries()) {
    const abs = resolve(o);
    const st = await statOrNull(o);
    const hit = ins.find((i) => i.abs === abs || (st && i.st && st.dev === i.st.dev && st.ino === i.st.ino));
    if (!hit) continue;
    throw new InputError(
      'OUT_IS_INPUT',
      n === 0
        ? `${option} ${outputs[0]} is one of the inputs (${hit.p}): choose another output path`
        : `${option} ${outputs[0]}: it also writes ${o}, which is one of the inputs: choose another output path`,
      o,
    );
  }
}

/** Checks before any long work that `out` can be written as a regular file. */
export async function checkOutputFile(out: string, option = '--out'): Promise<void> {
  const abs = resolve(out);
  const dir = dirname(abs);
  const dst = await statOrNull(dir);
  if (!dst) throw new InputError('OUT_NO_FOLDER', `${option} ${out}: the folder ${dir} does not exist`, out);
  if (!dst.isDirectory())
    throw new InputError('OUT_NO_FOLDER', `${option} ${out}: ${dir} is not a folder`, out);
  const st = await statOrNull(abs);
  if (st?.isDirectory())
    throw new InputError('OUT_IS_FOLDER', `${option} ${out}: is a folder; give a file name in it`, out);
  if (st && !st.isFile())
    throw new InputError(
      'OUT_UNWRITABLE',
      `${option} ${out}: is ${kindOf(st)}, not a file we may replace`,
      out,
    );
  try {
    await access(dir, constants.W_OK);
    // Creating a file proves the folder takes files (read-only mounts, /proc, quotas).
    const probe = join(dir, `.${basename(abs)}.${randomBytes(4).toString('hex')}.probe`);
    try {
      await (await open(probe, 'wx')).close();
    } finally {
      await rm(probe, { force: true });
    }
  } catch (e) {
    throw outputError(e, out, option);
  }
}

/** A write failure on an output, as the error a user reads. */
export function outputError(e: unknown, out: string, option = '--out'): InputError {
  if (e instanceof InputError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new InputError(
      'NO_SPACE',
      `${option} ${out}: ${errnoMessage(e)} in ${dirname(resolve(out))}`,
      out,
    );
  return new InputError('OUT_UNWRITABLE', `${option} ${out}: cannot be written (${errnoMessage(e)})`, out);
}

/** Temp path beside `out` (same file system, so rename is atomic). */
export const tempBeside = (out: string, tag = 'tmp'): string =>
  join(dirname(resolve(out)), `.${basename(out)}.${randomBytes(4).toString('hex')}.${tag}`);

/** Writes `data` to `out` whole or not at all. */
export async function writeFileAtomic(
  out: string,
  data: string | Uint8Array,
  opts: { mode?: number; option?: string } = {},
): Promise<void> {
  const tmp = tempBeside(out);
  try {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    throw outputError(e, out, opts.option);
  }
}
