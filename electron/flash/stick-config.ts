// Per-stick EMTCONFIG images for `emt-usb flash`: a site config (+ password) and,
// per device, a few values of its own (hostname, static IP, gateway, DNS, or a
// named entry of the config's `sticks` list). Every value goes through the config
// validator, and every image is built before the first byte is written anywhere.
// The image is the one `build` makes (emtConfigPartition), reproducible from
// (config, per-stick values, the ISO's build id and SOURCE_DATE_EPOCH).
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type ConfigIssue } from '../config/config-error.ts';
import { emtConfigPartition, passwordHashFor } from '../config/config-partition.ts';
import { type LoadedConfig, loadConfig } from '../config/load.ts';
import { checkPassword, readPasswordFile } from '../config/password-file.ts';
import type { SiteConfig, StickOverride } from '../config/schema.ts';
import { validateConfig } from '../config/validate.ts';
import { UsageError } from '../errors.ts';
import { canonicalJson } from '../iso/manifest.ts';
import { FlashError } from './flash-error.ts';
import { readIsoRootFile } from './iso-root-file.ts';

/** Per-stick values (as typed on the command line or in the app) and the config field each sets. */
export const STICK_OPTIONS = {
  stick: 'name',
  hostname: 'hostname',
  'static-ip': 'static_ip',
  gateway: 'default_gate_way',
  dns: 'dns_name_server',
} as const;
export type StickOption = keyof typeof STICK_OPTIONS;

export interface StickSpec {
  device: string;
  /** Raw values as typed, by option name (without the dashes). */
  options: Partial<Record<StickOption, string>>;
}

const hasOptions = (s: StickSpec): boolean => Object.keys(s.options).length > 0;

const FIELD_OPTION: Record<string, string> = {
  hostname: '--hostname',
  static_ip: '--static-ip',
  subnet_mask: '--static-ip',
  default_gate_way: '--gateway',
  dns_name_server: '--dns',
};

/** One stick's override: the named `sticks` entry of the config, then the command-line values on top. */
export function stickOverride(config: SiteConfig, spec: StickSpec): StickOverride | undefined {
  const where = `--device ${spec.device}`;
  const o = spec.options;
  let base: StickOverride = {};
  if (o.stick !== undefined) {
    const found = config.sticks.find((s) => s.name === o.stick);
    if (!found) {
      const names = config.sticks.map((s) => s.name).filter(Boolean);
      throw new ConfigError(where, [
        {
          path: ['--stick'],
          message: `'${o.stick}' is not in the config's sticks list (${names.length > 0 ? `it has ${names.join(', ')}` : 'it has none'})`,
        },
      ]);
    }
    base = found;
  }
  const raw: Record<string, string> = {};
  for (const [opt, value] of Object.entries(o) as [StickOption, string][])
    if (opt !== 'stick') raw[STICK_OPTIONS[opt]] = value;
  if (Object.keys(raw).length === 0) return o.stick !== undefined ? base : undefined;
  const issues: ConfigIssue[] = [];
  if (raw.static_ip !== undefined && !raw.static_ip.includes('/') && base.subnet_mask === undefined)
    issues.push({
      path: ['--static-ip'],
      message: `'${raw.static_ip}' needs its prefix length, e.g. ${raw.static_ip}/24`,
    });
  if (raw.static_ip !== undefined && !raw.static_ip.includes('/') && base.subnet_mask !== undefined)
    raw.static_ip = `${raw.static_ip}/${base.subnet_mask}`;
  // The same checks as a `sticks` entry in a config file: validate it alone.
  const r = validateConfig({ user_name: 'probe', sticks: [raw] });
  if (issues.length === 0)
    for (const i of r.issues)
      issues.push({ path: [FIELD_OPTION[String(i.path[2])] ?? String(i.path[2])], message: i.message });
  if (issues.length > 0 || !r.config) throw new ConfigError(where, issues);
  return { ...base, ...r.config.sticks[0] };
}

/** What the ISO says about itself: build id and SOURCE_DATE_EPOCH, or fixed values. */
export interface IsoIdentity {
  buildId: string;
  sourceDateEpoch: number;
  fromManifest: boolean;
}

/** 1980-01-01, the first FAT date: used when the image carries no manifest. */
export const FALLBACK_EPOCH = 315532800;

export async function isoIdentity(imagePath: string): Promise<IsoIdentity> {
  const fixed = { buildId: '0'.repeat(64), sourceDateEpoch: FALLBACK_EPOCH, fromManifest: false };
  let data: Buffer | null;
  try {
    data = await readIsoRootFile(imagePath, 'emt-installer.json');
  } catch (e) {
    throw new FlashError('IMAGE_UNREADABLE', `${imagePath}: cannot open the image: ${(e as Error).message}`);
  }
  if (!data) return fixed;
  try {
    const m = JSON.parse(data.toString('utf8')) as { buildId?: unknown; sourceDateEpoch?: unknown };
    if (typeof m.buildId !== 'string' || !/^[0-9a-f]{8,}$/.test(m.buildId)) return fixed;
    const sde = m.sourceDateEpoch;
    if (typeof sde !== 'number' || !Number.isInteger(sde) || sde < FALLBACK_EPOCH) return fixed;
    return { buildId: m.buildId, sourceDateEpoch: sde, fromManifest: true };
  } catch {
    return fixed;
  }
}

/** loadConfig, with a pointer to --config-image when the file is a FAT image. */
async function loadSiteConfig(path: string): Promise<LoadedConfig> {
  const head = Buffer.alloc(512);
  const fh = await open(path, 'r').catch(() => null);
  if (fh) {
    try {
      await fh.read(head, 0, 512, 0);
    } finally {
      await fh.close();
    }
    if (head.readUInt16LE(510) === 0xaa55 && /FAT/.test(head.toString('latin1', 0x36, 0x5a)))
      throw new ConfigError(
        path,
        [{ path: [], message: 'is a partition image, not a site config: give it with --config-image' }],
        'CONFIG_IS_IMAGE',
      );
  }
  return loadConfig(path);
}

export interface StickConfigRequest {
  imagePath: string;
  /** Site config (JSON, YAML or legacy config-file). */
  configFile?: string;
  /** A config already loaded (the app's form), instead of configFile. */
  loaded?: Pick<LoadedConfig, 'config' | 'legacyPassword'>;
  passwordFile?: string;
  /** A typed password (checked like the file's), instead of passwordFile. */
  password?: string;
  sticks: StickSpec[];
}

export interface StickConfigImage {
  device: string;
  override: StickOverride | undefined;
  /** FAT volume serial, derived from the build id and the stick's values. */
  serial: number;
  bytes: Buffer;
}

export interface StickConfigPlan {
  identity: IsoIdentity;
  /** One per stick, in the order of `sticks`; empty when no config was given. */
  images: StickConfigImage[];
}

/** Builds every stick's EMTCONFIG image in memory; throws (writing nothing) on any bad value. */
export async function planStickConfigs(r: StickConfigRequest): Promise<StickConfigPlan> {
  if (!r.configFile && !r.loaded) {
    if (r.passwordFile || r.password !== undefined)
      throw new UsageError('--password-file needs --config (the site config it belongs to)');
    const withOptions = r.sticks.find(hasOptions);
    if (withOptions)
      throw new UsageError(
        `--device ${withOptions.device}: per-stick values need --config (the site config they change)`,
      );
    return { identity: await isoIdentity(r.imagePath), images: [] };
  }
  const loaded = r.loaded ?? (await loadSiteConfig(r.configFile!));
  const password =
    r.password !== undefined
      ? checkPassword(r.password, 'the password')
      : r.passwordFile
        ? await readPasswordFile(r.passwordFile)
        : loaded.legacyPassword;
  // Every value is checked before the first (slow) image is made.
  const overrides = r.sticks.map((s) => stickOverride(loaded.config, s));
  const identity = await isoIdentity(r.imagePath);
  const made = new Map<string, { serial: number; bytes: Promise<Buffer> }>();
  const images: StickConfigImage[] = [];
  for (const [i, spec] of r.sticks.entries()) {
    const override = overrides[i];
    const key = canonicalJson(override ?? null);
    let m = made.get(key);
    if (!m) {
      const seed = createHash('sha256').update(`emt-usb stick\0${identity.buildId}\0${key}`).digest();
      const serial = seed.readUInt32BE(0);
      const passwordHash = password === undefined ? undefined : passwordHashFor(password);
      const bytes = emtConfigPartition({
        config: loaded.config,
        ...(passwordHash !== undefined ? { passwordHash } : {}),
        ...(override ? { perStick: override } : {}),
        dateEpoch: identity.sourceDateEpoch,
        serial,
      }).catch((e: unknown) => {
        // The merged config is validated again; name the device, not an internal label.
        if (e instanceof ConfigError) throw new ConfigError(`--device ${spec.device}`, e.issues);
        throw e;
      });
      m = { serial, bytes };
      made.set(key, m);
    }
    images.push({ device: spec.device, override, serial: m.serial, bytes: await m.bytes });
  }
  return { identity, images };
}

/**
 * Writes the images to a private temp folder for the (maybe elevated) writer.
 * They carry only hashes, but stay readable by their owner alone.
 */
export async function stageStickConfigs(
  plan: StickConfigPlan,
): Promise<{ paths: string[]; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'emt-stick-config-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const paths: string[] = [];
    const written = new Map<Buffer, string>();
    for (const [i, img] of plan.images.entries()) {
      let p = written.get(img.bytes);
      if (!p) {
        p = join(dir, `stick-${i + 1}.img`);
        await writeFile(p, img.bytes, { mode: 0o600 });
        written.set(img.bytes, p);
      }
      paths.push(p);
    }
    return { paths, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** One line per stick for the person flashing. */
export function describeStick(img: StickConfigImage): string {
  const o = img.override;
  const parts = [
    o?.name ? `stick ${o.name}` : undefined,
    o?.hostname ? `hostname ${o.hostname}` : undefined,
    o?.static_ip ? `ip ${o.static_ip}/${o.subnet_mask}` : undefined,
    o?.default_gate_way ? `gateway ${o.default_gate_way}` : undefined,
    o?.dns_name_server ? `dns ${o.dns_name_server.join(',')}` : undefined,
  ].filter(Boolean);
  const serial = img.serial.toString(16).toUpperCase().padStart(8, '0');
  return `${img.device}: EMTCONFIG ${serial.slice(0, 4)}-${serial.slice(4)} (${parts.length > 0 ? parts.join(', ') : 'site config'})`;
}
