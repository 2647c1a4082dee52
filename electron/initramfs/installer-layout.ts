// What we add to the bootkit's rootfs: the tar entries for installer-scripts/ as
// installer-scripts/README.md lays them out. Reads the scripts dir; returns plain
// entry descriptions (no tar bytes) that rootfs-tar.ts encodes.
import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { join, posix, relative, resolve, sep } from 'node:path';
import { EmtError } from '../errors.ts';

export interface InstallerEntry {
  /** Path inside the rootfs, relative, no leading `./` or `/`. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime: number;
  uid: 0;
  gid: 0;
  uname: 'root';
  gname: 'root';
  data?: Buffer;
  linkname?: string;
}

export interface ExtraFile {
  path: string;
  data: Buffer;
  mode: number;
}

export class InstallerLayoutError extends EmtError {
  constructor(code: string, message: string, file?: string) {
    super('initramfs', code, message, file);
    this.name = 'InstallerLayoutError';
  }
}

export const INSTALL_ROOT = 'opt/emt-installer';
export const UNIT_NAME = 'emt-installer.service';
export const UNIT_PATH = `etc/systemd/system/${UNIT_NAME}`;
export const WANTS_LINK = `etc/systemd/system/multi-user.target.wants/${UNIT_NAME}`;
export const CONF_PATH = 'etc/emt-installer/installer.conf';

/** Strict `key=value` lines; the edge node parses them, never sources them. */
export function installerConf(values: Record<string, string>): Buffer {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (!/^[a-z][a-z0-9_]*$/.test(k))
      throw new InstallerLayoutError('BAD_CONF', `installer.conf: bad key '${k}'`);
    if (/[\n\r\0]/.test(v))
      throw new InstallerLayoutError('BAD_CONF', `installer.conf: value of '${k}' has a line break`);
    lines.push(`${k}=${v}`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

const DEFAULT_CONF = { config_partlabel: 'EMTCONFIG', manifest: '/emt-installer.json' };

interface Found {
  rel: string; // posix, relative to scriptsDir
  kind: 'file' | 'directory' | 'symlink';
  exec: boolean;
  linkname?: string;
}

// Walks scriptsDir, skipping README.md and tests/ at its top; symlinks must stay inside.
async function walk(root: string, realRoot: string, dir: string, out: Found[]): Promise<void> {
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    const abs = join(dir, name);
    const rel = relative(root, abs).split(sep).join('/');
    if (rel === 'README.md' || rel === 'tests') continue;
    const st = await lstat(abs);
    if (st.isSymbolicLink()) {
      const target = await readlink(abs);
      const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
      if (posix.isAbsolute(target) || resolved === '..' || resolved.startsWith('../')) {
        throw new InstallerLayoutError(
          'LINK_OUTSIDE',
          `${abs}: symlink to '${target}' points outside the installer scripts dir`,
          abs,
        );
      }
      // A link inside that leads through other links out of the dir is refused too.
      const real = await realpath(abs).catch(() => undefined);
      if (real !== undefined && real !== realRoot && !real.startsWith(realRoot + sep)) {
        throw new InstallerLayoutError(
          'LINK_OUTSIDE',
          `${abs}: symlink resolves outside the scripts dir`,
          abs,
        );
      }
      out.push({ rel, kind: 'symlink', exec: false, linkname: target });
    } else if (st.isDirectory()) {
      out.push({ rel, kind: 'directory', exec: true });
      await walk(root, realRoot, abs, out);
    } else if (st.isFile()) {
      out.push({ rel, kind: 'file', exec: (st.mode & 0o100) !== 0 });
    } else {
      throw new InstallerLayoutError(
        'BAD_FILE_TYPE',
        `${abs}: not a regular file, directory or symlink`,
        abs,
      );
    }
  }
}

function parentsOf(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/**
 * The entries we add to rootfs.tar.gz, sorted by path (parents first): scripts under
 * /opt/emt-installer/, the unit and its multi-user.target.wants link, installer.conf,
 * `extra` files, and every parent directory. Owners 0:0 root, mtimes = sourceDateEpoch.
 */
export async function installerEntries(
  scriptsDir: string,
  sourceDateEpoch: number,
  extra: ExtraFile[] = [],
  conf: Record<string, string> = {},
): Promise<InstallerEntry[]> {
  if (!Number.isInteger(sourceDateEpoch) || sourceDateEpoch < 0) {
    throw new InstallerLayoutError(
      'BAD_EPOCH',
      `SOURCE_DATE_EPOCH must be a non-negative integer, got ${sourceDateEpoch}`,
    );
  }
  const root = resolve(scriptsDir);
  const st = await lstat(root).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new InstallerLayoutError(
      'NO_SCRIPTS_DIR',
      `${scriptsDir}: installer scripts dir not found`,
      scriptsDir,
    );
  }
  const found: Found[] = [];
  await walk(root, await realpath(root), root, found);
  const unitSrc = found.find((f) => f.rel === `systemd/${UNIT_NAME}`);
  if (unitSrc?.kind !== 'file') {
    throw new InstallerLayoutError(
      'NO_UNIT',
      `${join(root, 'systemd', UNIT_NAME)}: the installer's systemd unit is missing`,
      join(root, 'systemd', UNIT_NAME),
    );
  }

  const base = { mtime: sourceDateEpoch, uid: 0, gid: 0, uname: 'root', gname: 'root' } as const;
  const byPath = new Map<string, InstallerEntry>();
  const add = (e: InstallerEntry): void => {
    for (const p of parentsOf(e.path)) {
      if (!byPath.has(p)) byPath.set(p, { ...base, path: p, type: 'directory', mode: 0o755 });
    }
    const prev = byPath.get(e.path);
    if (prev && !(prev.type === 'directory' && e.type === 'directory')) {
      throw new InstallerLayoutError('DUPLICATE', `${e.path}: added twice to the rootfs`);
    }
    byPath.set(e.path, e);
  };

  add({ ...base, path: INSTALL_ROOT, type: 'directory', mode: 0o755 });
  for (const f of found) {
    const path = `${INSTALL_ROOT}/${f.rel}`;
    // The unit goes to /etc/systemd/system only; directories come as parents of what they hold.
    if (f.rel === `systemd/${UNIT_NAME}` || f.kind === 'directory') continue;
    if (f.kind === 'symlink') add({ ...base, path, type: 'symlink', mode: 0o777, linkname: f.linkname! });
    else {
      const data = await readFile(join(root, ...f.rel.split('/')));
      add({ ...base, path, type: 'file', mode: f.exec ? 0o755 : 0o644, data });
    }
  }
  add({
    ...base,
    path: UNIT_PATH,
    type: 'file',
    mode: 0o644,
    data: await readFile(join(root, 'systemd', UNIT_NAME)),
  });
  add({ ...base, path: WANTS_LINK, type: 'symlink', mode: 0o777, linkname: `../${UNIT_NAME}` });
  add({
    ...base,
    path: CONF_PATH,
    type: 'file',
    mode: 0o644,
    data: installerConf({ ...DEFAULT_CONF, ...conf }),
  });
  for (const x of extra) {
    const path = posix.normalize(x.path.replace(/^\/+/, ''));
    if (path === '.' || path === '..' || path.startsWith('../')) {
      throw new InstallerLayoutError('BAD_EXTRA', `extra file '${x.path}': path leaves the rootfs`);
    }
    add({ ...base, path, type: 'file', mode: x.mode & 0o7777, data: x.data });
  }
  // Byte order of paths: same input, same tar, on every machine.
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
