// What the installer OS (rootfs.tar.gz) carries for the install: our scripts,
// unit and config pointer (installer-layout.ts paths), or today's workflow's
// /etc/scripts and start-provision.service; each with its sha256. One pass:
// gunzip, the tar walker (tar-safety on every header; data kept only for our
// files), names into the tool-check index.

import { createHash, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { emptyRootfsIndex, indexTarEntry, type RootfsIndex } from '../bootkit/tool-check.ts';
import { CONF_PATH, INSTALL_ROOT, UNIT_PATH, WANTS_LINK } from '../initramfs/installer-layout.ts';
import { normalizeTarPath } from '../initramfs/tar-safety.ts';
import { TarWalker, type WalkedEntry } from '../initramfs/tar-walker.ts';
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
  // The file being hashed: its header blocks come first through `keep`, then its data.
  let cur: { e: WalkedEntry; p: string; skip: number; left: number; hash: Hash; parts: Buffer[] } | null =
    null;
  const finish = () => {
    if (!cur) return;
    const { e, p } = cur;
    found.set(p, { path: `/${p}`, type: 'file', size: e.size, mode: e.mode, sha256: cur.hash.digest('hex') });
    if (keepText(p) && e.size <= 65536) texts.set(`/${p}`, Buffer.concat(cur.parts).toString('utf8'));
    cur = null;
  };
  const walker = new TarWalker({
    file: displayName,
    onEntry: (e) => {
      finish();
      indexTarEntry(index, e);
      const p = normalizeTarPath(e.name);
      if (!(isOurs(p) || isLegacy(p))) {
        // A later entry of the same name replaces an earlier one, as tar does.
        if (e.type !== 'directory') found.delete(p);
        return true;
      }
      if (e.type === 'symlink') {
        const linkname = e.linkname ?? '';
        found.set(p, {
          path: `/${p}`,
          type: 'symlink',
          size: 0,
          mode: e.mode,
          sha256: createHash('sha256').update(linkname).digest('hex'),
          linkname,
        });
        return true;
      }
      if (e.type !== 'file' && e.type !== 'contiguous-file') {
        found.delete(p);
        return true;
      }
      const padded = Math.ceil(e.size / 512) * 512;
      cur = { e, p, skip: e.end - e.start - padded, left: e.size, hash: createHash('sha256'), parts: [] };
      return false;
    },
    keep: (bytes) => {
      if (!cur) return;
      let b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (cur.skip > 0) {
        const n = Math.min(cur.skip, b.length);
        cur.skip -= n;
        b = b.subarray(n);
      }
      if (cur.left > 0 && b.length > 0) {
        const d = b.subarray(0, Math.min(cur.left, b.length));
        cur.hash.update(d);
        if (keepText(cur.p) && cur.e.size <= 65536) cur.parts.push(Buffer.from(d));
        cur.left -= d.length;
      }
    },
  });
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
  const counter = new Writable({
    write(chunk: Buffer, _enc, cb) {
      index.tarSize += chunk.length;
      try {
        walker.push(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    final(cb) {
      try {
        walker.end();
        finish();
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  const result = pipeline(gunzip, counter)
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
