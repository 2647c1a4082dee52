// Turns raw parsed values (from JSON, YAML or today's config-file) into a
// SiteConfig, collecting every problem with a message a technician understands.
import type { ConfigIssue } from './config-error.ts';
import {
  AFTER_INSTALL,
  type AfterInstall,
  CONFIG_SCHEMA_VERSION,
  HOST_TYPES,
  type HostType,
  PROXY_KEYS,
  SITE_CONFIG_KEYS,
  type SiteConfig,
  STICK_OVERRIDE_KEYS,
  type StickOverride,
  type TargetDisk,
  type WriteFile,
} from './schema.ts';

type Path = (string | number)[];

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** '24' or '255.255.255.0' -> 24; undefined when neither a prefix nor a contiguous mask. */
export function parseNetmask(s: string): number | undefined {
  const t = s.trim().replace(/^\//, '');
  if (/^[0-9]{1,2}$/.test(t)) {
    const n = Number(t);
    return n <= 32 ? n : undefined;
  }
  if (!isIPv4(t)) return undefined;
  const bits = t
    .split('.')
    .map((p) => Number(p).toString(2).padStart(8, '0'))
    .join('');
  return /^1*0*$/.test(bits) ? (bits.indexOf('0') === -1 ? 32 : bits.indexOf('0')) : undefined;
}

// Linux user names as useradd's default policy allows (Debian NAME_REGEX, 32 chars).
export const isValidUserName = (s: string): boolean => /^[a-z_][a-z0-9_-]{0,31}$/.test(s);

/** RFC 1123 host name, at most 64 characters (the kernel's HOST_NAME_MAX). */
export function isValidHostname(s: string): boolean {
  if (s.length === 0 || s.length > 64) return false;
  return s.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

// Key type -> number of length-prefixed fields in its blob (type included).
const SSH_KEY_FIELDS: Record<string, number> = {
  'ssh-ed25519': 2,
  'ssh-rsa': 3,
  'ecdsa-sha2-nistp256': 3,
  'ecdsa-sha2-nistp384': 3,
  'ecdsa-sha2-nistp521': 3,
  'sk-ssh-ed25519@openssh.com': 3,
  'sk-ecdsa-sha2-nistp256@openssh.com': 4,
  'ssh-dss': 5,
};
const SSH_KEY_TYPES = Object.keys(SSH_KEY_FIELDS);

/** Checks one OpenSSH public key line; returns a problem or undefined. */
export function sshKeyProblem(line: string): string | undefined {
  const fields = line.trim().split(/\s+/);
  const [type, blob] = fields;
  const example = "expected one line like 'ssh-ed25519 AAAAC3Nz... user@host' (the .pub file)";
  if (!type || !blob) return `is not an SSH public key: ${example}`;
  if (/PRIVATE KEY/.test(line)) return 'looks like a PRIVATE key: give the public key (the .pub file)';
  if (!SSH_KEY_TYPES.includes(type)) return `has unknown key type '${type}': ${example}`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || blob.length % 4 !== 0)
    return `key data for ${type} is not valid base64 (copied incompletely?)`;
  const bytes = Buffer.from(blob, 'base64');
  // The blob is a run of uint32-length-prefixed fields, the first being the key
  // type again (RFC 4253 6.6); a cut or edited key breaks the run or the count.
  const parts: Buffer[] = [];
  let off = 0;
  while (off + 4 <= bytes.length) {
    const n = bytes.readUInt32BE(off);
    if (off + 4 + n > bytes.length) break;
    parts.push(bytes.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  const bad = `key data does not match its type '${type}' (copied incompletely or edited?)`;
  if (off !== bytes.length || parts[0]?.toString('latin1') !== type) return bad;
  if (parts.length !== SSH_KEY_FIELDS[type]) return bad;
  if (type === 'ssh-ed25519' && parts[1]?.length !== 32) return bad;
  return undefined;
}

const UNSAFE_TEXT = /[\u0000-\u001f\u007f"'`$\\\s]/;
const SERVICE_NAME = /^[A-Za-z0-9@._:-]+$/;
const FILE_PATH = /^\/[A-Za-z0-9._@+/-]*$/;

class Collector {
  issues: ConfigIssue[] = [];
  add(path: Path, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  str(raw: unknown, path: Path): string | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
    if (typeof raw !== 'string') return this.add(path, 'must be text');
    return raw;
  }

  /** Comma/space separated text or a list -> list of non-empty items. */
  list(raw: unknown, path: Path): string[] {
    if (raw === undefined || raw === null) return [];
    if (typeof raw === 'string')
      return raw
        .split(/[,\s]+/)
        .map((s) => s.trim())
        .filter(Boolean);
    if (!Array.isArray(raw)) {
      this.add(path, 'must be a list (or comma-separated text)');
      return [];
    }
    const out: string[] = [];
    raw.forEach((v, i) => {
      const s = this.str(v, [...path, i]);
      if (s !== undefined && s.trim() !== '') out.push(s.trim());
    });
    return out;
  }
}

function intOf(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 ? raw : undefined;
  if (typeof raw === 'string' && /^\s*[0-9]+\s*$/.test(raw)) return Number(raw);
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function targetDisk(c: Collector, raw: unknown, path: Path): TargetDisk | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw === 'string') raw = raw.startsWith('/dev/') ? { path: raw } : { serial: raw };
  if (!isRecord(raw)) return c.add(path, "must be { serial: '...' } or { path: '/dev/...' }");
  for (const k of Object.keys(raw))
    if (k !== 'serial' && k !== 'path') c.add([...path, k], "unknown field (use 'serial' or 'path')");
  const serial = c.str(raw.serial, [...path, 'serial']);
  const dev = c.str(raw.path, [...path, 'path']);
  if (serial !== undefined && !/^[A-Za-z0-9_.:-][A-Za-z0-9 _.:-]*$/.test(serial))
    c.add([...path, 'serial'], `'${serial}' is not a disk serial (letters, digits, - _ . : only)`);
  if (dev !== undefined && !/^\/dev\/[A-Za-z0-9._:/+-]+$/.test(dev))
    c.add([...path, 'path'], `'${dev}' is not a device path like /dev/nvme0n1`);
  if (!serial && !dev) return c.add(path, 'names no disk: give serial or path');
  return { ...(serial ? { serial } : {}), ...(dev ? { path: dev } : {}) };
}

interface NetFields {
  hostname?: string;
  static_ip?: string;
  subnet_mask?: number;
  default_gate_way?: string;
  dns_name_server: string[];
}

function network(c: Collector, raw: Record<string, unknown>, base: Path): NetFields {
  const out: NetFields = { dns_name_server: [] };
  const hostname = c.str(raw.hostname, [...base, 'hostname']);
  if (hostname) {
    if (isValidHostname(hostname)) out.hostname = hostname;
    else
      c.add(
        [...base, 'hostname'],
        `'${hostname}' is not a valid host name (letters, digits and '-', at most 63 per dot-separated part, 64 in all, no '-' at either end)`,
      );
  }
  let ip = c.str(raw.static_ip, [...base, 'static_ip'])?.trim();
  let mask = c.str(raw.subnet_mask, [...base, 'subnet_mask'])?.trim();
  if (ip?.includes('/')) {
    const [a, m] = ip.split('/', 2);
    ip = a;
    if (mask && mask !== m)
      c.add([...base, 'subnet_mask'], `'${mask}' disagrees with the prefix in static_ip '/${m}'`);
    mask = m;
  }
  if (ip) {
    if (isIPv4(ip)) out.static_ip = ip;
    else c.add([...base, 'static_ip'], `'${ip}' is not an IPv4 address like 192.168.1.24`);
  }
  if (mask) {
    const n = parseNetmask(mask);
    if (n === undefined)
      c.add(
        [...base, 'subnet_mask'],
        `'${mask}' is not a prefix length (0-32) or a netmask like 255.255.255.0`,
      );
    else out.subnet_mask = n;
  }
  if (out.static_ip && out.subnet_mask === undefined && !mask)
    c.add([...base, 'subnet_mask'], 'is needed with static_ip (e.g. 24)');
  const gw = c.str(raw.default_gate_way, [...base, 'default_gate_way'])?.trim();
  if (gw) {
    if (isIPv4(gw)) out.default_gate_way = gw;
    else c.add([...base, 'default_gate_way'], `'${gw}' is not an IPv4 address`);
  }
  const dns = c.list(raw.dns_name_server, [...base, 'dns_name_server']);
  for (const d of dns) {
    if (isIPv4(d)) out.dns_name_server.push(d);
    else c.add([...base, 'dns_name_server'], `'${d}' is not an IPv4 address`);
  }
  return out;
}

function writeFiles(c: Collector, raw: unknown): WriteFile[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw))
    return c.add(['write_files'], 'must be a list of { path, permissions, content }') ?? [];
  const out: WriteFile[] = [];
  raw.forEach((f, i) => {
    const p: Path = ['write_files', i];
    if (!isRecord(f)) {
      c.add(p, 'must be { path, permissions, content }');
      return;
    }
    for (const k of Object.keys(f))
      if (!['path', 'permissions', 'content'].includes(k))
        c.add([...p, k], "unknown field (use 'path', 'permissions', 'content')");
    const path = c.str(f.path, [...p, 'path']);
    if (!path) c.add([...p, 'path'], 'is missing');
    else if (!FILE_PATH.test(path) || path.split('/').some((s) => s === '..' || s === '.'))
      c.add(
        [...p, 'path'],
        `'${path}' must be an absolute path of letters, digits and . _ - @ + / (no '..', no spaces)`,
      );
    let perm = f.permissions === undefined ? '0644' : c.str(f.permissions, [...p, 'permissions']);
    // YAML 1.2 reads 0644 unquoted as the number 644: its digits are still the mode.
    if (perm !== undefined && /^[0-7]{3}$/.test(perm)) perm = `0${perm}`;
    if (perm === undefined || !/^0[0-7]{3}$|^[0-7]{4}$/.test(perm))
      c.add([...p, 'permissions'], `'${String(f.permissions)}' is not an octal mode like '0644'`);
    const content = f.content === undefined || f.content === null ? '' : c.str(f.content, [...p, 'content']);
    if (path && perm && content !== undefined) out.push({ path, permissions: perm, content });
  });
  return out;
}

function stickOverrides(c: Collector, raw: unknown): StickOverride[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) return c.add(['sticks'], 'must be a list of per-stick overrides') ?? [];
  return raw.map((s, i) => {
    const p: Path = ['sticks', i];
    if (!isRecord(s)) return c.add(p, 'must be a map of overrides') ?? {};
    for (const k of Object.keys(s))
      if (!(STICK_OVERRIDE_KEYS as readonly string[]).includes(k))
        c.add([...p, k], `cannot be set per stick (allowed: ${STICK_OVERRIDE_KEYS.join(', ')})`);
    const net = network(c, s, p);
    const name = c.str(s.name, [...p, 'name']);
    const td = targetDisk(c, s.target_disk, [...p, 'target_disk']);
    const o: StickOverride = {};
    if (name) o.name = name;
    if (net.hostname) o.hostname = net.hostname;
    if (net.static_ip) o.static_ip = net.static_ip;
    if (net.subnet_mask !== undefined) o.subnet_mask = net.subnet_mask;
    if (net.default_gate_way) o.default_gate_way = net.default_gate_way;
    if (net.dns_name_server.length > 0) o.dns_name_server = net.dns_name_server;
    if (td) o.target_disk = td;
    return o;
  });
}

/** 12 * 1024 style products of whole numbers, as today's config-file documents. */
function hugePages(c: Collector, raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const s = String(raw).trim();
  if (s === '') return undefined;
  if (!/^[0-9]+(\s*\*\s*[0-9]+)*$/.test(s))
    return c.add(['huge_page_config'], `'${s}' is not a number of huge pages (e.g. 2048 or "12 * 1024")`);
  return s.split('*').reduce((a, b) => a * Number(b.trim()), 1);
}

export interface ValidationResult {
  config?: SiteConfig;
  issues: ConfigIssue[];
}

export function validateConfig(raw: unknown): ValidationResult {
  const c = new Collector();
  if (!isRecord(raw)) {
    c.add([], 'the config must be a map of settings (key: value)');
    return { issues: c.issues };
  }
  for (const k of Object.keys(raw))
    if (!(SITE_CONFIG_KEYS as readonly string[]).includes(k)) c.add([k], 'unknown setting (misspelt?)');

  if (raw.schema_version !== undefined && intOf(raw.schema_version) !== CONFIG_SCHEMA_VERSION)
    c.add(
      ['schema_version'],
      `${String(raw.schema_version)} is not supported (this build reads ${CONFIG_SCHEMA_VERSION})`,
    );

  const proxies: Partial<Record<(typeof PROXY_KEYS)[number], string>> = {};
  for (const k of PROXY_KEYS) {
    const v = c.str(raw[k], [k])?.trim();
    if (!v) continue;
    if (UNSAFE_TEXT.test(v)) c.add([k], 'must not contain spaces, quotes, $, ` or \\');
    else if (!k.toLowerCase().startsWith('no_') && !/^(https?|socks[45]h?):\/\/[^/]+/.test(v))
      c.add([k], `'${v}' is not a proxy URL like http://proxy.example.com:911`);
    else proxies[k] = v;
  }

  const sshRaw = c.str(raw.ssh_key, ['ssh_key']);
  const sshLines = (sshRaw ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  for (const l of sshLines) {
    const problem = sshKeyProblem(l);
    if (problem) c.add(['ssh_key'], problem);
  }

  const user = c.str(raw.user_name, ['user_name'])?.trim() ?? '';
  if (user === '') c.add(['user_name'], 'is required (the Linux user to create)');
  else if (user === 'root') c.add(['user_name'], "must not be 'root' (a normal user with sudo is created)");
  else if (!isValidUserName(user))
    c.add(
      ['user_name'],
      `'${user}' is not a valid Linux user name (start with a-z or _, then a-z 0-9 _ -, at most 32)`,
    );

  const ht = (c.str(raw.host_type, ['host_type'])?.trim() || 'kubernetes') as HostType;
  if (!HOST_TYPES.includes(ht)) c.add(['host_type'], `'${ht}' is unknown: use ${HOST_TYPES.join(' or ')}`);

  const net = network(c, raw, []);

  let lvm = 0;
  if (raw.lvm_size_ingb !== undefined && raw.lvm_size_ingb !== null && raw.lvm_size_ingb !== '') {
    const n = intOf(raw.lvm_size_ingb);
    if (n === undefined)
      c.add(
        ['lvm_size_ingb'],
        `'${String(raw.lvm_size_ingb)}' is not a whole number of GB (0 for no LVM volume)`,
      );
    else lvm = n;
  }

  const huge = hugePages(c, raw.huge_page_config);

  const ntp = c.list(raw.USER_CUSTOM_NTP_SERVERS, ['USER_CUSTOM_NTP_SERVERS']);
  for (const s of ntp)
    if (!isIPv4(s) && !isValidHostname(s))
      c.add(['USER_CUSTOM_NTP_SERVERS'], `'${s}' is not a host name or IPv4 address`);

  const services = { enable: [] as string[], disable: [] as string[] };
  if (raw.services !== undefined && raw.services !== null) {
    if (!isRecord(raw.services)) c.add(['services'], 'must be { enable: [...], disable: [...] }');
    else {
      for (const k of Object.keys(raw.services))
        if (k !== 'enable' && k !== 'disable')
          c.add(['services', k], "unknown field (use 'enable' or 'disable')");
      for (const k of ['enable', 'disable'] as const) {
        for (const name of c.list(raw.services[k], ['services', k])) {
          if (SERVICE_NAME.test(name)) services[k].push(name);
          else c.add(['services', k], `'${name}' is not a systemd unit name`);
        }
      }
    }
  }

  const wf = writeFiles(c, raw.write_files);

  const runcmd: string[] = [];
  if (raw.runcmd !== undefined && raw.runcmd !== null) {
    if (!Array.isArray(raw.runcmd)) c.add(['runcmd'], 'must be a list of commands');
    else
      raw.runcmd.forEach((cmd, i) => {
        const s = c.str(cmd, ['runcmd', i]);
        if (s?.includes('\u0000')) c.add(['runcmd', i], 'contains a NUL byte');
        else if (s !== undefined && s.trim() !== '') runcmd.push(s);
      });
  }

  const td = targetDisk(c, raw.target_disk, ['target_disk']);
  const after = (c.str(raw.after_install, ['after_install'])?.trim() || 'reboot') as AfterInstall;
  if (!AFTER_INSTALL.includes(after))
    c.add(['after_install'], `'${after}' is unknown: use ${AFTER_INSTALL.join(' or ')}`);

  const sticks = stickOverrides(c, raw.sticks);

  if (c.issues.length > 0) return { issues: c.issues };
  const config: SiteConfig = {
    schema_version: CONFIG_SCHEMA_VERSION,
    ...proxies,
    ...(sshLines.length > 0 ? { ssh_key: sshLines.join('\n') } : {}),
    user_name: user,
    host_type: ht,
    ...(net.hostname ? { hostname: net.hostname } : {}),
    ...(net.static_ip ? { static_ip: net.static_ip } : {}),
    ...(net.subnet_mask !== undefined ? { subnet_mask: net.subnet_mask } : {}),
    ...(net.default_gate_way ? { default_gate_way: net.default_gate_way } : {}),
    dns_name_server: net.dns_name_server,
    lvm_size_ingb: lvm,
    ...(huge !== undefined ? { huge_page_config: huge } : {}),
    USER_CUSTOM_NTP_SERVERS: ntp,
    services,
    write_files: wf,
    runcmd,
    ...(td ? { target_disk: td } : {}),
    after_install: after,
    sticks,
  };
  return { config, issues: [] };
}
