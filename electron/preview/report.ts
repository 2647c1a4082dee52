// The preview's result types, node-free (electron/api.ts re-exports them for the
// renderer). Field names here are a contract: scripts read them from --json.
export type BootPlatform = 'bios' | 'uefi' | 'ppc' | 'mac' | 'unknown';
export type Emulation = 'none' | 'floppy-1.2M' | 'floppy-1.44M' | 'floppy-2.88M' | 'hard-disk';

export interface BootEntry {
  platform: BootPlatform;
  /** Platform id byte as stored (0 x86, 0xEF EFI). */
  platformId: number;
  bootable: boolean;
  emulation: Emulation;
  /** Image location (2048-byte sector) and its byte offset. */
  lba: number;
  offset: number;
  /** Sector count as stored (512-byte units); 0 or 1 often means "see the image". */
  sectorCount: number;
  /** Image size in bytes: the partition or file it points at when known, else sectorCount * 512. */
  size: number;
  /** ISO path ("/boot/grub/i386-pc/eltorito.img") or partition ("partition 2") the image is. */
  image: string | null;
}

export interface Partition {
  table: 'gpt' | 'mbr';
  number: number;
  name: string;
  /** GUID for GPT, the type byte (hex) for MBR. */
  type: string;
  /** What the type means, e.g. "EFI System", "Basic data". */
  typeName: string;
  offset: number;
  size: number;
  /** First and last 512-byte sector. */
  firstLba: number;
  lastLba: number;
  /** FAT type and label, when the partition holds a FAT file system. */
  filesystem: { type: string; label: string | null } | null;
}

export interface MbrPartition {
  number: number;
  /** Type byte in hex, e.g. "ee" (protective), "ef" (EFI), "83". */
  type: string;
  bootable: boolean;
  offset: number;
  size: number;
}

export interface GrubEntry {
  title: string;
  /** Submenu titles leading to it, outermost first. */
  path: string[];
  kernel: string | null;
  initrd: string[];
  /** The kernel's arguments after expansion. */
  cmdline: string;
}

export interface GrubConfig {
  /** Where the file is: an ISO path, or "esp:" + a path in the EFI image. */
  file: string;
  entries: GrubEntry[];
  /** configfile / source targets it hands over to. */
  includes: string[];
  /** Variables at the end of the file (timeout, default, ...). */
  vars: Record<string, string>;
}

export interface EfiBinary {
  /** ISO path, or "esp:" + a path in the EFI image. */
  path: string;
  size: number;
  /** PE machine, e.g. "x86_64", "aa64", "ia32". */
  machine: string | null;
  signed: boolean;
  /** SBAT components, e.g. ["shim"] or ["grub", "grub.debian"]. */
  sbat: string[];
  role: 'shim' | 'grub' | 'mokmanager' | 'systemd-boot' | 'uki' | 'kernel' | 'other';
}

export interface InstallerFile {
  /** Absolute path in the installer OS, e.g. "/opt/emt-installer/install.sh". */
  path: string;
  type: 'file' | 'symlink';
  size: number;
  mode: number;
  /** sha256 of the content (files), of the link target (symlinks). */
  sha256: string;
  linkname?: string;
}

export type ConfigValue = string | string[];

export interface ConfigView {
  /** Where it was read: the EMTCONFIG partition, a legacy config-file, or nowhere. */
  source: 'EMTCONFIG' | 'config-file' | null;
  /** "partition N", or the installer OS path of the config-file. */
  location: string | null;
  /** Every key; secrets as "(masked)" or an SSH key fingerprint. */
  values: Record<string, ConfigValue>;
  /** Keys whose value is masked. */
  secrets: string[];
  files: { path: string; size: number }[];
}

export interface PreviewTool {
  name: string;
  found: boolean;
  commands: { command: string; found: boolean; path: string | null }[];
}

export interface VerifyOutcome {
  ok: boolean;
  checked: number;
  /** One per manifest payload and partition hash. */
  results: { path: string; ok: boolean; expected: string; actual: string | null; problem: string | null }[];
}

export interface PreviewReport {
  input: { path: string; size: number; kind: 'file' | 'device' };
  /** ISO 9660 volume, or null when the image holds none. */
  volume: {
    id: string;
    size: number;
    application: string;
    preparer: string;
    names: 'rockridge' | 'joliet' | 'iso9660';
  } | null;
  /** Built by emt-usb (a manifest at /emt-installer.json). */
  ours: boolean;
  manifest: Record<string, unknown> | null;
  boot: {
    entries: BootEntry[];
    catalog: string | null;
    /** The image is an ISO and a partitioned disk at once (boots as CD and as stick). */
    hybrid: boolean;
    bios: { cd: boolean; usb: boolean };
    uefi: { cd: boolean; usb: boolean };
    secureBoot: { chain: boolean; shim: string | null; signed: string[]; note: string };
    efiBinaries: EfiBinary[];
  };
  mbr: { present: boolean; bootCode: boolean; diskSignature: string | null; partitions: MbrPartition[] };
  gpt: { present: boolean; diskGuid: string | null };
  partitions: Partition[];
  esp: {
    location: string;
    fat: string;
    label: string | null;
    files: { path: string; size: number }[];
  } | null;
  grub: GrubConfig[];
  kernel: {
    path: string | null;
    version: string | null;
    versionString: string | null;
    protocol: string | null;
    /** The bzImage's EFI stub carries an Authenticode signature (what shim checks under Secure Boot). */
    signed: boolean;
  };
  initramfs: {
    path: string | null;
    size: number;
    segments: {
      index: number;
      offset: number;
      length: number;
      codec: string;
      entries: number;
      size: number;
      rootfs: boolean;
    }[];
    rootfs: {
      present: boolean;
      size: number | null;
      segment: number | null;
      entries: number | null;
      tarSize: number | null;
    };
  };
  installer: { kind: 'emt' | 'legacy' | null; files: InstallerFile[]; unit: InstallerFile | null };
  tools: PreviewTool[];
  missingTools: string[];
  missingCommands: string[];
  config: ConfigView;
  files: { path: string; size: number }[];
  verify: VerifyOutcome | null;
  /** Bytes read from the input (directory extents, headers, small files, the initramfs). */
  bytesRead: number;
  /** What could not be read, each a sentence. */
  warnings: string[];
}

export type ChangeKind = 'payload' | 'file' | 'installer-file' | 'config' | 'boot' | 'kernel' | 'bootkit';

export interface PreviewChange {
  kind: ChangeKind;
  /** A file path (payload, file, installer-file) ... */
  path?: string;
  /** ... or a setting's name (config key, boot.cmdline, kernel.version...). */
  key?: string;
  change: 'added' | 'removed' | 'changed';
  /** Old and new values, left out for secrets. */
  before?: string;
  after?: string;
}

export interface PreviewDiff {
  a: string;
  b: string;
  changes: PreviewChange[];
}
