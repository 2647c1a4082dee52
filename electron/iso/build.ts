// The ISO half of `build`: stage the tree, write the manifest, master with xorriso
// into a temp file beside the output (hashed as it is written), name the GPT
// partitions (ESP, EMTCONFIG), then move it (and `.sha256`) into place. The kernel, the injected initramfs and the two FAT images
// come in ready.
import { mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ProgressSink } from '../progress.ts';
import { noProgress } from '../progress.ts';
import { BuildError } from './build-error.ts';
import { followHash, type HashFollower } from './follow-hash.ts';
import { gptNamePatch } from './gpt-names.ts';
import { type BuildManifest, encodeManifest, hashPayload, MANIFEST_SCHEMA, sha256File } from './manifest.ts';
import { GPT_NAMES, masterArgs } from './master-args.ts';
import { outError, prepareOutput } from './output.ts';
import { ISO_PATHS, listUserApps, materialize, planMeta, planPayload } from './stage.ts';

export interface MasterIsoInput {
  out: string;
  /** Scratch folder for generated files; the caller removes it. */
  workDir: string;
  kernel: string;
  initrd: string;
  grubCfg: Uint8Array;
  efiLoader: string;
  /** More EFI files on the ISO (the shim chain), see PayloadInputs. */
  efiExtras?: { isoPath: string; path: string }[];
  /** With --secure-boot: recorded in the manifest. */
  secureBoot?: 'shim' | 'uki';
  /** False: the ESP is too big for El Torito, so no EFI CD boot (recorded in the manifest). */
  efiElTorito?: boolean;
  /** With --bios: GRUB's El Torito image and hybrid MBR. */
  bios?: { eltorito: string; hybridMbr: string };
  osImage: { path: string; sha256: string; size: number };
  /** Payload files already hashed (e.g. the initrd, by the injector): not read again. */
  known?: { path: string; sha256: string; size: number }[];
  userApps?: string;
  espImage: string;
  configImage: string;
  label: string;
  sourceDateEpoch: number;
  buildId: string;
  /** What the manifest says about tools and inputs; the rest is filled in here. */
  about: Pick<BuildManifest, 'tool' | 'xorriso' | 'bootkit' | 'kernelCmdline' | 'configSchemaVersion'>;
  /** Runs xorriso with an argv (native or wasm: both give the same bytes). */
  master: (argv: string[], opts: { onProgress: ProgressSink; signal?: AbortSignal }) => Promise<unknown>;
  /** Last word before the ISO is put in place (a check that ran meanwhile); throwing discards it. */
  beforeCommit?: () => Promise<void>;
  onProgress?: ProgressSink;
  signal?: AbortSignal;
}

export interface MasterIsoResult {
  iso: string;
  sha256: string;
  size: number;
  sha256File: string;
  manifest: BuildManifest;
  /** False when a guard made us hash the finished ISO again (slower, same result). */
  hashedWhileWriting: boolean;
}

// ISO 9660 + Rock Ridge + Joliet metadata, boot catalog, GPT: generous but small.
const OVERHEAD_BYTES = 4 * 2 ** 20;
const PER_FILE_BYTES = 8 * 1024;

export async function masterInstallerIso(i: MasterIsoInput): Promise<MasterIsoResult> {
  const progress = i.onProgress ?? noProgress;
  const userApps = i.userApps ? { dir: i.userApps, files: await listUserApps(i.userApps) } : undefined;
  const payload = planPayload({
    kernel: i.kernel,
    initrd: i.initrd,
    grubCfg: i.grubCfg,
    efiLoader: i.efiLoader,
    osImage: i.osImage.path,
    osImageSha256: i.osImage.sha256,
    ...(userApps ? { userApps } : {}),
    ...(i.bios ? { biosEltorito: i.bios.eltorito } : {}),
    ...(i.efiExtras ? { efiExtras: i.efiExtras } : {}),
  });

  // Hash every payload file (the OS image is already hashed) for the manifest.
  const files = await hashPayload(payload, {
    known: new Map([i.osImage, ...(i.known ?? [])].map((k) => [k.path, { sha256: k.sha256, size: k.size }])),
    ...(i.signal ? { signal: i.signal } : {}),
  });
  const [espHash, configHash] = await Promise.all([
    sha256File(i.espImage, opt(i.signal)),
    sha256File(i.configImage, opt(i.signal)),
  ]);
  const osIsoPath = `${ISO_PATHS.images}/${basename(i.osImage.path)}`;
  const osImage = files.find((f) => f.path === osIsoPath)!;
  const manifest: BuildManifest = {
    schema: MANIFEST_SCHEMA,
    buildId: i.buildId,
    label: i.label,
    sourceDateEpoch: i.sourceDateEpoch,
    createdAt: new Date(i.sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z'),
    tool: i.about.tool,
    xorriso: i.about.xorriso,
    bootkit: i.about.bootkit,
    kernelCmdline: i.about.kernelCmdline,
    configSchemaVersion: i.about.configSchemaVersion,
    bios: Boolean(i.bios),
    ...(i.secureBoot ? { secureBoot: i.secureBoot } : {}),
    ...(i.efiElTorito === false ? { cdBoot: false as const } : {}),
    osImage,
    partitions: {
      esp: { size: espHash.size, sha256: espHash.sha256 },
      config: { size: configHash.size, sha256: configHash.sha256 },
    },
    files,
  };
  const stageDir = join(i.workDir, 'stage');
  await mkdir(stageDir, { recursive: true });
  const grafts = await materialize(
    [
      ...payload,
      ...planMeta({
        buildId: i.buildId,
        label: i.label,
        createdAt: manifest.createdAt,
        manifest: encodeManifest(manifest),
      }),
    ],
    stageDir,
  );
  progress({ stage: 'stage', done: files.length, total: files.length, unit: 'files' });

  const need =
    files.reduce((n, f) => n + f.size + PER_FILE_BYTES, OVERHEAD_BYTES) + espHash.size + configHash.size;
  const pending = await prepareOutput(i.out, need);
  let follower: HashFollower | undefined;
  try {
    const argv = masterArgs({
      out: pending.tmp,
      label: i.label,
      sourceDateEpoch: i.sourceDateEpoch,
      grafts,
      espImage: i.espImage,
      configImage: i.configImage,
      ...(i.bios ? { bios: { hybridMbr: i.bios.hybridMbr } } : {}),
      ...(i.efiElTorito === false ? { efiElTorito: false } : {}),
    });
    // The hash follows xorriso's writes; what is left when it exits shows as 'checksum'.
    let size = 0;
    const checksum = (done: number) => progress({ stage: 'checksum', done, total: size, unit: 'bytes' });
    let hashed = 0;
    // The hash is of the ISO with its GPT partitions named (written when xorriso is done).
    follower = followHash(pending.tmp, {
      ...opt(i.signal),
      patch: gptNamePatch(GPT_NAMES),
      onHashed: (done) => {
        hashed = done;
        if (size) checksum(done);
      },
    });
    await i.master(argv, { onProgress: progress, ...(i.signal ? { signal: i.signal } : {}) });
    if (i.signal?.aborted)
      throw new BuildError('CANCELLED', `build of ${pending.out} cancelled`, pending.out);
    size = (await stat(pending.tmp)).size;
    if (size < need - OVERHEAD_BYTES - files.length * PER_FILE_BYTES) {
      throw new BuildError(
        'NO_SPACE',
        `${pending.out} came out short (${size} bytes): disk full?`,
        pending.out,
      );
    }
    checksum(hashed);
    const iso = await follower.finish();
    checksum(size);
    await i.beforeCommit?.();
    const placed = await pending.commit(iso.sha256);
    return {
      iso: placed.iso,
      sha256: iso.sha256,
      size: iso.size,
      sha256File: placed.sha256File,
      manifest,
      hashedWhileWriting: iso.whileWriting,
    };
  } catch (e) {
    follower?.stop();
    await pending.discard();
    if (i.signal?.aborted && !(e instanceof BuildError && e.code === 'CANCELLED')) {
      throw new BuildError('CANCELLED', `build of ${pending.out} cancelled`, pending.out);
    }
    const code = (e as NodeJS.ErrnoException).code;
    const text = e instanceof Error ? e.message : '';
    if (
      ['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES'].includes(code ?? '') ||
      /exceeds free space|No space left/i.test(text)
    ) {
      throw outError(e, pending.out);
    }
    throw e;
  }
}

const opt = (signal: AbortSignal | undefined) => (signal ? { signal } : {});
