// The files written to the EMTCONFIG partition for one stick: everything the
// edge node needs, in forms bash can read without `source` or a YAML parser
// (format documented in installer-scripts/README.md).
import { ConfigError } from './config-error.ts';
import { formatEnvFile } from './env-file.ts';
import { applyStickOverride, PROXY_KEYS, type SiteConfig, type StickOverride } from './schema.ts';
import { isSha512CryptHash } from './sha512-crypt.ts';
import { validateConfig } from './validate.ts';

export interface ConfigArtifact {
  /** Relative path on the EMTCONFIG partition, '/'-separated. */
  path: string;
  data: Buffer;
  mode: number;
}

export const ARTIFACT_FORMAT_VERSION = 1;

const nnn = (i: number): string => String(i + 1).padStart(3, '0');
const lines = (items: string[]): Buffer => Buffer.from(items.map((s) => `${s}\n`).join(''), 'utf8');

export function configArtifacts(
  config: SiteConfig,
  opts: { passwordHash?: string; perStick?: StickOverride } = {},
): ConfigArtifact[] {
  let c = config;
  if (opts.perStick) {
    // The override may come from a UI or a flash list: check the merged result again.
    const merged = validateConfig(applyStickOverride(config, opts.perStick));
    if (!merged.config)
      throw new ConfigError(`per-stick override ${opts.perStick.name ?? ''}`.trim(), merged.issues);
    c = merged.config;
  }
  if (opts.passwordHash !== undefined && !isSha512CryptHash(opts.passwordHash))
    throw new ConfigError(
      'password hash',
      [{ path: [], message: 'is not a SHA-512 crypt hash ($6$...)' }],
      'BAD_HASH',
    );

  const env: [string, string | number | undefined][] = [
    ['format_version', ARTIFACT_FORMAT_VERSION],
    ['user_name', c.user_name],
    ['host_type', c.host_type],
    ['hostname', c.hostname],
    ...PROXY_KEYS.map((k): [string, string | undefined] => [k, c[k]]),
    ['static_ip', c.static_ip],
    ['subnet_mask', c.subnet_mask],
    ['default_gate_way', c.default_gate_way],
    ['dns_name_server', c.dns_name_server.join(',')],
    ['ntp_servers', c.USER_CUSTOM_NTP_SERVERS.join(',')],
    ['lvm_size_ingb', c.lvm_size_ingb],
    ['huge_page_config', c.huge_page_config],
    ['target_disk_serial', c.target_disk?.serial],
    ['target_disk_path', c.target_disk?.path],
    ['after_install', c.after_install],
    ['stick_name', opts.perStick?.name],
    ['password_hash', opts.passwordHash === undefined ? 0 : 1],
    ['write_files_count', c.write_files.length],
    ['runcmd_count', c.runcmd.length],
  ];
  const out: ConfigArtifact[] = [
    {
      path: 'emt/config.env',
      data: Buffer.from(
        formatEnvFile(env, 'EMT installer site config (strict key=value, values %XX-encoded)'),
      ),
      mode: 0o644,
    },
    { path: 'emt/services.enable', data: lines(c.services.enable), mode: 0o644 },
    { path: 'emt/services.disable', data: lines(c.services.disable), mode: 0o644 },
    { path: 'emt/ssh_authorized_keys', data: lines(c.ssh_key ? c.ssh_key.split('\n') : []), mode: 0o644 },
  ];
  if (opts.passwordHash !== undefined)
    out.push({ path: 'emt/password.hash', data: Buffer.from(`${opts.passwordHash}\n`), mode: 0o600 });
  c.write_files.forEach((f, i) => {
    out.push({
      path: `emt/write_files/${nnn(i)}.meta`,
      data: Buffer.from(
        formatEnvFile([
          ['path', f.path],
          ['permissions', f.permissions],
        ]),
      ),
      mode: 0o644,
    });
    out.push({
      path: `emt/write_files/${nnn(i)}.content`,
      data: Buffer.from(f.content, 'utf8'),
      mode: 0o644,
    });
  });
  c.runcmd.forEach((cmd, i) => {
    out.push({
      path: `emt/runcmd/${nnn(i)}.sh`,
      data: Buffer.from(cmd.endsWith('\n') ? cmd : `${cmd}\n`),
      mode: 0o644,
    });
  });
  return out;
}
