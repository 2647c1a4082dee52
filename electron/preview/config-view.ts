// The site config an image carries, for a person to read: EMTCONFIG's files
// (config/artifacts.ts writes them) or today's workflow's config-file, with
// every secret masked: password hashes, SSH keys (shown by fingerprint),
// credentials in proxy URLs, write_files contents and runcmd commands. Masked
// values keep a digest on the side, so a diff can say "changed" and no more.

import { createHash } from 'node:crypto';
import { parseEnvFile } from '../config/env-file.ts';
import { parseLegacyConfig } from '../config/legacy.ts';
import type { FatVolume } from './fat.ts';
import type { ConfigValue, ConfigView } from './report.ts';

/** Kept out of the report: digests of the masked values, for the diff only. */
export type SecretDigests = Map<string, string>;

const MASKED = '(masked)';
const digest = (s: string) => createHash('sha256').update(s).digest('hex');

/** "http://user:pw@proxy:3128" -> "http://user:(masked)@proxy:3128". */
export function maskUrlCredentials(v: string): string {
  return v.replace(
    /^([a-z][a-z0-9+.-]*:\/\/)([^/@:]*):([^/@]*)@/i,
    (_m, s: string, u: string) => `${s}${u}:${MASKED}@`,
  );
}

/** "ssh-ed25519 AAAA... me@host" -> "ssh-ed25519 SHA256:<fingerprint> me@host" (as ssh-keygen -l names it). */
export function maskSshKey(line: string): string {
  const [type, blob, ...comment] = line.trim().split(/\s+/);
  if (!type || !blob) return MASKED;
  const fp = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '');
  return [type, `SHA256:${fp}`, ...comment].join(' ');
}

const SECRET_KEY = /pass(wd|word)?|secret|token|private|_key$|^key$/i;

export async function configFromPartition(
  fat: FatVolume,
  location: string,
): Promise<{ view: ConfigView; digests: SecretDigests }> {
  const values: Record<string, ConfigValue> = {};
  const secrets: string[] = [];
  const digests: SecretDigests = new Map();
  const secret = (key: string, shown: ConfigValue, raw: string) => {
    values[key] = shown;
    secrets.push(key);
    digests.set(key, digest(raw));
  };
  const text = async (path: string) => (await fat.read(path, 4 << 20))?.toString('utf8') ?? null;
  const env = await text('emt/config.env');
  if (env !== null) {
    let parsed: Map<string, string>;
    try {
      parsed = parseEnvFile(env);
    } catch {
      parsed = new Map([['config.env', '(not in the key=value format)']]);
    }
    for (const [k, v] of parsed) {
      if (k === 'password_hash') continue; // a flag; the hash itself is below
      const masked = maskUrlCredentials(v);
      if (masked !== v || SECRET_KEY.test(k)) secret(k, SECRET_KEY.test(k) ? MASKED : masked, v);
      else values[k] = v;
    }
  }
  const hash = await text('emt/password.hash');
  if (hash !== null)
    secret(
      'password_hash',
      `${hash.trim().startsWith('$6$') ? 'SHA-512 crypt hash' : 'hash'} ${MASKED}`,
      hash,
    );
  const lines = (t: string | null) => (t ?? '').split('\n').filter((l) => l.trim() !== '');
  const keys = lines(await text('emt/ssh_authorized_keys'));
  if (keys.length > 0) secret('ssh_key', keys.map(maskSshKey), keys.join('\n'));
  for (const name of ['enable', 'disable']) {
    const s = await text(`emt/services.${name}`);
    if (s !== null) values[`services.${name}`] = lines(s);
  }
  for (const f of fat.files.filter((x) => !x.dir).sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const wf = /^emt\/write_files\/(\d+)\.meta$/.exec(f.path);
    if (wf) {
      const meta = await text(f.path);
      const content = (await text(`emt/write_files/${wf[1]}.content`)) ?? '';
      let m = new Map<string, string>();
      try {
        m = parseEnvFile(meta ?? '');
      } catch {}
      secret(
        `write_files[${Number(wf[1])}]`,
        `${m.get('path') ?? '?'} (${m.get('permissions') ?? '?'}), ${Buffer.byteLength(content)} bytes ${MASKED}`,
        `${meta}\n${content}`,
      );
    }
    const rc = /^emt\/runcmd\/(\d+)\.sh$/.exec(f.path);
    if (rc) {
      const cmd = (await text(f.path)) ?? '';
      secret(`runcmd[${Number(rc[1])}]`, `${Buffer.byteLength(cmd)} bytes ${MASKED}`, cmd);
    }
  }
  const files = fat.files.filter((f) => !f.dir).map((f) => ({ path: f.path, size: f.size }));
  const source = env !== null || files.length > 0 ? 'EMTCONFIG' : null;
  return { view: { source, location: source ? location : null, values, secrets, files }, digests };
}

/** Today's workflow: a `config-file` (shell assignments, maybe a YAML tail) inside the installer OS. */
export function configFromLegacyFile(
  text: string,
  path: string,
): { view: ConfigView; digests: SecretDigests } {
  const values: Record<string, ConfigValue> = {};
  const secrets: string[] = [];
  const digests: SecretDigests = new Map();
  let raw: Record<string, unknown> = {};
  let legacyPassword: string | undefined;
  try {
    const p = parseLegacyConfig(text, path);
    raw = (p.raw ?? {}) as Record<string, unknown>;
    legacyPassword = p.legacyPassword;
  } catch {
    values['config-file'] = '(could not be parsed)';
  }
  for (const [k, v] of Object.entries(raw)) {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    if (k === 'ssh_key' && typeof v === 'string') {
      values[k] = v.split('\n').filter(Boolean).map(maskSshKey);
      secrets.push(k);
      digests.set(k, digest(s));
    } else if (SECRET_KEY.test(k) || maskUrlCredentials(s) !== s || k === 'write_files' || k === 'runcmd') {
      values[k] =
        SECRET_KEY.test(k) || k === 'write_files' || k === 'runcmd' ? MASKED : maskUrlCredentials(s);
      secrets.push(k);
      digests.set(k, digest(s));
    } else values[k] = s;
  }
  if (legacyPassword !== undefined) {
    values.passwd = `plaintext ${MASKED}`;
    secrets.push('passwd');
    digests.set('passwd', digest(legacyPassword));
  }
  return {
    view: {
      source: 'config-file',
      location: path,
      values,
      secrets,
      files: [{ path, size: Buffer.byteLength(text) }],
    },
    digests,
  };
}
