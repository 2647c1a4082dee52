// Checks on every entry we read from a user's rootfs.tar.gz, node-tar style:
// refuse, naming the entry, anything that could write outside the root when the
// edge node unpacks it, or clobber what we add with something that is not a file.
import { posix } from 'node:path';
import { EmtError } from '../errors.ts';

export class TarSafetyError extends EmtError {
  readonly entry: string | undefined;
  constructor(code: string, message: string, file?: string, entry?: string) {
    super('initramfs', code, message, file);
    this.name = 'TarSafetyError';
    this.entry = entry;
  }
}

export type TarEntryType =
  | 'file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'contiguous-file'
  | 'other';

/** What tar-safety needs to know of an entry (names already pax/GNU-long resolved). */
export interface TarEntryInfo {
  name: string;
  type: TarEntryType;
  linkname?: string;
  size: number;
}

/** `./etc//x/` -> `etc/x`; the form we compare paths in. Returns '' for the root itself. */
export function normalizeTarPath(name: string): string {
  const n = posix.normalize(name.replace(/^(\.\/)+/, ''));
  const trimmed = n.replace(/\/+$/, '');
  return trimmed === '.' ? '' : trimmed;
}

const escapes = (p: string): boolean => p === '..' || p.startsWith('../');

function checkName(name: string, file: string): void {
  if (name.length === 0)
    throw new TarSafetyError('BAD_NAME', `${file}: an entry has an empty name`, file, name);
  if (name.includes('\0'))
    throw new TarSafetyError('BAD_NAME', `${file}: entry '${name}' has a NUL in its name`, file, name);
  if (name.startsWith('/')) {
    throw new TarSafetyError('ABSOLUTE_PATH', `${file}: entry '${name}' has an absolute path`, file, name);
  }
  // Any `..` component is refused, even one that stays inside (`a/../b`): tar
  // implementations disagree on them and nothing legitimate needs them.
  if (name.split('/').includes('..')) {
    throw new TarSafetyError('DOTDOT_PATH', `${file}: entry '${name}' has a '..' component`, file, name);
  }
}

/** The paths we write (leaves) and their parent directories, normalized. */
export interface OurPaths {
  leaves: ReadonlySet<string>;
  dirs: ReadonlySet<string>;
}

const NONE: OurPaths = { leaves: new Set(), dirs: new Set() };

/**
 * Throws TarSafetyError if the entry is unsafe. A device node or fifo at one of our
 * paths is refused, and so is a symlink at a directory we write into (our files
 * would land wherever it points).
 */
export function checkTarEntry(e: TarEntryInfo, file: string, ours: OurPaths = NONE): void {
  checkName(e.name, file);
  const path = normalizeTarPath(e.name);
  if (e.type === 'symlink' && ours.dirs.has(path)) {
    throw new TarSafetyError(
      'SYMLINK_AT_OUR_DIR',
      `${file}: entry '${e.name}' is a symlink where the installer needs a directory`,
      file,
      e.name,
    );
  }
  if (e.type === 'symlink') {
    const target = e.linkname ?? '';
    if (target.length === 0) {
      throw new TarSafetyError('BAD_LINK', `${file}: symlink '${e.name}' has an empty target`, file, e.name);
    }
    // Absolute targets resolve inside the new root once it is switched into; relative
    // ones must not climb above the root from the link's own directory.
    if (!target.startsWith('/') && escapes(posix.normalize(posix.join(posix.dirname(path), target)))) {
      throw new TarSafetyError(
        'LINK_ESCAPES',
        `${file}: symlink '${e.name}' -> '${target}' points outside the root`,
        file,
        e.name,
      );
    }
  } else if (e.type === 'link') {
    const target = e.linkname ?? '';
    if (
      target.length === 0 ||
      target.startsWith('/') ||
      escapes(posix.normalize(target.replace(/^(\.\/)+/, '')))
    ) {
      throw new TarSafetyError(
        'LINK_ESCAPES',
        `${file}: hard link '${e.name}' -> '${target}' points outside the archive`,
        file,
        e.name,
      );
    }
  } else if (e.type === 'character-device' || e.type === 'block-device' || e.type === 'fifo') {
    if (ours.leaves.has(path) || ours.dirs.has(path)) {
      throw new TarSafetyError(
        'SPECIAL_AT_OUR_PATH',
        `${file}: entry '${e.name}' is a ${e.type} where the installer writes a file`,
        file,
        e.name,
      );
    }
  }
  if (!Number.isSafeInteger(e.size) || e.size < 0) {
    throw new TarSafetyError('BAD_SIZE', `${file}: entry '${e.name}' has an invalid size`, file, e.name);
  }
}

/** OurPaths from the entries we add: non-directories are leaves; every parent is a dir. */
export function ourPaths(entries: Iterable<{ path: string; type: string }>): OurPaths {
  const leaves = new Set<string>();
  const dirs = new Set<string>();
  for (const e of entries) {
    const parts = normalizeTarPath(e.path).split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    if (e.type === 'directory') dirs.add(parts.join('/'));
    else leaves.add(parts.join('/'));
  }
  return { leaves, dirs };
}

/**
 * The checks of one archive, in order: each entry alone (checkTarEntry), then
 * its place among the earlier ones. An entry (or a hard link's target) whose
 * parent path runs through a symlink met earlier is refused, as node-tar does:
 * unpacking it would write wherever the link points (`etc/out -> /tmp/x` then
 * `etc/out/file`; `s -> .`, `s/s2 -> ..`, `s/s2/file`).
 */
export class TarArchiveGuard {
  /** Symlinks seen so far, by normalized path, with their targets. */
  private readonly links = new Map<string, string>();

  constructor(
    private readonly file: string,
    private readonly ours: OurPaths = NONE,
  ) {}

  check(e: TarEntryInfo): void {
    checkTarEntry(e, this.file, this.ours);
    const path = normalizeTarPath(e.name);
    this.refuseThroughLink(e, path, 'is under');
    if (e.type === 'link')
      this.refuseThroughLink(e, normalizeTarPath(e.linkname ?? ''), 'links to a file under');
    // Once a symlink, always suspect: tar implementations differ on what a later entry of the same name does to it.
    if (e.type === 'symlink') this.links.set(path, e.linkname ?? '');
  }

  private refuseThroughLink(e: TarEntryInfo, path: string, how: string): void {
    if (this.links.size === 0) return;
    for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
      const parent = path.slice(0, i);
      const target = this.links.get(parent);
      if (target !== undefined)
        throw new TarSafetyError(
          'THROUGH_SYMLINK',
          `${this.file}: entry '${e.name}' ${how} '${parent}', a symlink (-> '${target}'): unpacking it would write wherever that link points`,
          this.file,
          e.name,
        );
    }
  }
}
