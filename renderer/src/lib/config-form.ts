// The site config form: text as typed, turned into the raw shape the config
// validator takes (the very same validator the CLI runs, in a job), and back
// from a loaded config. Issues come back with field paths; `issueKey` maps a
// path onto the form field that shows it.

export interface WriteFileRow {
  path: string;
  permissions: string;
  content: string;
}

export interface ConfigForm {
  user_name: string;
  host_type: string;
  hostname: string;
  static_ip: string;
  subnet_mask: string;
  default_gate_way: string;
  dns_name_server: string;
  ssh_key: string;
  http_proxy: string;
  https_proxy: string;
  no_proxy: string;
  HTTP_PROXY: string;
  HTTPS_PROXY: string;
  NO_PROXY: string;
  lvm_size_ingb: string;
  huge_page_config: string;
  USER_CUSTOM_NTP_SERVERS: string;
  services_enable: string;
  services_disable: string;
  runcmd: string;
  target_disk: string;
  after_install: string;
  write_files: WriteFileRow[];
  /** Per-stick overrides from an imported config, kept as they came (the Flash screen sets its own). */
  sticks: unknown[];
}

export type TextField = Exclude<keyof ConfigForm, 'write_files' | 'sticks'>;

export const emptyForm = (): ConfigForm => ({
  user_name: '',
  host_type: 'kubernetes',
  hostname: '',
  static_ip: '',
  subnet_mask: '',
  default_gate_way: '',
  dns_name_server: '',
  ssh_key: '',
  http_proxy: '',
  https_proxy: '',
  no_proxy: '',
  HTTP_PROXY: '',
  HTTPS_PROXY: '',
  NO_PROXY: '',
  lvm_size_ingb: '0',
  huge_page_config: '',
  USER_CUSTOM_NTP_SERVERS: '',
  services_enable: '',
  services_disable: '',
  runcmd: '',
  target_disk: '',
  after_install: 'reboot',
  write_files: [],
  sticks: [],
});

const PROXIES = ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'] as const;
const SIMPLE = [
  'user_name',
  'host_type',
  'hostname',
  'static_ip',
  'subnet_mask',
  'default_gate_way',
  'ssh_key',
  'lvm_size_ingb',
  'huge_page_config',
  'after_install',
  ...PROXIES,
] as const;

const words = (s: string): string[] => s.split(/[,\s]+/).filter(Boolean);
const lines = (s: string): string[] =>
  s
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');

/** The raw object for the validator (schema field names); empty text means "not set". */
export function formToRaw(f: ConfigForm): Record<string, unknown> {
  const raw: Record<string, unknown> = { schema_version: 1 };
  for (const k of SIMPLE) if (f[k].trim() !== '') raw[k] = f[k].trim();
  raw.dns_name_server = words(f.dns_name_server);
  raw.USER_CUSTOM_NTP_SERVERS = words(f.USER_CUSTOM_NTP_SERVERS);
  raw.services = { enable: words(f.services_enable), disable: words(f.services_disable) };
  raw.runcmd = lines(f.runcmd);
  raw.write_files = f.write_files.map((w) => ({ ...w }));
  if (f.target_disk.trim() !== '') raw.target_disk = f.target_disk.trim();
  if (f.sticks.length > 0) raw.sticks = f.sticks;
  return raw;
}

const text = (v: unknown): string =>
  v === undefined || v === null ? '' : Array.isArray(v) ? v.join(', ') : String(v);

/** A validated config (or the raw object of an imported one) back into the form. */
export function configToForm(c: Record<string, unknown>): ConfigForm {
  const f = emptyForm();
  for (const k of SIMPLE) if (c[k] !== undefined) f[k] = text(c[k]);
  f.dns_name_server = text(c.dns_name_server);
  f.USER_CUSTOM_NTP_SERVERS = text(c.USER_CUSTOM_NTP_SERVERS);
  const services = (c.services ?? {}) as { enable?: unknown; disable?: unknown };
  f.services_enable = text(services.enable);
  f.services_disable = text(services.disable);
  f.runcmd = Array.isArray(c.runcmd) ? c.runcmd.map(String).join('\n') : '';
  const td = c.target_disk as { serial?: string; path?: string } | string | undefined;
  f.target_disk = typeof td === 'string' ? td : (td?.path ?? td?.serial ?? '');
  f.write_files = Array.isArray(c.write_files)
    ? c.write_files.map((w: { path?: unknown; permissions?: unknown; content?: unknown }) => ({
        path: text(w.path),
        permissions: text(w.permissions) || '0644',
        content: text(w.content),
      }))
    : [];
  f.sticks = Array.isArray(c.sticks) ? c.sticks : [];
  return f;
}

/** Which form field shows an issue at this path: `write_files.2.path`, `services_enable`, `user_name`. */
export function issueKey(path: readonly (string | number)[]): string {
  const [head, second, third] = path;
  if (head === 'services' && (second === 'enable' || second === 'disable')) return `services_${second}`;
  if (head === 'write_files' && typeof second === 'number')
    return third === undefined ? `write_files.${second}` : `write_files.${second}.${String(third)}`;
  if (head === 'target_disk') return 'target_disk';
  if (head === 'runcmd') return 'runcmd';
  return head === undefined ? '' : String(head);
}

export interface Issue {
  path: (string | number)[];
  message: string;
}

export function issuesByField(issues: readonly Issue[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of issues) {
    const key = issueKey(i.path);
    out[key] = [...(out[key] ?? []), i.message];
  }
  return out;
}

/** What a profile may hold: the form, never a password (the form has no password field by design). */
export interface Profile {
  name: string;
  form: ConfigForm;
  savedAt: string;
}
