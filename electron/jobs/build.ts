// The build job behind `emt-usb build` and the app: bootkit + OS image + config
// (+ user-apps) -> installer ISO, its `.sha256` and the manifest inside it.
//   check inputs -> inspect (kernel) + verify OS image + inject (indexing the rootfs
//   for the tool check as it rewrites it: one decompression) -> tool check -> images
//   (grub.cfg, ESP, EMTCONFIG) -> stage + master (xorriso) -> checksum -> rename
// Cheap checks run first, so a typo never costs minutes. Everything temporary
// lives in one folder beside the output and goes away whatever happens.
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildRequest, BuildResult, JsonObject, OsImageCheckValue, ProgressValue } from '../api.ts';
import { readKernelVersion } from '../bootkit/kernel-version.ts';
import { openBootkit } from '../bootkit/open.ts';
import { type RequiredTool, requiredTools } from '../bootkit/required-commands.ts';
import {
  checkTools,
  emptyRootfsIndex,
  indexTarEntry,
  missingCommands,
  type RootfsIndex,
} from '../bootkit/tool-check.ts';
import { configArtifacts } from '../config/artifacts.ts';
import { emtConfigPartition, passwordHashFor } from '../config/config-partition.ts';
import { checkPassword, readPasswordFile } from '../config/password-file.ts';
import { CONFIG_SCHEMA_VERSION } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import { injectInitramfs } from '../initramfs/inject.ts';
import type { RootfsMode } from '../initramfs/rootfs-tar.ts';
import { BUILD_EPOCH, nowEpoch, readSourceDateEpoch } from '../inputs/epoch.ts';
import { bootkitInput, checkInputFile } from '../inputs/input-file.ts';
import { checkNotAnInput, tempBeside } from '../inputs/output-path.ts';
import { bootLoaders, type ShimLoaders, shimLoaders, ukiStub } from '../iso/boot-loaders.ts';
import { masterInstallerIso } from '../iso/build.ts';
import { BuildError } from '../iso/build-error.ts';
import { ESP_MAX_BYTES, espImage } from '../iso/esp-image.ts';
import { grubCfg, kernelCmdline } from '../iso/grub-cfg.ts';
import { type BuildManifest, buildIdOf, sha256File } from '../iso/manifest.ts';
import { checkOsImage, readSha256File, verifyOsImage } from '../iso/os-image.ts';
import {
  checkOsImageEnds,
  describeOsImageCheck,
  type OsImageCheck,
  testOsImageStream,
} from '../iso/os-image-content.ts';
import { checkFreeSpace, checkOutput } from '../iso/output.ts';
import { listUserApps } from '../iso/stage.ts';
import { checkSourceDateEpoch, volumeLabel } from '../iso/volume-label.ts';
import { runXorriso, xorrisoVersion } from '../iso/xorriso.ts';
import { type EngineChoice, findNative, type XorrisoEngine } from '../iso/xorriso-engines.ts';
import type { ProgressSink } from '../progress.ts';
import { noProgress } from '../progress.ts';
import { loadCertificate } from '../secureboot/authenticode.ts';
import { type ChainReport, checkShimChain, efiReport } from '../secureboot/chain.ts';
import { loadPrivateKey, signPe } from '../secureboot/sign.ts';
import { buildUki } from '../secureboot/uki.ts';
import { bootkit } from './bootkit.ts';
import { loadConfigSource } from './config-source.ts';
import { ROOTFS_MODES } from './inject.ts';
import { cancellable, type JobContext } from './job.ts';
import { RequestReader } from './request.ts';

export interface BuildJobOptions {
  /** Bootkit tar.gz (or an initramfs, with `kernel`). */
  bootkit?: string;
  kernel?: string;
  initramfs?: string;
  osImage: string;
  /** What the manifest names as the bootkit (default: the first bootkit file's name). */
  bootkitSource?: string;
  /** A sha256sum-style file for the OS image. */
  osImageSha256?: string;
  config?: string;
  /** The config as the app's form values (instead of `config`). */
  siteConfig?: JsonObject;
  /** Plaintext password (one line) or a $6$ crypt hash; only its hash is stored. */
  passwordFile?: string;
  /** A typed password (instead of `passwordFile`), checked by the same rules. */
  password?: string;
  userApps?: string;
  /** Default: this checkout's installer-scripts/. */
  installerScripts?: string;
  engine?: EngineChoice;
  bios?: boolean;
  label?: string;
  /** Extra kernel parameters. */
  cmdline?: string;
  /** Default: $SOURCE_DATE_EPOCH, else now. */
  sourceDateEpoch?: number;
  out: string;
  allowMissingTools?: boolean;
  /** How the new rootfs.tar.gz is made: splice (default, fast) or recompress (smallest). */
  rootfsMode?: RootfsMode;
  /** 'shim': the ESP carries shim + Debian's signed GRUB and the kernel must be signed (default off).
   * 'uki': the ESP carries one UKI (stub + kernel + initramfs + cmdline) signed with signKey. */
  secureBoot?: 'off' | 'shim' | 'uki';
  /** Certificate to check the chain against (a MOK the nodes have enrolled). */
  trust?: string;
  /** Organisation key (PEM, RSA) and certificate: the kernel is signed with them, the cert goes on the ESP. */
  signKey?: string;
  signCert?: string;
  /** First line: the signing key's passphrase. */
  signKeyPassFile?: string;
  onProgress?: ProgressSink;
  signal?: AbortSignal;
}

export interface BuildJobResult {
  iso: string;
  sha256: string;
  size: number;
  sha256File: string;
  manifest: BuildManifest;
  engine: XorrisoEngine;
  /** Wall-clock seconds per stage, in order. */
  stages: { stage: string; seconds: number }[];
  seconds: number;
  /** Tools the bootkit lacks (only non-empty with allowMissingTools). */
  missingTools: string[];
  /** What was checked of the OS image's content, and a line saying so. */
  osImageCheck: OsImageCheckValue;
  /** Only with secureBoot: what is signed, by whom, SBAT, whether the kernel is trusted. */
  secureBoot?: ChainReport;
  /** Only when the ISO does not boot as a UEFI CD (a UKI ESP over 32 MiB): the line saying so. */
  noCdBoot?: string;
}

/** A checksum file is a line or a few; anything larger is the wrong file. */
const MAX_SHA256_FILE = 1 << 20;

export const defaultInstallerScripts = (): string =>
  fileURLToPath(new URL('../../installer-scripts/', import.meta.url));

export async function buildInstaller(o: BuildJobOptions): Promise<BuildJobResult> {
  const t0 = performance.now();
  const progress = o.onProgress ?? noProgress;
  const sig = o.signal ? { signal: o.signal } : {};
  const stages: BuildJobResult['stages'] = [];
  const timed = async <T>(stage: string, fn: () => Promise<T>): Promise<T> => {
    if (o.signal?.aborted) throw new BuildError('CANCELLED', `build of ${o.out} cancelled`, o.out);
    const s = performance.now();
    progress({ stage, done: 0, total: null, unit: 'steps' });
    const r = await fn();
    stages.push({ stage, seconds: (performance.now() - s) / 1000 });
    return r;
  };

  // 1. Cheap checks first.
  const {
    sde,
    label,
    cmdline,
    bootInputs,
    expectedSha,
    loaded,
    password,
    userAppFiles,
    scriptsDir,
    tools,
    loaders,
    shim,
    trust,
    signing,
    stub,
    engine,
    xorriso,
    osCodec,
  } = await checkInputs(o);

  const bk = await timed('open', () => openBootkit(bootInputs));
  const work = await mkdtemp(join(dirname(resolve(o.out)), '.emt-build-'));
  // Stops the stages that run side by side (and the OS image test, which may run to the end).
  const inner = new AbortController();
  const stop = () => inner.abort();
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    if (!bk.kernel) {
      throw new BuildError(
        'INPUT_MISSING',
        `${bk.initramfsName} comes without a kernel: give --kernel`,
        bk.initramfsName,
      );
    }
    // Secure Boot: sign (with a key), then refuse a kernel the chain would not start.
    const sb = shim
      ? await timed('secure-boot', () =>
          secureBootStage(
            shim,
            { path: bk.kernel!, name: bk.kernelName ?? bk.kernel! },
            work,
            signing,
            trust,
          ),
        )
      : undefined;
    const kernel = sb?.kernel ?? bk.kernel;
    const shimBinary = sb?.shim;
    const espExtras = sb?.espFiles ?? [];
    const secureBoot = sb?.report;
    // Fail fast on a small disk: the work folder (new initramfs, FAT images) and the
    // ISO (OS image, kernel, initramfs, partitions) both live beside the output.
    const sizes = await Promise.all([o.osImage, kernel, bk.initramfs].map(async (f) => (await stat(f)).size));
    const [osSize, kernelSize, initramfsSize] = sizes as [number, number, number];
    // A UKI holds the kernel and initramfs again, in work/ and on the ESP.
    const bootBytes = kernelSize + Math.ceil(initramfsSize * 1.1);
    await checkFreeSpace(
      o.out,
      osSize +
        kernelSize +
        2 * Math.ceil(initramfsSize * 1.1) +
        (stub ? 2 * bootBytes : 0) +
        2 * (64 + 32) * 2 ** 20,
    );

    // 2-4. Read the kernel version, hash the OS image and inject the installer, all
    // at once: on two cores zlib, sha256 and the splice overlap. The injection's
    // pass over rootfs.tar.gz also indexes its names for the tool check, so the
    // rootfs is decompressed once. The first failure stops the others; a refused
    // tool check comes after the inject and discards the new initramfs (in work/).
    const initrd = join(work, 'initrd.img');
    const isig = { signal: inner.signal };
    let firstError: unknown;
    const guard = <T>(p: Promise<T>): Promise<T> =>
      p.catch((e: unknown) => {
        firstError ??= e;
        inner.abort();
        throw e;
      });
    let osDone = 0;
    let rootfsIndex: RootfsIndex = emptyRootfsIndex();
    // Without a checksum, the OS image's own stream checks are all there is: its
    // whole stream is decoded in the background, through the stages below too, and
    // awaited before the ISO is kept.
    const osTest = guard(
      expectedSha !== undefined
        ? Promise.resolve<OsImageCheck>({ codec: osCodec, checksum: true, mode: 'ends' })
        : timed('os-test', () => testOsImageStream(o.osImage, osCodec, isig)),
    );
    osTest.catch(() => {});
    const parallel = await Promise.allSettled([
      guard(timed('inspect', () => readKernelVersion(kernel, bk.kernelName ?? kernel))),
      // The bootkit's own hash (for the build id) on a worker thread, meanwhile.
      guard(hashAll(bootInputs, isig)),
      guard(
        timed('verify', () =>
          verifyOsImage(o.osImage, expectedSha, {
            ...isig,
            onBytes: (n) => {
              osDone += n;
              progress({ stage: 'verify', done: osDone, total: osSize, unit: 'bytes', detail: o.osImage });
            },
          }),
        ),
      ),
      guard(
        timed('inject', () =>
          injectInitramfs({
            initramfs: bk.initramfs,
            displayName: bk.initramfsName,
            scriptsDir,
            out: initrd,
            sourceDateEpoch: sde,
            // Keep the old compressed rootfs.tar.gz up to its end, deflate only our
            // tail: the same files at a fraction of the time (gzip-splice.ts).
            rootfsMode: o.rootfsMode ?? 'splice',
            // The build id is not known yet (it covers the OS image's hash); the
            // installer matches its medium by label and finds the id in the manifest.
            conf: { iso_label: label },
            // The kernel keeps the last rootfs.tar.gz: the last index started counts.
            onRootfsTar: () => {
              const ix = emptyRootfsIndex();
              rootfsIndex = ix;
              return (e) => indexTarEntry(ix, e);
            },
            onProgress: progress,
            ...isig,
          }),
        ),
      ),
    ]);
    if (firstError !== undefined) throw firstError;
    const [kernelInfo, bootkitSha, osHash, injected] = parallel.map(
      (r) => (r as PromiseFulfilledResult<unknown>).value,
    ) as [
      Awaited<ReturnType<typeof readKernelVersion>>,
      string,
      { sha256: string; size: number },
      Awaited<ReturnType<typeof injectInitramfs>>,
    ];
    const missing = refuseMissingTools(rootfsIndex, tools, bootInputs, Boolean(o.allowMissingTools));
    const userAppHashes = new Map<string, { sha256: string; size: number }>();
    for (const f of userAppFiles)
      userAppHashes.set(join(o.userApps!, f), await sha256File(join(o.userApps!, f), sig));
    const artifactsFor = (hash: string | undefined) =>
      loaded ? configArtifacts(loaded.config, hash !== undefined ? { passwordHash: hash } : {}) : [];
    const toolVersion = await packageVersion();
    // The id covers everything that decides the ISO's bytes; the password only by
    // the hash of its hash, so the id reveals nothing.
    const passwordHash = password === undefined ? undefined : passwordHashFor(password);
    const buildId = buildIdOf({
      tool: toolVersion,
      xorriso,
      bootkit: bootkitSha,
      scripts: await hashTree(scriptsDir),
      os: { name: basename(o.osImage), ...osHash },
      config: artifactsFor(passwordHash).map((a) => [a.path, a.mode, sha(a.data)]),
      userApps: [...userAppHashes.entries()].map(([p, h]) => [p.slice(o.userApps!.length), h.sha256]),
      loaders: await hashAll(
        [loaders.efi, ...(o.bios ? [loaders.biosEltorito, loaders.biosHybridMbr] : [])],
        sig,
      ),
      // Absent (so not in the id) without Secure Boot: older ids stay as they were.
      secureBoot: shim
        ? await hashAll([shim.shim, shim.grub, shim.mokManager, shim.grubCfg], sig)
        : stub
          ? `uki:${await hashAll([stub], sig)}`
          : undefined,
      // The signed kernel follows from the kernel (in the bootkit hash) and the key
      // behind this certificate.
      signCert: signing ? sha(signing.cert.raw) : undefined,
      label,
      cmdline,
      bios: Boolean(o.bios),
      sde,
    });

    // 4b. --secure-boot uki: the UKI from the injected initramfs, then signed (timed apart).
    const uki = stub
      ? await ukiStage(stub, kernel, initrd, cmdline, label, toolVersion, work, signing!, timed)
      : undefined;
    const efiLoader = uki?.path ?? shimBinary ?? loaders.efi;
    const efiExtras = uki ? uki.espFiles : espExtras;

    // 5. grub.cfg, the ESP and the EMTCONFIG partition.
    const images = await timed('images', async () => {
      const cfg = new TextEncoder().encode(
        grubCfg({ label, bios: Boolean(o.bios), ...(o.cmdline ? { cmdlineExtra: o.cmdline } : {}) }),
      );
      const esp = join(work, 'esp.img');
      const espBytes = await espImage(
        shim || uki
          ? {
              efiBinary: efiLoader,
              extraFiles: efiExtras,
              dateEpoch: sde,
              ...(uki ? { noElTorito: true } : {}),
            }
          : { efiBinary: loaders.efi, dateEpoch: sde },
      );
      await writeFile(esp, espBytes);
      const config = join(work, 'config.img');
      // The serial (the FS UUID) from the build id: same build, same bytes.
      await writeFile(
        config,
        await emtConfigPartition({
          ...(loaded ? { config: loaded.config } : {}),
          ...(passwordHash !== undefined ? { passwordHash } : {}),
          dateEpoch: sde,
          serial: Number.parseInt(buildId.slice(0, 8), 16),
        }),
      );
      return { cfg, esp, config, cdBoot: espBytes.length <= ESP_MAX_BYTES };
    });
    const noCdBoot = images.cdBoot
      ? undefined
      : `CD boot is not offered: the UKI needs a ${Math.round((await stat(images.esp)).size / 2 ** 20)} MiB ESP, over El Torito's 32 MiB; write the ISO to a USB stick`;
    if (noCdBoot) progress({ stage: 'images', done: 1, total: 1, unit: 'steps', detail: noCdBoot });

    // 6. Stage, manifest, master, checksum, rename.
    const r = await timed('master', () =>
      masterInstallerIso({
        out: o.out,
        workDir: work,
        kernel,
        initrd,
        // The injector hashed the initrd as it wrote it.
        known: [{ path: initrd, sha256: injected.sha256, size: injected.size }],
        grubCfg: images.cfg,
        efiLoader,
        ...(shim || uki
          ? {
              secureBoot: uki ? ('uki' as const) : ('shim' as const),
              efiExtras: efiExtras.map((f) => ({ isoPath: `/${f.path}`, path: f.data })),
            }
          : {}),
        ...(images.cdBoot ? {} : { efiElTorito: false }),
        ...(o.bios ? { bios: { eltorito: loaders.biosEltorito, hybridMbr: loaders.biosHybridMbr } } : {}),
        osImage: { path: o.osImage, ...osHash },
        ...(o.userApps ? { userApps: o.userApps } : {}),
        espImage: images.esp,
        configImage: images.config,
        label,
        sourceDateEpoch: sde,
        buildId,
        about: {
          tool: { name: 'emt-usb', version: toolVersion },
          xorriso,
          bootkit: {
            source: o.bootkitSource ?? basename(bootInputs[0]!),
            sha256: bootkitSha,
            kernelVersion: kernelInfo.version,
          },
          kernelCmdline: cmdline,
          configSchemaVersion: loaded ? CONFIG_SCHEMA_VERSION : null,
        },
        master: (argv, m) =>
          runXorriso(argv, {
            engine,
            sourceDateEpoch: sde,
            onProgress: m.onProgress,
            ...(m.signal ? { signal: m.signal } : {}),
          }),
        // A broken OS image stream found meanwhile refuses the ISO before it is kept.
        beforeCommit: async () => {
          await osTest;
        },
        onProgress: progress,
        ...sig,
      }),
    );
    const osImageCheck = await osTest;
    return {
      ...r,
      engine,
      stages,
      seconds: (performance.now() - t0) / 1000,
      missingTools: missing.map((t) => t.name),
      osImageCheck: { ...osImageCheck, summary: describeOsImageCheck(osImageCheck) },
      ...(secureBoot ? { secureBoot } : uki ? { secureBoot: uki.report } : {}),
      ...(noCdBoot ? { noCdBoot } : {}),
    };
  } catch (e) {
    if (o.signal?.aborted && !(e instanceof BuildError && e.code === 'CANCELLED')) {
      throw new BuildError('CANCELLED', `build of ${o.out} cancelled`, o.out);
    }
    throw e;
  } finally {
    o.signal?.removeEventListener('abort', stop);
    inner.abort();
    await rm(work, { recursive: true, force: true });
    await bk.cleanup();
  }
}

/** Stage 1, the cheap checks, so a typo never costs minutes: options, inputs, outputs, OS image, checksum, config, password. */
async function checkInputs(o: BuildJobOptions) {
  const sde =
    o.sourceDateEpoch !== undefined
      ? readSourceDateEpoch({ option: o.sourceDateEpoch }, BUILD_EPOCH)!
      : (readSourceDateEpoch({ env: process.env.SOURCE_DATE_EPOCH }, BUILD_EPOCH) ?? nowEpoch(BUILD_EPOCH));
  checkSourceDateEpoch(sde);
  const label = volumeLabel(o.label, sde);
  const cmdline = kernelCmdline(o.cmdline);
  const bootInputs = bootkitInputs(o);
  if (o.config !== undefined && o.siteConfig !== undefined)
    throw new UsageError('give a config file or the config values, not both');
  if (o.passwordFile !== undefined && o.password !== undefined)
    throw new UsageError('give a password file or a password, not both');
  if ((o.passwordFile || o.password !== undefined) && !o.config && !o.siteConfig)
    throw new UsageError('--password-file needs --config (the site config it belongs to)');
  for (const f of bootInputs) await checkInputFile(f, bootkitInput(f));
  if (o.osImageSha256) {
    const { size } = await checkInputFile(o.osImageSha256, 'sha256 file');
    if (size > MAX_SHA256_FILE)
      throw new BuildError(
        'BAD_SHA256_FILE',
        `sha256 file ${o.osImageSha256} is ${size} bytes: not a checksum file`,
        o.osImageSha256,
      );
  }
  const inputs = [o.osImage, o.bootkit, o.kernel, o.initramfs, o.config, o.osImageSha256, o.passwordFile];
  // Both files the build writes, the ISO and its checksum, are checked against every input.
  await checkNotAnInput([o.out, `${o.out}.sha256`], inputs);
  await checkOutput(o.out);
  const { size: osImageSize } = await checkOsImage(o.osImage);
  const osCodec = await checkOsImageEnds(o.osImage, osImageSize);
  const expectedSha = o.osImageSha256
    ? await readSha256File(o.osImageSha256, basename(o.osImage))
    : undefined;
  const loaded = o.config
    ? await loadConfigSource({ file: o.config })
    : o.siteConfig
      ? await loadConfigSource({ values: o.siteConfig })
      : undefined;
  const password =
    o.password !== undefined
      ? checkPassword(o.password, 'the password')
      : o.passwordFile
        ? await readPasswordFile(o.passwordFile)
        : loaded?.legacyPassword;
  const userAppFiles = o.userApps ? await listUserApps(o.userApps) : [];
  const scriptsDir = o.installerScripts ?? defaultInstallerScripts();
  // The scripts' command list, read (and a bad one refused) before the long work.
  const tools = requiredTools(scriptsDir);
  const loaders = bootLoaders();
  if (o.secureBoot !== undefined && !['off', 'shim', 'uki'].includes(o.secureBoot))
    throw new UsageError(`--secure-boot must be off, shim or uki, got '${String(o.secureBoot)}'`);
  if (o.trust !== undefined && o.secureBoot !== 'shim')
    throw new UsageError('--trust needs --secure-boot shim');
  if (o.secureBoot === 'uki' && (o.signKey === undefined || o.signCert === undefined))
    throw new UsageError(
      "--secure-boot uki needs --sign-key KEY and --sign-cert CERT (the organisation's db key)",
    );
  const shim = o.secureBoot === 'shim' ? shimLoaders() : undefined;
  const stub = o.secureBoot === 'uki' ? ukiStub() : undefined;
  const signing = await readSigning(o);
  let trust: ReturnType<typeof loadCertificate> | undefined;
  if (o.trust !== undefined) {
    await checkInputFile(o.trust, 'certificate');
    trust = loadCertificate(await readFile(o.trust), o.trust);
  }
  const engine = await resolveEngine(o.engine ?? 'auto');
  const xorriso = await xorrisoVersion(engine);

  return {
    osCodec,
    sde,
    label,
    cmdline,
    bootInputs,
    expectedSha,
    loaded,
    password,
    userAppFiles,
    scriptsDir,
    tools,
    loaders,
    shim,
    trust,
    signing,
    stub,
    engine,
    xorriso,
  };
}

/** The organisation's certificate (DER) beside shim, for MokManager's "Enroll key from disk". */
export const MOK_CERT_NAME = 'emt-mok.cer';

/** The shim chain's files beside shim (BOOTX64.EFI) on the ESP; the same paths on the ISO. */
function shimEspFiles(s: ShimLoaders, mokCert?: string): { path: string; data: string }[] {
  return [
    { path: 'EFI/BOOT/grubx64.efi', data: s.grub },
    { path: 'EFI/BOOT/mmx64.efi', data: s.mokManager },
    ...(mokCert ? [{ path: `EFI/BOOT/${MOK_CERT_NAME}`, data: mokCert }] : []),
    { path: 'EFI/debian/grub.cfg', data: s.grubCfg },
  ];
}

/** --sign-key/--sign-cert: the key (passphrase from its file) and certificate, checked to belong together. */
async function readSigning(o: BuildJobOptions) {
  if (o.signKey === undefined && o.signCert === undefined) {
    if (o.signKeyPassFile !== undefined) throw new UsageError('--sign-key-pass-file needs --sign-key');
    return undefined;
  }
  if (o.signKey === undefined || o.signCert === undefined)
    throw new UsageError('--sign-key and --sign-cert go together');
  if (o.secureBoot !== 'shim' && o.secureBoot !== 'uki')
    throw new UsageError('--sign-key needs --secure-boot shim or uki');
  await checkInputFile(o.signCert, 'certificate');
  await checkInputFile(o.signKey, 'signing key');
  const cert = loadCertificate(await readFile(o.signCert), o.signCert);
  let passphrase: string | undefined;
  if (o.signKeyPassFile !== undefined) {
    await checkInputFile(o.signKeyPassFile, 'passphrase file');
    // The first line; never logged or put in any message.
    passphrase = (await readFile(o.signKeyPassFile, 'utf8')).split(/\r?\n/)[0] ?? '';
  }
  const key = loadPrivateKey(await readFile(o.signKey), o.signKey, passphrase);
  if (!cert.checkPrivateKey(key))
    throw new UsageError(`signing key ${o.signKey} does not belong to certificate ${o.signCert}`);
  return { cert, key };
}

/**
 * The Secure Boot stage: with a key, the kernel is signed (work/vmlinuz), shim gains
 * our signature beside Microsoft's (so firmware whose db holds only the
 * organisation's key starts it) and the certificate goes beside shim for MokManager;
 * then the chain is checked, refusing a kernel it would not start.
 */
async function secureBootStage(
  shim: ShimLoaders,
  bootkitKernel: { path: string; name: string },
  work: string,
  signing: Awaited<ReturnType<typeof readSigning>>,
  trust: ReturnType<typeof loadCertificate> | undefined,
) {
  let kernel = bootkitKernel.path;
  let shimBinary = shim.shim;
  let mokCert: string | undefined;
  if (signing) {
    kernel = join(work, 'vmlinuz');
    shimBinary = join(work, 'BOOTX64.EFI');
    mokCert = join(work, MOK_CERT_NAME);
    const { cert, key } = signing;
    await writeFile(kernel, signPe(await readFile(bootkitKernel.path), cert, key, bootkitKernel.name));
    await writeFile(shimBinary, signPe(await readFile(shim.shim), cert, key, shim.shim, true));
    await writeFile(mokCert, cert.raw);
  }
  const report = await checkChain(
    { ...shim, shim: shimBinary },
    kernel,
    bootkitKernel.name,
    trust ?? signing?.cert,
  );
  return { kernel, shim: shimBinary, espFiles: shimEspFiles(shim, mokCert), report };
}

/**
 * --secure-boot uki: systemd's stub with the kernel, the injected initramfs, the
 * ISO's cmdline and an os-release as sections, signed with the organisation's key
 * (its own 'sign' stage, to show what signing costs). The certificate (DER) goes
 * beside it on the ESP, for enrolment in the firmware's db.
 */
async function ukiStage(
  stub: string,
  kernel: string,
  initrd: string,
  cmdline: string,
  label: string,
  toolVersion: string,
  work: string,
  signing: NonNullable<Awaited<ReturnType<typeof readSigning>>>,
  timed: <T>(stage: string, fn: () => Promise<T>) => Promise<T>,
) {
  const image = await timed('uki', async () => {
    const [stubBytes, kernelBytes, initrdBytes] = await Promise.all(
      [stub, kernel, initrd].map((f) => readFile(f)),
    );
    return buildUki(
      {
        stub: stubBytes!,
        kernel: kernelBytes!,
        initrd: initrdBytes!,
        cmdline,
        osRelease: ukiOsRelease(label, toolVersion),
      },
      stub,
    );
  });
  const signed = await timed('sign', async () => signPe(image, signing.cert, signing.key, 'UKI'));
  const path = join(work, 'BOOTX64.EFI');
  const cert = join(work, MOK_CERT_NAME);
  await writeFile(path, signed);
  await writeFile(cert, signing.cert.raw);
  const bin = efiReport('EFI/BOOT/BOOTX64.EFI', signed, signing.cert);
  const report: ChainReport = {
    mode: 'uki',
    binaries: [bin],
    kernelTrusted: bin.signatures.some((x) => x.valid && x.trusted === true),
  };
  return { path, espFiles: [{ path: `EFI/BOOT/${MOK_CERT_NAME}`, data: cert }], report };
}

/** The UKI's .osrel: what a boot menu (systemd-boot, firmware) shows for it. */
export function ukiOsRelease(label: string, toolVersion: string): string {
  return [
    'ID=emt-installer',
    'NAME="Edge Microvisor Toolkit installer"',
    `PRETTY_NAME="Edge Microvisor Toolkit installer ${label}"`,
    `VERSION_ID=${label}`,
    `IMAGE_VERSION=${toolVersion}`,
    '',
  ].join('\n');
}

/** Reads the chain's binaries and checks the kernel is signed by a key it trusts. */
async function checkChain(
  s: ShimLoaders,
  kernel: string,
  kernelName: string,
  trust: ReturnType<typeof loadCertificate> | undefined,
): Promise<ChainReport> {
  const [shimBytes, grubBytes, mmBytes, kernelBytes] = await Promise.all(
    [s.shim, s.grub, s.mokManager, kernel].map((f) => readFile(f)),
  );
  return checkShimChain({
    shim: { path: 'EFI/BOOT/BOOTX64.EFI', bytes: shimBytes! },
    grub: { path: 'EFI/BOOT/grubx64.efi', bytes: grubBytes! },
    mokManager: { path: 'EFI/BOOT/mmx64.efi', bytes: mmBytes! },
    kernel: { path: '/boot/vmlinuz', bytes: kernelBytes! },
    kernelSource: kernelName,
    ...(trust ? { trust } : {}),
  });
}

/** Stage 4: the tool check on the rootfs index the inject made; the tools missing (when allowed). */
function refuseMissingTools(
  index: RootfsIndex,
  tools: readonly RequiredTool[],
  bootInputs: string[],
  allow: boolean,
) {
  const missing = checkTools(index, tools).filter((t) => !t.found);
  if (missing.length > 0 && !allow) {
    const what = missing.map((t) => `${t.name} (no ${missingCommands(t).join(', ')})`).join(', ');
    throw new BuildError(
      'MISSING_TOOLS',
      `bootkit ${bootInputs.join(' + ')} lacks what the installer needs: ${what} (--allow-missing-tools builds anyway)`,
      bootInputs[0],
    );
  }
  return missing;
}

function bootkitInputs(o: BuildJobOptions): string[] {
  if (o.bootkit && o.initramfs) throw new UsageError('give --bootkit or --initramfs, not both');
  if (o.bootkit) return o.kernel ? [o.kernel, o.bootkit] : [o.bootkit];
  if (o.kernel && o.initramfs) return [o.kernel, o.initramfs];
  throw new UsageError('give --bootkit <tar.gz>, or --kernel F and --initramfs F');
}

async function resolveEngine(choice: EngineChoice): Promise<XorrisoEngine> {
  if (choice === 'auto') return (await findNative()) ? 'native' : 'wasm';
  if (choice !== 'native' && choice !== 'wasm') {
    throw new UsageError(`--engine must be auto, wasm or native, got '${String(choice)}'`);
  }
  return choice;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function hashAll(paths: string[], opts: { signal?: AbortSignal }): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) h.update((await sha256File(p, opts)).sha256);
  return h.digest('hex');
}

/**
 * Hash of installer-scripts as the injector takes it: names, modes and contents,
 * sorted; README.md and tests/ at the top are not injected, so they do not count.
 */
async function hashTree(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (r === 'README.md' || r === 'tests') continue;
      const st = await lstat(join(dir, r));
      h.update(`${r}\0${st.mode}\0`);
      if (st.isDirectory()) await walk(r);
      else if (st.isSymbolicLink()) h.update(await readlink(join(dir, r)));
      else h.update(await readFile(join(dir, r)));
    }
  };
  try {
    await walk('');
  } catch (e) {
    throw new BuildError(
      'INPUT_MISSING',
      `installer scripts ${dir} cannot be read: ${(e as Error).message}`,
      dir,
    );
  }
  return h.digest('hex');
}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export const ENGINE_CHOICES = ['auto', 'wasm', 'native'] as const;

export function parseBuild(raw: unknown): BuildRequest {
  const r = RequestReader.of('build', raw);
  const o: BuildRequest = { osImage: r.path('osImage'), out: r.path('out') };
  for (const k of [
    'bootkit',
    'bootkitOs',
    'kernel',
    'initramfs',
    'osImageSha256',
    'config',
    'passwordFile',
    'userApps',
    'installerScripts',
  ] as const) {
    const v = r.optPath(k);
    if (v !== undefined) o[k] = v;
  }
  for (const k of ['label', 'cmdline', 'password'] as const) {
    const v = r.optString(k);
    if (v !== undefined) o[k] = v;
  }
  const siteConfig = r.optJsonObject('siteConfig');
  if (siteConfig) o.siteConfig = siteConfig;
  const engine = r.optEnum('engine', ENGINE_CHOICES);
  if (engine) o.engine = engine;
  const rootfs = r.optEnum('rootfs', ROOTFS_MODES);
  if (rootfs) o.rootfs = rootfs;
  const sde = r.optInteger('sourceDateEpoch');
  if (sde !== undefined)
    o.sourceDateEpoch = readSourceDateEpoch({ option: sde }, BUILD_EPOCH, 'sourceDateEpoch');
  if (r.has('bios')) o.bios = r.bool('bios', false);
  if (r.has('allowMissingTools')) o.allowMissingTools = r.bool('allowMissingTools', false);
  const secureBoot = r.optEnum('secureBoot', ['off', 'shim', 'uki'] as const);
  if (secureBoot) o.secureBoot = secureBoot;
  for (const k of ['trust', 'signKey', 'signCert', 'signKeyPassFile'] as const) {
    const v = r.optPath(k);
    if (v !== undefined) o[k] = v;
  }
  r.done();
  if (o.password !== undefined) checkPassword(o.password, 'build: password');
  return o;
}

/** The build job in the one job shape. */
export async function build(o: BuildRequest, ctx: JobContext<ProgressValue>): Promise<BuildResult> {
  const { rootfs, bootkitOs, ...rest } = o;
  return cancellable(ctx.signal, `build of ${o.out}`, async () => {
    if (!bootkitOs)
      return buildInstaller({
        ...rest,
        ...(rootfs ? { rootfsMode: rootfs } : {}),
        onProgress: ctx.onProgress,
        signal: ctx.signal,
      });
    // From the Bootkit OS build output: derive the bootkit beside --out first (same
    // file system, removed at the end), then build from its kernel + initramfs.
    if (o.bootkit || o.kernel || o.initramfs)
      throw new UsageError('give --bootkit-os, or --bootkit / --kernel + --initramfs, not both');
    await checkNotAnInput([o.out, `${o.out}.sha256`], [bootkitOs]);
    await checkOutput(o.out);
    const dir = tempBeside(o.out, 'bootkit');
    try {
      const kit = await bootkit({ from: bootkitOs, out: dir }, ctx);
      const r = await buildInstaller({
        ...rest,
        kernel: kit.kernel,
        initramfs: kit.initramfs,
        bootkitSource: basename(bootkitOs),
        ...(rootfs ? { rootfsMode: rootfs } : {}),
        onProgress: ctx.onProgress,
        signal: ctx.signal,
      });
      return {
        ...r,
        stages: [{ stage: 'bootkit', seconds: kit.seconds }, ...r.stages],
        seconds: r.seconds + kit.seconds,
        derivedBootkit: { from: bootkitOs, kernelVersion: kit.kernelVersion, integrity: kit.integrity },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
