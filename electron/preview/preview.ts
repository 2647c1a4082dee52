// What an installer image holds, read without changing it and without reading
// its payloads: the ISO tree (directory extents), boot catalog, partition tables,
// the EFI image, grub.cfg files, kernel header, the initramfs (walked whole: its
// content is what is shown) and the config partition. `verify` alone reads the
// payloads, to check them against the manifest's hashes.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { parseBzImage } from '../bootkit/kernel-version.ts';
import { checkTools } from '../bootkit/tool-check.ts';
import { isEmtError } from '../errors.ts';
import { findConfigPartition } from '../flash/gpt.ts';
import type { CpioEntry } from '../initramfs/cpio.ts';
import { isRootfsEntry, segmentSummaries, walkInitramfs } from '../initramfs/segments.ts';
import { ISO_PATHS } from '../iso/stage.ts';
import type { ProgressSink } from '../progress.ts';
import { parseBootCatalog, unpatchBootInfo } from './boot-catalog.ts';
import { configFromLegacyFile, configFromPartition, type SecretDigests } from './config-view.ts';
import { describeEfi, parsePe } from './efi-binary.ts';
import { PreviewError } from './errors.ts';
import { type FatVolume, openFat, parseBpb } from './fat.ts';
import { devicelessPath, parseGrubConfig } from './grub-config.ts';
import { type InstallerContent, installerContentReader } from './installer-content.ts';
import {
  findEntry,
  type IsoEntry,
  readIsoFile,
  readTree,
  readVolumeDescriptors,
  SECTOR,
  type VolumeDescriptors,
} from './iso9660.ts';
import { isEsp, type PartitionTables, readPartitionTables } from './partitions.ts';
import { type ByteReader, openReader } from './reader.ts';
import type { BootEntry, EfiBinary, GrubConfig, Partition, PreviewReport, VerifyOutcome } from './report.ts';

export interface PreviewOptions {
  verify?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
}

/** The report, and what the diff needs beyond it (never printed). */
export interface Preview {
  report: PreviewReport;
  secrets: SecretDigests;
}

const KERNEL_GUESSES = [
  '/boot/vmlinuz',
  '/casper/vmlinuz',
  '/live/vmlinuz',
  '/install.amd/vmlinuz',
  '/isolinux/vmlinuz',
  '/images/pxeboot/vmlinuz',
];
const INITRD_GUESSES = [
  '/boot/initrd.img',
  '/casper/initrd',
  '/live/initrd.img',
  '/install.amd/initrd.gz',
  '/isolinux/initrd.img',
  '/images/pxeboot/initrd.img',
];

/** True when the file (or device) carries an ISO 9660 volume; false when it cannot be read as one. */
export async function looksLikeIso(path: string): Promise<boolean> {
  let r: ByteReader | null = null;
  try {
    r = await openReader(path);
    const d = await r.read(16 * SECTOR, 8);
    return d.length === 8 && d.toString('latin1', 1, 6) === 'CD001';
  } catch {
    return false;
  } finally {
    await r?.close();
  }
}

export async function previewImage(path: string, opts: PreviewOptions = {}): Promise<Preview> {
  const r = await openReader(path);
  try {
    return await previewReader(r, path, opts);
  } finally {
    await r.close();
  }
}

/** The pipeline, in order; `path` is opened again only by the initramfs walker. */
export async function previewReader(
  r: ByteReader,
  path: string,
  opts: PreviewOptions = {},
): Promise<Preview> {
  const warnings: string[] = [];
  const step = (n: number, detail: string) => {
    opts.signal?.throwIfAborted();
    opts.onProgress?.({ stage: 'preview', done: n, total: 8, unit: 'steps', detail });
  };
  step(0, 'volume');
  const vd = await readVolume(r, warnings);
  step(1, 'partitions');
  const tables = await readPartitionTables(r);
  if (!vd && !tables.mbr.present && !tables.gpt.present)
    throw new PreviewError(
      'NOT_AN_IMAGE',
      `${r.name}: is neither an ISO 9660 image nor a partitioned disk image`,
      r.name,
    );
  if (vd && vd.size > r.size)
    warnings.push(`${r.name} is ${r.size} bytes but its ISO volume claims ${vd.size}: the image is cut off`);
  step(2, 'tree');
  const tree = vd ? await readTree(r, vd) : { entries: [] as IsoEntry[], names: 'iso9660' as const };
  step(3, 'boot');
  const boot = await readBootSetup(r, vd, tree.entries, tables);
  const manifest = await readManifest(r, tree.entries, warnings);
  step(4, 'grub');
  const grub = await readGrubConfigs(r, tree.entries, boot.esp?.fat ?? null);
  step(5, 'kernel');
  const kernel = await readKernel(r, tree.entries, grub, warnings);
  if (boot.summary.secureBoot.chain && kernel.path)
    boot.summary.secureBoot.note += kernel.signed
      ? `; the kernel ${kernel.path} is signed`
      : `; but the kernel ${kernel.path} is not signed: shim will refuse it`;
  step(6, 'initramfs');
  const initramfs = await readInitramfs(r, path, tree.entries, grub, warnings, opts);
  step(7, 'config');
  const config = await readConfig(r, tables, initramfs.content);
  const verify = opts.verify
    ? await verifyPayloads(r, tree.entries, manifest, tables, boot.esp, boot.summary.entries, opts)
    : null;
  step(8, 'done');
  const content = initramfs.content;
  const tools = content ? checkTools(content.index) : [];
  const report: PreviewReport = {
    input: { path, size: r.size, kind: r.device ? 'device' : 'file' },
    volume: vd
      ? {
          id: vd.volumeId,
          size: vd.size,
          application: vd.application,
          preparer: vd.preparer,
          names: tree.names,
        }
      : null,
    ours: manifest !== null,
    manifest,
    boot: boot.summary,
    mbr: tables.mbr,
    gpt: { present: tables.gpt.present, diskGuid: tables.gpt.diskGuid },
    partitions: boot.partitions,
    esp: boot.esp
      ? {
          location: boot.esp.location,
          fat: `FAT${boot.esp.fat.type}`,
          label: boot.esp.fat.label,
          files: boot.esp.fat.files.filter((f) => !f.dir).map((f) => ({ path: f.path, size: f.size })),
        }
      : null,
    grub,
    kernel,
    initramfs: initramfs.summary,
    installer: { kind: content?.kind ?? null, files: content?.files ?? [], unit: content?.unit ?? null },
    tools: tools.map((t) => ({
      name: t.name,
      found: t.found,
      commands: t.commands.map((c) => ({ command: c.command, found: c.found, path: c.path })),
    })),
    missingTools: tools.filter((t) => !t.found).map((t) => t.name),
    missingCommands: tools.flatMap((t) => t.commands.filter((c) => !c.found).map((c) => c.command)),
    config: config.view,
    files: tree.entries.filter((e) => !e.dir).map((e) => ({ path: e.path, size: e.size })),
    verify,
    bytesRead: r.bytesRead,
    warnings,
  };
  return { report, secrets: config.digests };
}

async function readVolume(r: ByteReader, warnings: string[]): Promise<VolumeDescriptors | null> {
  try {
    return await readVolumeDescriptors(r);
  } catch (e) {
    if (isEmtError(e) && e.code === 'NOT_ISO') {
      warnings.push(`${r.name} holds no ISO 9660 file system: only its partition tables are shown`);
      return null;
    }
    throw e;
  }
}

interface BootSetup {
  summary: PreviewReport['boot'];
  partitions: Partition[];
  esp: { location: string; fat: FatVolume; offset: number; size: number } | null;
}

async function readBootSetup(
  r: ByteReader,
  vd: VolumeDescriptors | null,
  entries: IsoEntry[],
  tables: PartitionTables,
): Promise<BootSetup> {
  let bootEntries: BootEntry[] = [];
  let catalog: string | null = null;
  if (vd?.bootCatalog) {
    bootEntries = parseBootCatalog(await r.read(vd.bootCatalog * SECTOR, SECTOR));
    catalog =
      entries.find((e) => e.offset === vd.bootCatalog! * SECTOR && !e.dir)?.path ??
      `sector ${vd.bootCatalog}`;
  }
  // Name each boot image by the partition or file it is, and take its size from there.
  for (const b of bootEntries) {
    const part = tables.partitions.find((p) => p.offset === b.offset);
    const file = entries.find((e) => !e.dir && e.offset === b.offset && e.size > 0);
    if (part) {
      b.image = `partition ${part.number}`;
      b.size = part.size;
    } else if (file) {
      b.image = file.path;
      b.size = Math.max(b.size, file.size);
    }
  }
  // Filesystems of the partitions (boot sector only), then the ESP: a partition or the El Torito EFI image.
  const partitions: Partition[] = [];
  for (const p of tables.partitions) {
    const fat = p.size >= 512 && p.offset + 512 <= r.size ? await openFatHeader(r, p) : null;
    partitions.push({ ...p, filesystem: fat });
  }
  let esp: BootSetup['esp'] = null;
  const espPart = tables.partitions.find(isEsp);
  const efiEntry = bootEntries.find((b) => b.platform === 'uefi');
  const espAt = espPart
    ? { location: `partition ${espPart.number}`, offset: espPart.offset, size: espPart.size }
    : efiEntry
      ? { location: efiEntry.image ?? `sector ${efiEntry.lba}`, offset: efiEntry.offset, size: efiEntry.size }
      : null;
  if (espAt && espAt.offset + 512 <= r.size) {
    const fat = await openFat(r, espAt.offset, espAt.size);
    if (fat) esp = { ...espAt, fat };
  }
  const efiBinaries = await readEfiBinaries(r, entries, esp?.fat ?? null);
  const fallback = (b: EfiBinary) => /(^|\/)efi\/boot\/bootx64\.efi$/i.test(b.path.replace(/^esp:/, ''));
  const loader =
    efiBinaries.find((b) => fallback(b) && b.path.startsWith('esp:')) ?? efiBinaries.find(fallback);
  const shim = efiBinaries.find((b) => b.role === 'shim' && b.signed) ?? null;
  const grubSigned = efiBinaries.find((b) => b.role === 'grub' && b.signed);
  const chain =
    loader?.signed === true &&
    (loader.role === 'shim' || loader.sbat.includes('shim')) &&
    grubSigned !== undefined;
  const note = chain
    ? `${loader.path} is a signed shim and ${grubSigned.path} a signed GRUB: boots with Secure Boot on (the kernel must be signed by a key shim trusts)`
    : loader?.signed && loader.role === 'uki'
      ? `${loader.path} is a signed UKI (kernel, initramfs and cmdline under one signature): boots with Secure Boot on where its signer is in the firmware's db`
      : loader?.signed
        ? `${loader.path} is signed but no shim + signed GRUB pair was seen`
        : loader
          ? `${loader.path} is not signed: turn Secure Boot off to boot it`
          : 'no UEFI loader (EFI/BOOT/BOOTX64.EFI) found';
  const hybrid = vd !== null && tables.mbr.present && tables.mbr.partitions.length > 0;
  return {
    summary: {
      entries: bootEntries,
      catalog,
      hybrid,
      bios: {
        cd: bootEntries.some((b) => b.platform === 'bios' && b.bootable),
        usb: tables.mbr.present && tables.mbr.bootCode,
      },
      uefi: {
        cd: bootEntries.some((b) => b.platform === 'uefi' && b.bootable),
        usb:
          espPart !== undefined &&
          (esp?.fat.files.some((f) => /^efi\/boot\/bootx64\.efi$/i.test(f.path)) ?? false),
      },
      secureBoot: {
        chain,
        shim: shim?.path ?? null,
        signed: efiBinaries.filter((b) => b.signed).map((b) => b.path),
        note,
      },
      efiBinaries,
    },
    partitions,
    esp,
  };
}

async function openFatHeader(r: ByteReader, p: Partition): Promise<Partition['filesystem']> {
  const bpb = parseBpb(await r.read(p.offset, 512));
  return bpb ? { type: `FAT${bpb.type}`, label: bpb.label } : null;
}

async function readEfiBinaries(
  r: ByteReader,
  entries: IsoEntry[],
  fat: FatVolume | null,
): Promise<EfiBinary[]> {
  const out: EfiBinary[] = [];
  for (const e of entries.filter((x) => !x.dir && /\.efi$/i.test(x.path)).slice(0, 64))
    out.push(await describeEfi(e.path, e.size, (o, n) => r.read(e.offset + o, n)));
  for (const f of (fat?.files ?? []).filter((x) => !x.dir && /\.efi$/i.test(x.path)).slice(0, 64)) {
    // FAT files are not contiguous in general: read the small binaries whole (a few MiB at most).
    const data = f.size <= 16 << 20 ? await fat!.read(f.path, 16 << 20) : null;
    if (data) out.push(await describeEfi(`esp:${f.path}`, f.size, async (o, n) => data.subarray(o, o + n)));
  }
  return out;
}

async function readManifest(
  r: ByteReader,
  entries: IsoEntry[],
  warnings: string[],
): Promise<Record<string, unknown> | null> {
  const raw = await readIsoFile(r, entries, ISO_PATHS.manifest, 4 << 20);
  if (!raw) return null;
  try {
    const m = JSON.parse(raw.toString('utf8')) as unknown;
    if (m && typeof m === 'object' && !Array.isArray(m) && 'buildId' in m)
      return m as Record<string, unknown>;
    warnings.push(`${ISO_PATHS.manifest} is not an emt-usb build manifest`);
  } catch {
    warnings.push(`${ISO_PATHS.manifest} is not valid JSON`);
  }
  return null;
}

async function readGrubConfigs(
  r: ByteReader,
  entries: IsoEntry[],
  fat: FatVolume | null,
): Promise<GrubConfig[]> {
  const out: GrubConfig[] = [];
  for (const e of entries.filter((x) => !x.dir && /(^|\/)grub\.cfg$/i.test(x.path) && x.size <= 1 << 20))
    out.push(parseGrubConfig((await r.read(e.offset, e.size)).toString('utf8'), e.path));
  for (const f of (fat?.files ?? []).filter((x) => !x.dir && /(^|\/)grub\.cfg$/i.test(x.path))) {
    const data = await fat!.read(f.path);
    if (data) out.push(parseGrubConfig(data.toString('utf8'), `esp:${f.path}`));
  }
  return out;
}

/** The kernel and initrds the first menu entry boots (paths that exist on the ISO), else the usual names. */
function bootFiles(
  entries: IsoEntry[],
  grub: GrubConfig[],
): { kernel: IsoEntry | null; initrd: IsoEntry | null } {
  for (const g of grub)
    for (const e of g.entries) {
      const k = e.kernel ? findEntry(entries, devicelessPath(e.kernel)) : undefined;
      if (!k) continue;
      const initrds = e.initrd
        .map((p) => findEntry(entries, devicelessPath(p)))
        .filter((x) => x !== undefined);
      // The main initramfs comes last (early microcode first, when split).
      return { kernel: k, initrd: initrds[initrds.length - 1] ?? null };
    }
  const guess = (list: string[]) =>
    list.map((p) => findEntry(entries, p)).find((x) => x !== undefined) ?? null;
  return { kernel: guess(KERNEL_GUESSES), initrd: guess(INITRD_GUESSES) };
}

async function readKernel(
  r: ByteReader,
  entries: IsoEntry[],
  grub: GrubConfig[],
  warnings: string[],
): Promise<PreviewReport['kernel']> {
  const k = bootFiles(entries, grub).kernel;
  if (!k) return { path: null, version: null, versionString: null, protocol: null, signed: false };
  const head = await r.read(k.offset, Math.min(k.size, 0x10000));
  const signed = parsePe(head)?.signed ?? false;
  try {
    return { path: k.path, ...parseBzImage(head, k.path), signed };
  } catch (e) {
    warnings.push(isEmtError(e) ? e.message : `${k.path}: ${(e as Error).message}`);
    return { path: k.path, version: null, versionString: null, protocol: null, signed };
  }
}

async function readInitramfs(
  r: ByteReader,
  path: string,
  entries: IsoEntry[],
  grub: GrubConfig[],
  warnings: string[],
  opts: PreviewOptions,
): Promise<{ summary: PreviewReport['initramfs']; content: InstallerContent | null }> {
  const none = {
    path: null,
    size: 0,
    segments: [],
    rootfs: { present: false, size: null, segment: null, entries: null, tarSize: null },
  };
  const initrd = bootFiles(entries, grub).initrd;
  if (!initrd) return { summary: none, content: null };
  let content: InstallerContent | null = null;
  try {
    const layout = await walkInitramfs(path, {
      displayName: `${initrd.path} in ${r.name}`,
      region: { offset: initrd.offset, length: initrd.size },
      signal: opts.signal,
      handlers: () => {
        let sink: Writable | null = null;
        let result: Promise<InstallerContent> | null = null;
        return {
          entry: (e: CpioEntry) => {
            if (!isRootfsEntry(e)) return false;
            ({ sink, result } = installerContentReader(`rootfs.tar.gz in ${initrd.path}`));
            return true;
          },
          data: async (_e, chunk) => {
            if (sink && !sink.write(chunk)) await Promise.race([once(sink, 'drain'), result]);
          },
          end: async () => {
            sink?.end();
            // The last rootfs.tar.gz wins, as in the kernel.
            if (result) content = await result;
          },
        };
      },
    });
    r.account(initrd.size);
    const seg = layout.rootfsSegment >= 0 ? layout.segments[layout.rootfsSegment]! : null;
    const c = content as InstallerContent | null;
    return {
      summary: {
        path: initrd.path,
        size: layout.size,
        segments: segmentSummaries(layout),
        rootfs: {
          present: seg !== null,
          size: seg?.rootfs?.size ?? null,
          segment: seg?.index ?? null,
          entries: c?.index.entries ?? null,
          tarSize: c?.index.tarSize ?? null,
        },
      },
      content: c,
    };
  } catch (e) {
    if (opts.signal?.aborted || !isEmtError(e)) throw e;
    warnings.push(e.message);
    return { summary: { ...none, path: initrd.path, size: initrd.size }, content: null };
  }
}

async function readConfig(
  r: ByteReader,
  tables: PartitionTables,
  content: InstallerContent | null,
): Promise<{ view: PreviewReport['config']; digests: SecretDigests }> {
  const boots = new Map<number, Buffer>();
  for (const p of tables.gpt.partitions) boots.set(p.number, await r.read(p.offset, 512));
  const part = findConfigPartition(tables.gpt.partitions, (p) => boots.get(p.number) ?? Buffer.alloc(0));
  if (part) {
    const fat = await openFat(r, part.offset, part.size);
    if (fat) return configFromPartition(fat, `partition ${part.number}`);
  }
  const legacy = content
    ? [...content.texts.entries()].find(([p]) => /(^|\/)config-file$/.test(p))
    : undefined;
  if (legacy) return configFromLegacyFile(legacy[1], legacy[0]);
  return { view: { source: null, location: null, values: {}, secrets: [], files: [] }, digests: new Map() };
}

async function hashRange(r: ByteReader, offset: number, size: number, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for (let done = 0; done < size; ) {
    signal?.throwIfAborted();
    const b = await r.read(offset + done, Math.min(4 << 20, size - done));
    if (b.length === 0) break;
    h.update(b);
    done += b.length;
  }
  return h.digest('hex');
}

async function verifyPayloads(
  r: ByteReader,
  entries: IsoEntry[],
  manifest: Record<string, unknown> | null,
  tables: PartitionTables,
  esp: BootSetup['esp'],
  bootEntries: BootEntry[],
  opts: PreviewOptions,
): Promise<VerifyOutcome> {
  const results: VerifyOutcome['results'] = [];
  const files = Array.isArray(manifest?.files)
    ? (manifest.files as { path: string; size: number; sha256: string }[])
    : [];
  const total = files.reduce((n, f) => n + (f.size ?? 0), 0);
  let done = 0;
  for (const f of files) {
    const e = findEntry(entries, f.path);
    if (!e) {
      results.push({
        path: f.path,
        ok: false,
        expected: f.sha256,
        actual: null,
        problem: 'missing from the ISO',
      });
      continue;
    }
    let actual = await hashRange(r, e.offset, e.size, opts.signal);
    const bios = bootEntries.find((b) => b.platform === 'bios' && b.offset === e.offset);
    if (actual !== f.sha256 && bios && e.size <= 1 << 20) {
      // xorriso patched the boot info table into this image: check it as it was.
      const unpatched = unpatchBootInfo(await r.read(e.offset, e.size), bios.lba);
      if (createHash('sha256').update(unpatched).digest('hex') === f.sha256) actual = f.sha256;
    }
    done += e.size;
    opts.onProgress?.({ stage: 'verify', done, total, unit: 'bytes', detail: f.path });
    const problem =
      e.size !== f.size
        ? `size ${e.size}, manifest says ${f.size}`
        : actual !== f.sha256
          ? 'content differs'
          : null;
    results.push({ path: f.path, ok: problem === null, expected: f.sha256, actual, problem });
  }
  const parts = (manifest?.partitions ?? {}) as Record<string, { size: number; sha256: string } | undefined>;
  const boots = new Map<number, Buffer>();
  for (const p of tables.gpt.partitions) boots.set(p.number, await r.read(p.offset, 512));
  const configPart = findConfigPartition(
    tables.gpt.partitions,
    (p) => boots.get(p.number) ?? Buffer.alloc(0),
  );
  const where: Record<string, { offset: number } | null> = {
    esp: esp ? { offset: esp.offset } : null,
    config: configPart ? { offset: configPart.offset } : null,
  };
  for (const [name, want] of Object.entries(parts)) {
    if (!want?.sha256) continue;
    const at = where[name];
    const label = `partition:${name}`;
    if (!at) {
      results.push({
        path: label,
        ok: false,
        expected: want.sha256,
        actual: null,
        problem: 'partition not found',
      });
      continue;
    }
    const actual = await hashRange(r, at.offset, want.size, opts.signal);
    const problem =
      actual === want.sha256
        ? null
        : name === 'config'
          ? 'content differs (a per-stick config written by flash does)'
          : 'content differs';
    results.push({ path: label, ok: problem === null, expected: want.sha256, actual, problem });
  }
  return { ok: results.every((x) => x.ok), checked: results.length, results };
}
