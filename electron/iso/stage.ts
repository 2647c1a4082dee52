// The ISO tree as data: which bytes go to which ISO path. Big inputs (the 1-3 GB
// OS image, user-apps) are never copied: they reach xorriso as graft points
// (`/iso/path=/disk/path`); only small generated files are written to a stage dir.
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BuildError } from './build-error.ts';

export type StageSource =
  | { kind: 'file'; path: string }
  /** A directory grafted whole; `files` are its regular files (relative, '/'-separated). */
  | { kind: 'dir'; path: string; files: string[] }
  | { kind: 'bytes'; data: Uint8Array };

export interface StageEntry {
  /** Absolute ISO path, e.g. `/boot/vmlinuz`. */
  isoPath: string;
  source: StageSource;
}

export interface PayloadInputs {
  kernel: string;
  initrd: string;
  grubCfg: Uint8Array;
  /** The standalone GRUB EFI binary, also placed in the ESP. */
  efiLoader: string;
  osImage: string;
  /** Lower-case hex sha256 of the OS image; written as `/images/<name>.sha256`. */
  osImageSha256: string;
  userApps?: { dir: string; files: string[] };
  /** GRUB BIOS El Torito image; only with --bios. */
  biosEltorito?: string;
  /** More EFI files beside the loader (the shim chain: grubx64.efi, mmx64.efi, EFI/debian/grub.cfg). */
  efiExtras?: { isoPath: string; path: string }[];
}

export const ISO_PATHS = {
  kernel: '/boot/vmlinuz',
  initrd: '/boot/initrd.img',
  grubCfg: '/boot/grub/grub.cfg',
  efiLoader: '/EFI/BOOT/BOOTX64.EFI',
  biosEltorito: '/boot/grub/i386-pc/eltorito.img',
  bootCatalog: '/boot/boot.cat',
  images: '/images',
  userApps: '/user-apps',
  manifest: '/emt-installer.json',
  diskInfo: '/.disk/info',
  /** GRUB's early config searches for this file to find our ISO filesystem. */
  marker: '/.disk/emt-installer',
} as const;

/** The files the installer needs and the manifest hashes. */
export function planPayload(p: PayloadInputs): StageEntry[] {
  const image = basename(p.osImage);
  checkIsoName(image, p.osImage);
  if (!/^[0-9a-f]{64}$/.test(p.osImageSha256)) {
    throw new BuildError('BAD_SHA256_FILE', `sha256 of ${p.osImage} is not 64 lower-case hex digits`);
  }
  const entries: StageEntry[] = [
    { isoPath: ISO_PATHS.kernel, source: { kind: 'file', path: p.kernel } },
    { isoPath: ISO_PATHS.initrd, source: { kind: 'file', path: p.initrd } },
    { isoPath: ISO_PATHS.grubCfg, source: { kind: 'bytes', data: p.grubCfg } },
    { isoPath: ISO_PATHS.efiLoader, source: { kind: 'file', path: p.efiLoader } },
    { isoPath: `${ISO_PATHS.images}/${image}`, source: { kind: 'file', path: p.osImage } },
    {
      isoPath: `${ISO_PATHS.images}/${image}.sha256`,
      // sha256sum's format, so `sha256sum -c` works in /images on the stick.
      source: { kind: 'bytes', data: new TextEncoder().encode(`${p.osImageSha256}  ${image}\n`) },
    },
  ];
  for (const x of p.efiExtras ?? [])
    entries.push({ isoPath: x.isoPath, source: { kind: 'file', path: x.path } });
  if (p.biosEltorito) {
    entries.push({ isoPath: ISO_PATHS.biosEltorito, source: { kind: 'file', path: p.biosEltorito } });
  }
  if (p.userApps) {
    for (const f of p.userApps.files) checkRelative(f, p.userApps.dir);
    entries.push({
      isoPath: ISO_PATHS.userApps,
      source: { kind: 'dir', path: p.userApps.dir, files: [...p.userApps.files].sort() },
    });
  }
  return entries;
}

export interface MetaInputs {
  buildId: string;
  label: string;
  /** ISO 8601 date of the build (from SOURCE_DATE_EPOCH). */
  createdAt: string;
  manifest: Uint8Array;
}

/** `/.disk/info` (one line, as Debian media carry), the marker and the manifest. */
export function planMeta(m: MetaInputs): StageEntry[] {
  const enc = new TextEncoder();
  return [
    {
      isoPath: ISO_PATHS.diskInfo,
      source: {
        kind: 'bytes',
        data: enc.encode(
          `Edge Microvisor Toolkit Standalone Node installer ${m.label} build ${m.buildId} (${m.createdAt})\n`,
        ),
      },
    },
    {
      isoPath: ISO_PATHS.marker,
      source: { kind: 'bytes', data: enc.encode(`build_id=${m.buildId}\nlabel=${m.label}\n`) },
    },
    { isoPath: ISO_PATHS.manifest, source: { kind: 'bytes', data: m.manifest } },
  ];
}

/** Every payload file as (ISO path, where its bytes are), dirs expanded. */
export function payloadFiles(
  entries: StageEntry[],
): Array<{ isoPath: string; source: { kind: 'file'; path: string } | { kind: 'bytes'; data: Uint8Array } }> {
  const out: ReturnType<typeof payloadFiles> = [];
  for (const e of entries) {
    if (e.source.kind === 'dir') {
      for (const f of e.source.files) {
        out.push({ isoPath: `${e.isoPath}/${f}`, source: { kind: 'file', path: join(e.source.path, f) } });
      }
    } else out.push({ isoPath: e.isoPath, source: e.source });
  }
  return out.sort((a, b) => (a.isoPath < b.isoPath ? -1 : a.isoPath > b.isoPath ? 1 : 0));
}

export interface Graft {
  isoPath: string;
  diskPath: string;
}

/**
 * Writes the `bytes` entries under `stageDir` (mirroring their ISO paths) and
 * returns one graft per entry; file and dir entries point at their sources.
 */
export async function materialize(entries: StageEntry[], stageDir: string): Promise<Graft[]> {
  const seen = new Set<string>();
  const grafts: Graft[] = [];
  for (const e of entries) {
    checkIsoPath(e.isoPath);
    if (seen.has(e.isoPath)) throw new BuildError('BAD_ISO_PATH', `ISO path ${e.isoPath} is staged twice`);
    seen.add(e.isoPath);
    if (e.source.kind === 'bytes') {
      const disk = join(stageDir, ...e.isoPath.split('/').filter(Boolean));
      await mkdir(dirname(disk), { recursive: true });
      await writeFile(disk, e.source.data);
      grafts.push({ isoPath: e.isoPath, diskPath: disk });
    } else grafts.push({ isoPath: e.isoPath, diskPath: resolve(e.source.path) });
  }
  return grafts;
}

/**
 * Lists the regular files of a user-apps directory (relative, sorted). Refuses
 * symlinks and special files: what lands on the stick must be what was checked.
 */
export async function listUserApps(dir: string): Promise<string[]> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(dir);
  } catch {
    throw new BuildError('USER_APPS_BAD', `user-apps directory ${dir} does not exist`, dir);
  }
  if (!st.isDirectory()) throw new BuildError('USER_APPS_BAD', `user-apps ${dir} is not a directory`, dir);
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = rel ? join(dir, rel) : dir;
    let names: string[];
    try {
      names = await readdir(abs);
    } catch (e) {
      throw new BuildError(
        'USER_APPS_BAD',
        `cannot read user-apps directory ${abs}: ${(e as Error).message}`,
        abs,
      );
    }
    for (const name of names.sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const s = await lstat(join(dir, r));
      if (s.isDirectory()) await walk(r);
      else if (s.isFile()) files.push(r);
      else {
        const what = s.isSymbolicLink() ? 'a symlink' : 'not a regular file';
        throw new BuildError(
          'USER_APPS_BAD',
          `user-apps entry ${join(dir, r)} is ${what}: refused`,
          join(dir, r),
        );
      }
    }
  };
  await walk('');
  return files;
}

function checkIsoPath(p: string): void {
  const parts = p.split('/');
  if (!p.startsWith('/') || parts.slice(1).some((c) => c === '' || c === '.' || c === '..')) {
    throw new BuildError('BAD_ISO_PATH', `ISO path '${p}' is not a clean absolute path`);
  }
  for (const c of parts.slice(1)) checkIsoName(c, p);
}

function checkRelative(rel: string, dir: string): void {
  if (rel.startsWith('/') || rel.split('/').some((c) => c === '' || c === '.' || c === '..')) {
    throw new BuildError(
      'USER_APPS_BAD',
      `user-apps entry '${rel}' in ${dir} is not a clean relative path`,
      dir,
    );
  }
}

function checkIsoName(name: string, where: string): void {
  // Rock Ridge names are bytes up to 255; NUL and control characters break tools.
  if (name.length === 0 || Buffer.byteLength(name) > 255 || /[\u0000-\u001f]/.test(name)) {
    throw new BuildError('BAD_ISO_PATH', `name '${name}' of ${where} cannot go into the ISO`, where);
  }
}
