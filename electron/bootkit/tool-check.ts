// Which commands the installer needs (installer-scripts/required-commands.txt) are
// in the bootkit's rootfs.tar.gz. One pass over
// the tarball reading headers only (data is skipped); symlinks inside the archive
// (merged /usr: /bin -> usr/bin; tool links like /usr/sbin/lvm) are followed.
import { posix } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { CONTENT_HEAD_BYTES, isGzipHead, notGzipMessage } from '../initramfs/content-kind.ts';
import { normalizeTarPath, TarArchiveGuard, type TarEntryType } from '../initramfs/tar-safety.ts';
import { BootkitError } from './errors.ts';
import { type RequiredTool, requiredTools } from './required-commands.ts';

export type { RequiredCommand, RequiredTool } from './required-commands.ts';

// /usr first: on a merged-/usr rootfs that is where the file is, with no link hop;
// a classic rootfs has nothing there and falls through to /bin and /sbin.
const BIN_DIRS = ['usr/bin', 'usr/sbin', 'bin', 'sbin'];

export interface CommandResult {
  command: string;
  found: boolean;
  /** The scripts can do without it (a fallback exists): never makes the tool missing. */
  optional: boolean;
  /** Where it was found, as an absolute path in the rootfs (e.g. "/sbin/parted"). */
  path: string | null;
  /** The file that path leads to after following symlinks, when different. */
  resolved: string | null;
}

export interface ToolResult {
  /** The package name, e.g. "net-tools". */
  name: string;
  /** Same as name (kept for callers that print "name (package ...)"). */
  package: string;
  /** True when every command of the tool is present (optional ones aside). */
  found: boolean;
  /** Path of its (first) command, or null when that one is missing. */
  path: string | null;
  resolved: string | null;
  commands: CommandResult[];
}

/** What one pass over the tarball saw: names only. */
export interface RootfsIndex {
  files: Set<string>;
  dirs: Set<string>;
  symlinks: Map<string, string>;
  entries: number;
  /** Size of the tar stream (uncompressed). */
  tarSize: number;
}

/** An empty index, to be filled entry by entry with `indexTarEntry`. */
export function emptyRootfsIndex(): RootfsIndex {
  return { files: new Set(), dirs: new Set(), symlinks: new Map(), entries: 0, tarSize: 0 };
}

/**
 * Adds one tar entry, already checked by tar-safety, to an index. Any tar reader
 * can feed it (the build feeds it from the injection's own pass over the rootfs,
 * so the rootfs is decompressed once). A later entry of the same path wins.
 */
export function indexTarEntry(
  index: RootfsIndex,
  e: { name: string; type: TarEntryType; linkname?: string | undefined },
): void {
  const p = normalizeTarPath(e.name);
  index.entries++;
  if (e.type === 'symlink') index.symlinks.set(p, e.linkname ?? '');
  else if (e.type === 'directory') index.dirs.add(p);
  else if (e.type === 'file' || e.type === 'contiguous-file' || e.type === 'link') {
    index.files.add(p);
    index.symlinks.delete(p);
  }
}

/** Follow symlinks component by component; the final regular file, or null. */
export function resolveInRootfs(index: RootfsIndex, path: string): string | null {
  let parts = normalizeTarPath(path).split('/');
  let hops = 0;
  for (let i = 0; i < parts.length; i++) {
    const here = parts.slice(0, i + 1).join('/');
    const target = index.symlinks.get(here);
    if (target === undefined) continue;
    if (++hops > 40) return null;
    const base = target.startsWith('/')
      ? target.replace(/^\/+/, '')
      : posix.join(posix.dirname(here), target);
    const joined = posix.normalize(posix.join(base, ...parts.slice(i + 1)));
    // Above the root stays at the root, as in a chroot.
    parts = normalizeTarPath(joined.replace(/^(\.\.\/)+/, '').replace(/^\.\.$/, '')).split('/');
    i = -1;
  }
  const final = parts.join('/');
  return index.files.has(final) ? final : null;
}

/** Checks `tools` (default: our installer-scripts' required-commands.txt) against a rootfs index. */
export function checkTools(
  index: RootfsIndex,
  tools: readonly RequiredTool[] = requiredTools(),
): ToolResult[] {
  return tools.map((t) => {
    const commands = t.commands.map(({ command, optional, paths }): CommandResult => {
      const candidates = paths ?? BIN_DIRS.map((d) => `${d}/${command}`);
      for (const c of candidates) {
        const r = resolveInRootfs(index, c);
        if (r !== null)
          return { command, found: true, optional, path: `/${c}`, resolved: r === c ? null : `/${r}` };
      }
      return { command, found: false, optional, path: null, resolved: null };
    });
    const first = commands[0]!;
    return {
      name: t.name,
      package: t.name,
      found: commands.every((c) => c.found || c.optional),
      path: first.path,
      resolved: first.resolved,
      commands,
    };
  });
}

/** The required commands a tool lacks (optional ones are not counted). */
export const missingCommands = (t: ToolResult): string[] =>
  t.commands.filter((c) => !c.found && !c.optional).map((c) => c.command);

/**
 * A writable that takes the bytes of a rootfs.tar.gz and indexes its names. Await
 * `index` after ending it. Unsafe names (absolute, `..`, escaping links) are refused.
 */
export function rootfsIndexer(displayName: string): { sink: Writable; index: Promise<RootfsIndex> } {
  const index = emptyRootfsIndex();
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 }); // 16 KiB steps cost more than the inflate
  // Its first bytes, kept to say what the member is when it is not gzip at all.
  let head = Buffer.alloc(0);
  const front = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (head.length < CONTENT_HEAD_BYTES)
        head = Buffer.concat([head, chunk.subarray(0, CONTENT_HEAD_BYTES - head.length)]);
      cb(null, chunk);
    },
  });
  const extract = tar.extract();
  const guard = new TarArchiveGuard(displayName);
  extract.on('entry', (header, stream, next) => {
    // Its error is the extractor's (reported once, below).
    stream.on('error', () => {});
    try {
      const type = (header.type ?? 'file') as TarEntryType;
      guard.check({
        name: header.name,
        type,
        linkname: header.linkname ?? undefined,
        size: header.size ?? 0,
      });
      indexTarEntry(index, { name: header.name, type, linkname: header.linkname ?? undefined });
    } catch (e) {
      extract.destroy(e as Error);
      return;
    }
    stream.on('end', () => next());
    stream.resume();
  });
  const counter = new Writable({
    write(chunk: Buffer, _enc, cb) {
      index.tarSize += chunk.length;
      if (extract.write(chunk)) cb();
      else extract.once('drain', () => cb());
    },
    final(cb) {
      (extract as unknown as { end(): void }).end();
      cb();
    },
  });
  const done = new Promise<void>((res, rej) => {
    extract.on('finish', res);
    extract.on('error', (e: Error) => {
      rej(e);
      gunzip.destroy(e);
    });
  });
  done.catch(() => {});
  const flow = pipeline(front, gunzip, counter)
    .then(() => done)
    .then(() => index)
    .catch((e: unknown) => {
      if (e instanceof Error && e.name === 'TarSafetyError') throw e;
      if (!isGzipHead(head))
        throw new BootkitError('BAD_ROOTFS', notGzipMessage(displayName, head), displayName);
      throw new BootkitError(
        'BAD_ROOTFS',
        `${displayName} is not a valid tar.gz: ${e instanceof Error ? e.message : String(e)}`,
        displayName,
      );
    });
  flow.catch(() => {});
  return { sink: front, index: flow };
}
