// What the installer OS (rootfs.tar.gz) carries for the install: our scripts,
// unit and config pointer (installer-layout.ts paths), or today's workflow's
// /etc/scripts and start-provision.service; each with its sha256. One pass:
// gunzip, tar headers through tar-safety, names into the tool-check index.

import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { emptyRootfsIndex, indexTarEntry, type RootfsIndex } from '../bootkit/tool-check.ts';
import { CONF_PATH, INSTALL_ROOT, UNIT_PATH, WANTS_LINK } from '../initramfs/installer-layout.ts';
import { checkTarEntry, normalizeTarPath, type TarEntryType } from '../initramfs/tar-safety.ts';
import { PreviewError } from './errors.ts';
import type { InstallerFile } from './report.ts';

export const LEGACY_SCRIPTS = 'etc/scripts';
export const LEGACY_UNIT = 'etc/systemd/system/start-provision.service';

export interface InstallerContent {
  /** "emt" (ours), "legacy" (today's workflow), or null (neither found). */
  kind: 'emt' | 'legacy' | null;
  files: InstallerFile[];
  unit: InstallerFile | null;
  /** Small text files kept for display (config pointer, a legacy config-file). */
  texts: Map<string, string>;
  index: RootfsIndex;
}

const isOurs = (p: string) =>
  p === UNIT_PATH || p === WANTS_LINK || p === CONF_PATH || p.startsWith(`${INSTALL_ROOT}/`);
const isLegacy = (p: string) =>
  p === LEGACY_UNIT ||
  p === `etc/systemd/system/multi-user.target.wants/start-provision.service` ||
  p.startsWith(`${LEGACY_SCRIPTS}/`);
const keepText = (p: string) => p === CONF_PATH || /(^|\/)config-file$/.test(p);

/** A writable for the bytes of one rootfs.tar.gz; `result` settles after `end()`. */
export function installerContentReader(displayName: string): {
  sink: Writable;
  result: Promise<InstallerContent>;
} {
  const index = emptyRootfsIndex();
  const found = new Map<string, InstallerFile>();
  const texts = new Map<string, string>();
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    stream.on('error', () => {});
    let p: string;
    try {
      const type = (header.type ?? 'file') as TarEntryType;
      const linkname = header.linkname ?? undefined;
      checkTarEntry({ name: header.name, type, linkname, size: header.size ?? 0 }, displayName);
      indexTarEntry(index, { name: header.name, type, linkname });
      p = normalizeTarPath(header.name);
      if (!(isOurs(p) || isLegacy(p)) || (type !== 'file' && type !== 'symlink')) {
        // A later entry of the same name replaces an earlier one, as tar does.
        if (type !== 'directory') found.delete(p);
        stream.on('end', () => next());
        stream.resume();
        return;
      }
      if (type === 'symlink') {
        found.set(p, {
          path: `/${p}`,
          type: 'symlink',
          size: 0,
          mode: header.mode ?? 0o777,
          sha256: createHash('sha256')
            .update(linkname ?? '')
            .digest('hex'),
          linkname: linkname ?? '',
        });
        stream.on('end', () => next());
        stream.resume();
        return;
      }
    } catch (e) {
      extract.destroy(e as Error);
      return;
    }
    const h = createHash('sha256');
    const parts: Buffer[] = [];
    let size = 0;
    stream.on('data', (d: unknown) => {
      const c = d as Buffer;
      h.update(c);
      size += c.length;
      if (keepText(p) && size <= 65536) parts.push(c);
    });
    stream.on('end', () => {
      found.set(p, {
        path: `/${p}`,
        type: 'file',
        size,
        mode: header.mode ?? 0o644,
        sha256: h.digest('hex'),
      });
      if (keepText(p) && size <= 65536) texts.set(`/${p}`, Buffer.concat(parts).toString('utf8'));
      next();
    });
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
  const finished = new Promise<void>((res, rej) => {
    extract.on('finish', res);
    extract.on('error', (e: Error) => {
      rej(e);
      gunzip.destroy(e);
    });
  });
  finished.catch(() => {});
  const result = pipeline(gunzip, counter)
    .then(() => finished)
    .then((): InstallerContent => {
      const all = [...found.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
      const ours = all.filter((f) => isOurs(f.path.slice(1)));
      const legacy = all.filter((f) => isLegacy(f.path.slice(1)));
      const kind = ours.length > 0 ? 'emt' : legacy.length > 0 ? 'legacy' : null;
      const files = kind === 'emt' ? ours : kind === 'legacy' ? legacy : [];
      const unitPath = kind === 'emt' ? `/${UNIT_PATH}` : `/${LEGACY_UNIT}`;
      return { kind, files, unit: files.find((f) => f.path === unitPath) ?? null, texts, index };
    })
    .catch((e: unknown) => {
      if (e instanceof Error && e.name === 'TarSafetyError') throw e;
      throw new PreviewError(
        'BAD_ROOTFS',
        `${displayName} is not a valid tar.gz: ${e instanceof Error ? e.message : String(e)}`,
        displayName,
      );
    });
  result.catch(() => {});
  return { sink: gunzip, result };
}
