// The typed contract between the renderer, the preload bridge (or the UI test
// bridge) and the main process. Plain data only: no Node, no Electron, so the
// renderer imports it too (types from node-free modules only).
//
// Contract
// - Every job has a name (`JobName`), a request (`JobRequests[J]`), a result
//   (`JobResults[J]`) and a progress event type (`JobProgress[J]`).
// - `window.emt.run(job, request, { jobId, onProgress })` starts a job and
//   resolves when it ends with `{ result }` or `{ error }` (never rejects for a
//   job's failure: errors cross IPC as values, Electron drops a thrown error's
//   fields). The caller may name the job id (unique per window) to cancel it
//   before the promise settles; else one is made and given to `onStart`.
// - `window.emt.cancel(jobId)` aborts the job's signal; the job then ends with
//   `{ error: { code: 'CANCELLED', ... } }` after removing its temp files.
// - Progress is pushed per job id (`ProgressMessage`), at most ~10 a second.
// - Requests are validated at run time by the job registry
//   (electron/jobs/registry.ts `jobs[name].parse`), which main and the UI test
//   bridge both call: a malformed request ends as `{ error: { code: 'BAD_REQUEST' } }`.
// - App services (dialogs, drag and drop paths, show in folder, the app log)
//   are methods of the same bridge; the test bridge answers them without a GUI.

// The preview report's types live beside its engine (node-free, type-only here).
import type { PreviewChange, PreviewReport } from './preview/report.ts';

export const API_VERSION = 2;

// ---------------------------------------------------------------- values

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Where an error comes from; `cancelled` and `internal` are not the input's fault. */
export type ErrorArea =
  | 'usage'
  | 'bootkit'
  | 'initramfs'
  | 'iso'
  | 'config'
  | 'flash'
  | 'io'
  | 'cancelled'
  | 'internal';

/** One config problem: field path, message, 1-based line when known. */
export interface ConfigIssueValue {
  path: (string | number)[];
  message: string;
  line?: number;
}

/** An error as it crosses IPC, the test bridge and `--json` output. */
export interface ErrorValue {
  area: ErrorArea;
  /** Stable code, e.g. BAD_REQUEST, CANCELLED, INTERNAL, NOT_YET, INPUT_MISSING, REFUSED. */
  code: string;
  /** One line for a person, control characters escaped. */
  message: string;
  /** The file the problem is about, or null. */
  file: string | null;
  /** Config errors: every problem at its field (for inline messages). */
  issues?: ConfigIssueValue[];
  /** Internal errors: where the stack went. */
  log?: string;
}

export interface ErrorReply {
  error: ErrorValue;
}

// ---------------------------------------------------------------- progress

/** One progress event; the same stream feeds the CLI bar, --json lines and the UI. */
export interface ProgressValue {
  /** Stage name, e.g. 'open', 'inject', 'verify', 'master', 'write'. */
  stage: string;
  done: number;
  total: number | null;
  bytesPerSecond?: number;
  unit?: 'bytes' | 'files' | 'steps';
  detail?: string;
}

export type FlashPhase = 'prepare' | 'unmount' | 'wipe' | 'write' | 'verify';

/** Flash and verify progress: per device, with an ETA. */
export interface FlashProgressValue extends ProgressValue {
  stage: FlashPhase;
  device: string;
  etaSeconds: number | null;
}

// ---------------------------------------------------------------- shared parts

export type Codec = 'none' | 'gzip' | 'zstd' | 'xz' | 'lz4' | 'bzip2' | 'lzma';
export type OutputCodec = 'none' | 'gzip' | 'zstd' | 'xz';
export type InjectMode = 'fast' | 'segment' | 'single';
/** How the new rootfs.tar.gz is made: keep the old compressed bytes (splice) or gzip it whole. */
export type RootfsMode = 'splice' | 'recompress';
export type EngineChoice = 'auto' | 'wasm' | 'native';
export type ConfigFormat = 'legacy' | 'yaml' | 'json';

/** A site config: the schema's fields (electron/config/schema.ts SiteConfig), as plain JSON. */
export interface SiteConfigValue {
  schema_version: number;
  http_proxy?: string;
  https_proxy?: string;
  no_proxy?: string;
  HTTP_PROXY?: string;
  HTTPS_PROXY?: string;
  NO_PROXY?: string;
  ssh_key?: string;
  user_name: string;
  host_type: 'kubernetes' | 'container';
  hostname?: string;
  static_ip?: string;
  subnet_mask?: number;
  default_gate_way?: string;
  dns_name_server: string[];
  lvm_size_ingb: number;
  huge_page_config?: number;
  USER_CUSTOM_NTP_SERVERS: string[];
  services: { enable: string[]; disable: string[] };
  write_files: { path: string; permissions: string; content: string }[];
  runcmd: string[];
  target_disk?: { serial?: string; path?: string };
  after_install: 'reboot' | 'poweroff';
  sticks: StickOverrideValue[];
}

export interface StickOverrideValue {
  name?: string;
  hostname?: string;
  static_ip?: string;
  subnet_mask?: number;
  default_gate_way?: string;
  dns_name_server?: string[];
  target_disk?: { serial?: string; path?: string };
}

/**
 * Where a site config comes from: a file (JSON, YAML or today's config-file),
 * a text in one of those formats, or the form's values as a JSON object.
 */
export type ConfigSource = { file: string } | { text: string; name?: string } | { values: JsonObject };

// ---------------------------------------------------------------- inspect

export interface InspectRequest {
  /** A bootkit tar.gz, an initramfs, or a vmlinuz + initramfs pair. */
  inputs: string[];
}

export interface ToolCommandValue {
  command: string;
  found: boolean;
  /** The installer has a fallback: a missing one is reported, never refused. */
  optional: boolean;
  path: string | null;
  resolved: string | null;
}

export interface ToolValue {
  /** The package, e.g. "net-tools". */
  name: string;
  package: string;
  found: boolean;
  path: string | null;
  resolved: string | null;
  commands: ToolCommandValue[];
}

export interface InspectResult {
  source: { kind: 'tarball' | 'pair' | 'initramfs'; inputs: string[] };
  kernel: {
    version: string | null;
    versionString: string | null;
    protocol: string | null;
    file: string | null;
  };
  /** The kernel's Authenticode signature, when a kernel is given. */
  kernelSignature?: {
    efi: boolean;
    signed: boolean;
    signatures: { subject: string; issuer: string; certSha256: string; valid: boolean }[];
  };
  initramfs: {
    file: string;
    size: number;
    segments: {
      index: number;
      offset: number;
      length: number;
      codec: Codec;
      entries: number;
      size: number;
      rootfs: boolean;
    }[];
  };
  rootfs: {
    present: boolean;
    size: number | null;
    segment: number | null;
    entries: number | null;
    tarSize: number | null;
  };
  tools: ToolValue[];
  missingTools: string[];
  missingCommands: string[];
}

// ---------------------------------------------------------------- inject

export interface InjectRequest {
  /** Bootkit tar.gz or an initramfs. */
  bootkit: string;
  /** The kernel, only checked (vmlinuz + initramfs given apart). */
  kernel?: string;
  installerScripts: string;
  out: string;
  mode?: InjectMode;
  codec?: OutputCodec;
  rootfs?: RootfsMode;
  /** Default: $SOURCE_DATE_EPOCH, else 0. */
  sourceDateEpoch?: number;
}

export interface InjectResult {
  out: string;
  mode: InjectMode;
  size: number;
  sha256: string;
  input: {
    file: string;
    size: number;
    segments: {
      index: number;
      offset: number;
      length: number;
      codec: Codec;
      entries: number;
      uncompressedSize: number;
      rootfs: { dataOffset: number; size: number; entryOffset: number } | null;
    }[];
  };
  segments: {
    offset: number;
    length: number;
    codec: Codec;
    source: 'kept' | 'reencoded' | 'merged' | 'rootfs';
    fromInput: number[];
  }[];
  rootfs: {
    size: number;
    sha256?: string;
    entriesAdded: string[];
    mode: RootfsMode;
    oldEntries: number;
    tarSize: number;
    keptBytes?: number;
    note?: string;
    oldSize: number;
  };
  note?: string;
  seconds: number;
}

// ---------------------------------------------------------------- build

export interface BuildRequest {
  /** Bootkit tar.gz (or an initramfs, with `kernel`). */
  bootkit?: string;
  /** Or the Bootkit OS build output (emt-bootkit.tar.gz): the bootkit is derived first. */
  bootkitOs?: string;
  kernel?: string;
  initramfs?: string;
  osImage: string;
  /** sha256sum-style file for the OS image. */
  osImageSha256?: string;
  /** Site config: a file path, or the form's values (give one). */
  config?: string;
  siteConfig?: JsonObject;
  /** The user's password: a file (first line) or typed (never stored; only its hash goes in). */
  passwordFile?: string;
  password?: string;
  userApps?: string;
  installerScripts?: string;
  engine?: EngineChoice;
  bios?: boolean;
  label?: string;
  /** Extra kernel parameters. */
  cmdline?: string;
  sourceDateEpoch?: number;
  out: string;
  allowMissingTools?: boolean;
  rootfs?: RootfsMode;
  /** 'shim': Microsoft-signed shim + Debian-signed GRUB on the ESP; the kernel must be signed.
   * 'uki': one UKI (kernel + initramfs + cmdline) signed with signKey as BOOTX64.EFI. Default off. */
  secureBoot?: SecureBootMode;
  /** A certificate (PEM or DER) to check the chain against, e.g. a key enrolled as a MOK. */
  trust?: string;
  /** Organisation key (PEM, RSA) + certificate: the kernel is signed in-process, the cert put on the ESP. */
  signKey?: string;
  signCert?: string;
  signKeyPassFile?: string;
}

export type SecureBootMode = 'off' | 'shim' | 'uki';

/** The Secure Boot state of a build's boot chain (build --secure-boot). */
export interface SecureBootReportValue {
  mode: 'shim' | 'uki' | 'none';
  binaries: {
    path: string;
    signed: boolean;
    signatures: { subject: string; issuer: string; certSha256: string; valid: boolean; trusted?: boolean }[];
    sbat: {
      component: string;
      generation: number;
      vendor: string;
      package: string;
      version: string;
      url: string;
    }[];
  }[];
  shimVendor?: { subject: string; sha256: string };
  kernelTrusted?: boolean;
  trustCert?: { subject: string; sha256: string; verifies: boolean };
}

export interface ManifestFileValue {
  path: string;
  size: number;
  sha256: string;
}

export interface BuildManifestValue {
  schema: number;
  buildId: string;
  label: string;
  sourceDateEpoch: number;
  createdAt: string;
  tool: { name: string; version: string };
  xorriso: string;
  bootkit: { source: string; sha256: string; kernelVersion: string | null };
  kernelCmdline: string;
  configSchemaVersion: number | null;
  bios: boolean;
  secureBoot?: 'shim' | 'uki';
  /** Only when UEFI CD boot is not offered (a UKI too big for El Torito): false. */
  cdBoot?: false;
  osImage: ManifestFileValue;
  partitions: { esp: { size: number; sha256: string }; config: { size: number; sha256: string } };
  files: ManifestFileValue[];
}

export interface BuildResult {
  iso: string;
  sha256: string;
  size: number;
  sha256File: string;
  engine: 'wasm' | 'native';
  /** Wall-clock seconds per stage, in order. */
  stages: { stage: string; seconds: number }[];
  seconds: number;
  missingTools: string[];
  manifest: BuildManifestValue;
  /** With `bootkitOs`: the bootkit derived first. */
  derivedBootkit?: { from: string; kernelVersion: string; integrity: string };
  /** What was checked of the OS image's content (header and trailer, or the whole stream). */
  osImageCheck: OsImageCheckValue;
  /** Only with --secure-boot. */
  secureBoot?: SecureBootReportValue;
  /** Only when the ISO does not boot as a UEFI CD (a UKI ESP over El Torito's 32 MiB): the line saying so. */
  noCdBoot?: string;
}

export interface OsImageCheckValue {
  codec: 'gzip' | 'xz' | 'zstd' | 'raw';
  /** A checksum was given (and matched). */
  checksum: boolean;
  /** 'ends': header and trailer; 'stream': the whole stream decompressed. */
  mode: 'ends' | 'stream';
  rawBytes?: number;
  /** One line saying which, for the build output. */
  summary: string;
}

// ---------------------------------------------------------------- os image

export interface OsImageRequest {
  path: string;
}

export interface OsImageResult {
  path: string;
  size: number;
  /** The `.sha256` / `.sha256sum` found beside it, or null. */
  checksumFile: string | null;
  /** The hash that file gives for this image, or null. */
  expectedSha256: string | null;
}

// ---------------------------------------------------------------- drives

export interface DrivesRequest {
  /** The user's explicit "show all drives": fixed, non-USB drives become allowed. */
  showAll: boolean;
  /** Judge sizes against this image. */
  image?: string;
}

export interface DriveValue {
  kind: 'drive' | 'loop' | 'file';
  device: string;
  rawDevice: string;
  description: string;
  size: number | null;
  isSystem: boolean;
  isVirtual: boolean;
  isReadOnly: boolean;
  isRemovable: boolean;
  isUSB: boolean;
  busType: string;
  mountpoints: string[];
  partitions: string | null;
  backingFile?: string;
}

export interface ReasonValue {
  code: string;
  message: string;
}

export type DriveVerdictValue =
  | { device: string; allowed: true; needsConfirmation?: ReasonValue }
  | { device: string; allowed: false; reason: ReasonValue; reasons: ReasonValue[] };

export interface DrivesResult {
  /** Every drive with its verdict; refused ones carry their reasons (the UI greys them). */
  drives: { drive: DriveValue; verdict: DriveVerdictValue }[];
}

// ---------------------------------------------------------------- flash / verify

export interface FlashTarget {
  /** A listed drive, a loop device, or an image file path. */
  device: string;
  /** Per-stick values (need a site config). */
  stick?: string;
  hostname?: string;
  /** A.B.C.D/PREFIX */
  staticIp?: string;
  gateway?: string;
  dns?: string[];
}

export interface FlashRequest {
  image: string;
  targets: FlashTarget[];
  config?: string;
  siteConfig?: JsonObject;
  passwordFile?: string;
  password?: string;
  /** A ready EMTCONFIG image for every stick instead of a config. */
  configImage?: string;
  verify: boolean;
  /** The user confirmed every target (loop devices, image files, large drives). */
  yes: boolean;
  showAll: boolean;
  logDir?: string;
}

export type TargetStatus = 'ok' | 'refused' | 'failed' | 'cancelled' | 'mismatch';

export interface TargetResultValue {
  device: string;
  status: TargetStatus;
  imageSize: number;
  bytesWritten: number;
  sha256: string | null;
  verified: boolean | null;
  readBackSha256?: string;
  firstDifference?: number;
  error?: { code: string; message: string };
  seconds: number;
  message: string;
}

export interface FlashResult {
  results: TargetResultValue[];
  logFile: string;
  /** Per-stick EMTCONFIG images made from the config, in target order. */
  stickConfigs: { device: string; serial: string; override?: StickOverrideValue }[];
}

export interface VerifyRequest {
  image: string;
  device: string;
  configImage?: string;
}

export type VerifyResult = TargetResultValue;

// ---------------------------------------------------------------- config

export type ConfigCheckRequest = ConfigSource;

export interface ConfigCheckResult {
  valid: boolean;
  /** 'values' when the form's values were checked. */
  format: ConfigFormat | 'values';
  /** Every problem at its field (empty when valid). */
  issues: ConfigIssueValue[];
  config: SiteConfigValue | null;
  /** One line: what the config sets up (null when invalid). */
  summary: string | null;
  /** An old config-file's plaintext passwd= line was found (never copied). */
  plaintextPassword: boolean;
}

export type ConfigConvertRequest = ConfigSource & {
  to: ConfigFormat;
  /** Write there (temp file + rename); else only return the text. */
  out?: string;
};

export interface ConfigConvertResult {
  to: ConfigFormat;
  text: string;
  out: string | null;
  plaintextPasswordDropped: boolean;
}

// ---------------------------------------------------------------- bootkit (from the Bootkit OS build)

export interface BootkitRequest {
  /** The Bootkit OS build output: emt-bootkit.tar.gz (the root file system with /boot). */
  from: string;
  /** Output folder (made when missing; its parent must exist). */
  out: string;
  /** Which /boot/vmlinuz-<version> when there are several. */
  kernelVersion?: string;
  /** rootfs.tar.gz without /boot: saves the node's RAM, costs a decode + gzip of the tarball. */
  dropBoot?: boolean;
  /** Also write emb_uos_x86_64_<packTag>.tar.gz, as published. */
  pack?: boolean;
  /** Tag in the packed file's name (default: the kernel version). */
  packTag?: string;
  /** Decode the whole tarball during the scan (proves its gzip stream is whole). */
  checkWhole?: boolean;
  /** sha256 the tarball must have (hex); checked on the bytes copied. */
  sha256?: string;
  /** Default: $SOURCE_DATE_EPOCH, else 0. */
  sourceDateEpoch?: number;
}

export interface BootkitResult {
  kernelVersion: string;
  kernelVersionString: string;
  kernel: string;
  initramfs: string;
  initramfsSize: number;
  dracutSegments: number;
  rootfsSegmentOffset: number;
  /** sha256 of rootfs.tar.gz: only computed with `sha256` or `dropBoot` (else null). */
  rootfs: { source: 'tarball' | 'without-boot'; size: number; sha256: string | null; droppedEntries: number };
  pack: string | null;
  scan: { readWhole: boolean; bytesScanned: number; tarballSize: number; kernels: string[] };
  /** How the tarball's integrity was established, in one line. */
  integrity: string;
  seconds: number;
}

// ---------------------------------------------------------------- preview

export type { PreviewChange, PreviewReport } from './preview/report.ts';

export interface PreviewRequest {
  /** An ISO, a stick image, or a block device. */
  input: string;
  /** Hash every payload the manifest lists against the content (reads them whole). */
  verify?: boolean;
}

/** What the image holds: manifest, boot setup, partitions, tree, grub.cfg, initramfs, masked config. */
export type PreviewResult = PreviewReport;

export interface PreviewDiffRequest {
  input: string;
  against: string;
}

export interface PreviewDiffResult {
  a: string;
  b: string;
  /** Each with `kind` and `path` (files) or `key` (settings); secrets carry no values. */
  changes: PreviewChange[];
}

export interface PreviewVmRequest {
  input: string;
  /** SeaBIOS instead of OVMF. */
  bios?: boolean;
  /** Attach the image as a CD instead of a USB stick. */
  cdrom?: boolean;
  /** Size of the blank NVMe target disk in GiB (default 16). */
  diskSizeGiB?: number;
  /** Keep the target disk and OVMF variables. */
  keep?: boolean;
}

export interface PreviewVmResult {
  accel: 'kvm' | 'tcg';
  firmware: 'ovmf' | 'seabios';
  command: string[];
  workDir: string | null;
  exitCode: number | null;
  stoppedBy: 'exit' | 'cancel' | 'timeout';
}

// ---------------------------------------------------------------- the job map

export interface JobRequests {
  inspect: InspectRequest;
  inject: InjectRequest;
  bootkit: BootkitRequest;
  build: BuildRequest;
  'os-image': OsImageRequest;
  drives: DrivesRequest;
  flash: FlashRequest;
  verify: VerifyRequest;
  'config-check': ConfigCheckRequest;
  'config-convert': ConfigConvertRequest;
  preview: PreviewRequest;
  'preview-diff': PreviewDiffRequest;
  'preview-vm': PreviewVmRequest;
}

export interface JobResults {
  inspect: InspectResult;
  inject: InjectResult;
  bootkit: BootkitResult;
  build: BuildResult;
  'os-image': OsImageResult;
  drives: DrivesResult;
  flash: FlashResult;
  verify: VerifyResult;
  'config-check': ConfigCheckResult;
  'config-convert': ConfigConvertResult;
  preview: PreviewResult;
  'preview-diff': PreviewDiffResult;
  'preview-vm': PreviewVmResult;
}

export interface JobProgress {
  inspect: ProgressValue;
  inject: ProgressValue;
  bootkit: ProgressValue;
  build: ProgressValue;
  'os-image': ProgressValue;
  drives: ProgressValue;
  flash: FlashProgressValue;
  verify: FlashProgressValue;
  'config-check': ProgressValue;
  'config-convert': ProgressValue;
  preview: ProgressValue;
  'preview-diff': ProgressValue;
  /** stage 'serial': `detail` is console output; stage 'vm': one line about the VM. */
  'preview-vm': ProgressValue;
}

export type JobName = keyof JobRequests;

export const JOB_NAMES: readonly JobName[] = [
  'inspect',
  'inject',
  'bootkit',
  'build',
  'os-image',
  'drives',
  'flash',
  'verify',
  'config-check',
  'config-convert',
  'preview',
  'preview-diff',
  'preview-vm',
];

export const isJobName = (v: unknown): v is JobName =>
  typeof v === 'string' && (JOB_NAMES as readonly string[]).includes(v);

export type JobReply<J extends JobName> = { result: JobResults[J] } | ErrorReply;

export interface ProgressMessage<J extends JobName = JobName> {
  jobId: string;
  job: J;
  event: JobProgress[J];
}

// ---------------------------------------------------------------- the bridge

export interface FileFilter {
  name: string;
  extensions: string[];
}

export interface OpenFileOptions {
  title?: string;
  filters?: FileFilter[];
  /** Choose a folder instead of a file (user-apps, installer scripts). */
  directory?: boolean;
  multiple?: boolean;
  defaultPath?: string;
}

export interface SaveFileOptions {
  title?: string;
  filters?: FileFilter[];
  defaultPath?: string;
}

export interface RunOptions<J extends JobName> {
  /** Unique per window; made by the bridge when not given. */
  jobId?: string;
  onStart?: (jobId: string) => void;
  onProgress?: (event: JobProgress[J]) => void;
}

/** What the preload script (and the UI test bridge) exposes as `window.emt`. */
export interface EmtBridge {
  apiVersion: number;
  run<J extends JobName>(job: J, request: JobRequests[J], options?: RunOptions<J>): Promise<JobReply<J>>;
  /** Aborts a running job; unknown or finished ids are ignored. */
  cancel(jobId: string): Promise<void>;
  /** Native open dialog: the chosen paths, or null when cancelled. */
  openFile(options: OpenFileOptions): Promise<string[] | null>;
  /** Native save dialog: the chosen path, or null when cancelled. */
  saveFile(options: SaveFileOptions): Promise<string | null>;
  /** The local path of a dropped file ('' when it has none). */
  pathForFile(file: File): string;
  showInFolder(path: string): Promise<void>;
  /** Opens the app log in the system's viewer; resolves with its path. */
  openLog(): Promise<string>;
}

// ---------------------------------------------------------------- IPC wire (main <-> preload)

export const Channels = {
  run: 'emt:run',
  cancel: 'emt:cancel',
  progress: 'emt:progress',
  openFile: 'emt:open-file',
  saveFile: 'emt:save-file',
  showInFolder: 'emt:show-in-folder',
  openLog: 'emt:open-log',
} as const;
export type Channel = (typeof Channels)[keyof typeof Channels];

/** What `emt:run` carries; `request` is checked by the registry, the rest here. */
export interface RunCall {
  job: JobName;
  jobId: string;
  request: unknown;
}

export const badRequest = (message: string): ErrorReply => ({
  error: { area: 'usage', code: 'BAD_REQUEST', message, file: null },
});

const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks the envelope of a run call from the (untrusted) renderer. */
export function parseRunCall(v: unknown): RunCall | ErrorReply {
  if (typeof v !== 'object' || v === null) return badRequest('run: the call must be an object');
  const o = v as Record<string, unknown>;
  if (!isJobName(o.job)) return badRequest(`run: unknown job ${JSON.stringify(String(o.job)).slice(0, 80)}`);
  if (typeof o.jobId !== 'string' || !JOB_ID.test(o.jobId))
    return badRequest('run: jobId must be 1-64 of A-Z a-z 0-9 _ -');
  return { job: o.job, jobId: o.jobId, request: o.request };
}

export const parseJobId = (v: unknown): string | null => (typeof v === 'string' && JOB_ID.test(v) ? v : null);

function strOpt(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' && v.length <= 4096 ? v : undefined;
}

function filtersOf(v: unknown): FileFilter[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v
    .filter(
      (f): f is FileFilter =>
        typeof f === 'object' &&
        f !== null &&
        typeof (f as FileFilter).name === 'string' &&
        Array.isArray((f as FileFilter).extensions) &&
        (f as FileFilter).extensions.every((e) => typeof e === 'string' && /^[A-Za-z0-9.*_-]{1,20}$/.test(e)),
    )
    .slice(0, 20);
}

/** Dialog options from the renderer, reduced to what we pass on. */
export function parseOpenFileOptions(v: unknown): OpenFileOptions {
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  const title = strOpt(o, 'title');
  const defaultPath = strOpt(o, 'defaultPath');
  const filters = filtersOf(o.filters);
  return {
    ...(title !== undefined ? { title } : {}),
    ...(defaultPath !== undefined ? { defaultPath } : {}),
    ...(filters ? { filters } : {}),
    ...(o.directory === true ? { directory: true } : {}),
    ...(o.multiple === true ? { multiple: true } : {}),
  };
}

export function parseSaveFileOptions(v: unknown): SaveFileOptions {
  const { title, defaultPath, filters } = parseOpenFileOptions(v);
  return {
    ...(title !== undefined ? { title } : {}),
    ...(defaultPath !== undefined ? { defaultPath } : {}),
    ...(filters ? { filters } : {}),
  };
}
