// The output ISO appears whole or not at all: xorriso writes a temp file in the
// destination folder (same file system, so rename is atomic), the `.sha256` beside
// it likewise; any failure removes both temps. Space and writability are checked
// before minutes of work, and ENOSPC/EROFS later still map to a clear error.
import { constants } from 'node:fs';
import { access, open, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BuildError } from './build-error.ts';

export interface PendingOutput {
  /** Final ISO path (absolute). */
  out: string;
  /** Where xorriso writes; renamed to `out` by commit(). */
  tmp: string;
  /** Writes `<out>.sha256` and moves both files into place. */
  commit(sha256: string): Promise<{ iso: string; sha256File: string }>;
  /** Removes whatever temp files exist. Safe to call twice. */
  discard(): Promise<void>;
}

/** Checks, before any long work, that `out` can be written: folder exists and takes files. */
export async function checkOutput(outPath: string): Promise<void> {
  const out = resolve(outPath);
  await checkFolder(out);
  const probe = join(dirname(out), `.${basename(out)}.${process.pid}.probe`);
  try {
    await (await open(probe, 'wx')).close();
  } catch (e) {
    throw outError(e, out);
  } finally {
    await rm(probe, { force: true });
  }
}

async function checkFolder(out: string): Promise<void> {
  const dir = dirname(out);
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(dir);
  } catch {
    throw new BuildError('OUT_UNWRITABLE', `output folder ${dir} does not exist`, out);
  }
  if (!st.isDirectory()) throw new BuildError('OUT_UNWRITABLE', `output folder ${dir} is not a folder`, out);
  try {
    const o = await stat(out);
    if (o.isDirectory()) throw new BuildError('OUT_UNWRITABLE', `output ${out} is a folder`, out);
  } catch (e) {
    if (e instanceof BuildError) throw e;
  }
  try {
    await access(dir, constants.W_OK);
  } catch (e) {
    throw outError(e, out);
  }
}

/** Refuses when the output folder has less than `needBytes` free. */
export async function checkFreeSpace(outPath: string, needBytes: number): Promise<void> {
  const out = resolve(outPath);
  const dir = dirname(out);
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < needBytes) {
    throw new BuildError(
      'NO_SPACE',
      `not enough space for ${out}: ${mib(needBytes)} needed, ${mib(free)} free in ${dir}`,
      out,
    );
  }
}

/** Reserves `out`: checks its folder exists, is writable and has `needBytes` free. */
export async function prepareOutput(outPath: string, needBytes: number): Promise<PendingOutput> {
  const out = resolve(outPath);
  const dir = dirname(out);
  await checkFolder(out);
  await checkFreeSpace(out, needBytes);
  const stem = `.${basename(out)}.${process.pid}.${Date.now().toString(36)}`;
  const tmp = join(dir, `${stem}.tmp`);
  const tmpSum = join(dir, `${stem}.sha256.tmp`);
  // Creating the temp now proves the folder takes files (read-only mounts, quotas).
  try {
    await (await open(tmp, 'wx')).close();
  } catch (e) {
    throw outError(e, out);
  }
  const discard = async (): Promise<void> => {
    await rm(tmp, { force: true });
    await rm(tmpSum, { force: true });
  };
  return {
    out,
    tmp,
    discard,
    async commit(sha256: string) {
      const sumFile = `${out}.sha256`;
      try {
        await writeFile(tmpSum, `${sha256}  ${basename(out)}\n`);
        await rename(tmp, out);
        await rename(tmpSum, sumFile);
      } catch (e) {
        await discard();
        throw outError(e, out);
      }
      return { iso: out, sha256File: sumFile };
    },
  };
}

/** Maps a write failure on the output to the error a user reads. */
export function outError(e: unknown, out: string): BuildError {
  if (e instanceof BuildError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  // xorriso checks free space itself, or (wasm) hits ENOSPC while writing.
  const text = e instanceof Error ? e.message : String(e);
  if (code === 'ENOSPC' || code === 'EDQUOT' || /exceeds free space|No space left/i.test(text)) {
    return new BuildError('NO_SPACE', `no space left for ${out} in ${dirname(out)}`, out);
  }
  const why =
    code === 'EROFS'
      ? 'is on a read-only file system'
      : code === 'EACCES' || code === 'EPERM'
        ? 'is not writable (permission denied)'
        : `cannot be written (${(e as Error).message})`;
  return new BuildError('OUT_UNWRITABLE', `output folder ${dirname(out)} ${why}`, out);
}

const mib = (n: number): string => `${Math.ceil(n / 2 ** 20)} MiB`;
