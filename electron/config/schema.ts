// The site config: one typed shape for everything the edge node needs, with the
// field names of today's `config-file` so a technician recognises them.
// Parsers (legacy.ts, load.ts) produce raw values; validate.ts turns them into this.

export const CONFIG_SCHEMA_VERSION = 1;

export const HOST_TYPES = ['kubernetes', 'container'] as const;
export type HostType = (typeof HOST_TYPES)[number];

export const AFTER_INSTALL = ['reboot', 'poweroff'] as const;
export type AfterInstall = (typeof AFTER_INSTALL)[number];

/** Proxy variables, written to /etc/environment as given (both cases, as today). */
export const PROXY_KEYS = [
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
] as const;
export type ProxyKey = (typeof PROXY_KEYS)[number];

export interface TargetDisk {
  /** Disk serial as lsblk reports it (SERIAL column). */
  serial?: string;
  /** A /dev path, e.g. /dev/nvme0n1 or /dev/disk/by-id/... */
  path?: string;
}

export interface WriteFile {
  /** Absolute path on the installed OS. */
  path: string;
  /** Octal mode as text, e.g. '0644'. */
  permissions: string;
  content: string;
}

/** Values one stick may override (flash writes each stick its own EMTCONFIG). */
export interface StickOverride {
  /** A label for the person flashing, e.g. 'line-3-left'. */
  name?: string;
  hostname?: string;
  static_ip?: string;
  subnet_mask?: number;
  default_gate_way?: string;
  dns_name_server?: string[];
  target_disk?: TargetDisk;
}

export const STICK_OVERRIDE_KEYS = [
  'name',
  'hostname',
  'static_ip',
  'subnet_mask',
  'default_gate_way',
  'dns_name_server',
  'target_disk',
] as const;

export interface SiteConfig {
  schema_version: typeof CONFIG_SCHEMA_VERSION;
  http_proxy?: string;
  https_proxy?: string;
  no_proxy?: string;
  HTTP_PROXY?: string;
  HTTPS_PROXY?: string;
  NO_PROXY?: string;
  /** One or more OpenSSH public keys, one per line. */
  ssh_key?: string;
  user_name: string;
  host_type: HostType;
  hostname?: string;
  /** IPv4 address; empty means DHCP. */
  static_ip?: string;
  /** Prefix length 0-32 (today's file says "24"; a dotted mask is accepted on input). */
  subnet_mask?: number;
  default_gate_way?: string;
  dns_name_server: string[];
  /** Size of the LVM data volume group in GB; 0 = none. */
  lvm_size_ingb: number;
  /** Number of 2 MiB huge pages (today's file allows "12 * 1024"); undefined = none. */
  huge_page_config?: number;
  USER_CUSTOM_NTP_SERVERS: string[];
  services: { enable: string[]; disable: string[] };
  write_files: WriteFile[];
  runcmd: string[];
  target_disk?: TargetDisk;
  after_install: AfterInstall;
  /** Per-stick overrides; flash picks one per stick. */
  sticks: StickOverride[];
}

/** Every top-level key our JSON/YAML form accepts (a typo is an error, not a no-op). */
export const SITE_CONFIG_KEYS = [
  'schema_version',
  ...PROXY_KEYS,
  'ssh_key',
  'user_name',
  'host_type',
  'hostname',
  'static_ip',
  'subnet_mask',
  'default_gate_way',
  'dns_name_server',
  'lvm_size_ingb',
  'huge_page_config',
  'USER_CUSTOM_NTP_SERVERS',
  'services',
  'write_files',
  'runcmd',
  'target_disk',
  'after_install',
  'sticks',
] as const;

/** Apply one stick's overrides; the result must be validated again by the caller if it came from input. */
export function applyStickOverride(config: SiteConfig, stick: StickOverride | undefined): SiteConfig {
  if (!stick) return config;
  const { name: _name, ...fields } = stick;
  const out: SiteConfig = { ...config };
  for (const [k, v] of Object.entries(fields))
    if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  return out;
}
