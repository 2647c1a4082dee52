// The OS image the installer writes to the edge node: checked before any long
// work (exists, a regular non-empty file, readable), hashed once, and compared
// with the user's sha256 file when one is given.
import { open, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { BuildError } from './build-error.ts';
import { type HashOptions, sha256File } from './manifest.ts';

export async function checkOsImage(path: string): Promise<{ size: number }> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BuildError('OS_IMAGE_MISSING', `OS image ${path} does not exist`, path);
    throw new BuildError('OS_IMAGE_UNREADABLE', `OS image ${path} cannot be read (${code ?? e})`, path);
  }
  if (!st.isFile()) throw new BuildError('OS_IMAGE_NOT_FILE', `OS image ${path} is not a regular file`, path);
  if (st.size === 0) throw new BuildError('OS_IMAGE_NOT_FILE', `OS image ${path} is empty`, path);
  try {
    await (await open(path, 'r')).close();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BuildError('OS_IMAGE_UNREADABLE', `OS image ${path} cannot be read (${code ?? e})`, path);
  }
  return { size: st.size };
}

/**
 * The expected sha256 from a checksum file: `sha256sum` lines (`HEX  name`,
 * `HEX *name`), a bare `HEX`, or BSD style `SHA256 (name) = HEX`. With several
 * lines, the one naming `imageName` counts.
 */
export function parseSha256File(text: string, file: string, imageName: string): string {
  const found: { sha: string; name: string | null }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    let m = /^([0-9a-fA-F]{64})(?:\s+\*?(.+))?$/.exec(line);
    if (m) {
      found.push({ sha: m[1]!.toLowerCase(), name: m[2] ? basename(m[2].trim()) : null });
      continue;
    }
    m = /^SHA256 \((.+)\) = ([0-9a-fA-F]{64})$/.exec(line);
    if (m) {
      found.push({ sha: m[2]!.toLowerCase(), name: basename(m[1]!) });
      continue;
    }
    throw new BuildError('BAD_SHA256_FILE', `${file}: '${line.slice(0, 80)}' is not a sha256 line`, file);
  }
  if (found.length === 0) throw new BuildError('BAD_SHA256_FILE', `${file} holds no sha256`, file);
  if (found.length === 1) return found[0]!.sha;
  const mine = found.filter((f) => f.name === imageName);
  if (mine.length !== 1) {
    throw new BuildError(
      'BAD_SHA256_FILE',
      `${file} lists ${found.length} files but not exactly one ${imageName}`,
      file,
    );
  }
  return mine[0]!.sha;
}

export async function readSha256File(file: string, imageName: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? e})`;
    throw new BuildError('BAD_SHA256_FILE', `sha256 file ${file} ${why}`, file);
  }
  return parseSha256File(text, file, imageName);
}

/** Hashes the image; with `expected`, refuses a mismatch naming both values. */
export async function verifyOsImage(
  path: string,
  expected: string | undefined,
  opts: HashOptions = {},
): Promise<{ sha256: string; size: number }> {
  const h = await sha256File(path, opts);
  if (expected !== undefined && h.sha256 !== expected) {
    throw new BuildError(
      'SHA256_MISMATCH',
      `OS image ${path} has sha256 ${h.sha256}, but ${expected} was expected: the file is damaged or not the one meant`,
      path,
    );
  }
  return h;
}
