// emt-usb config: check a site config (JSON, YAML or today's config-file) the way
// `build` reads it, and convert it between those formats.
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { toLegacyConfigFile } from '../config/legacy.ts';
import { loadConfig, parseConfigText } from '../config/load.ts';
import type { SiteConfig } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import { parseArgs, str } from './args.ts';
import type { Command } from './command.ts';

const FORMATS = ['legacy', 'yaml', 'json'] as const;
type OutFormat = (typeof FORMATS)[number];

export function renderConfig(config: SiteConfig, to: OutFormat): string {
  if (to === 'legacy') return toLegacyConfigFile(config);
  if (to === 'json') return `${JSON.stringify(config, null, 2)}\n`;
  return `# EMT Standalone Node site config, written by emt-usb\n${stringify(config, { lineWidth: 0 })}`;
}

export function summarize(c: SiteConfig): string {
  const net = c.static_ip ? `static IP ${c.static_ip}/${c.subnet_mask}` : 'DHCP';
  const parts = [
    `user ${c.user_name}`,
    `host type ${c.host_type}`,
    c.hostname ? `host name ${c.hostname}` : undefined,
    net,
    c.ssh_key ? `${c.ssh_key.split('\n').length} SSH key(s)` : 'no SSH key',
    c.lvm_size_ingb > 0 ? `LVM ${c.lvm_size_ingb} GB` : undefined,
    `${c.write_files.length} write_files`,
    `${c.runcmd.length} runcmd`,
    c.sticks.length > 0 ? `${c.sticks.length} per-stick override(s)` : undefined,
    `then ${c.after_install}`,
  ];
  return parts.filter(Boolean).join(', ');
}

export const configCommand: Command = {
  name: 'config',
  summary: 'check a site config (JSON, YAML or config-file) and convert between formats',
  usage: [
    'usage: emt-usb config <file> [--to legacy|yaml|json] [--out F]',
    '',
    'Reads the file as `build --config` does (format detected from its content, nothing',
    'in it is ever run) and prints what it configures, or every problem with its line.',
    '  --to FORMAT   print (or write with --out) the config in that format:',
    '                legacy = today\'s config-file (key="value" lines + YAML tail)',
    '  --out F       write there instead of stdout (atomically: temp file + rename)',
    'A plaintext passwd= line of an old config-file is never copied: use',
    '`build --password-file`.',
  ].join('\n'),
  async run(args, io) {
    const p = parseArgs(args, { to: 'string', out: 'string' });
    const [file, ...extra] = p.positionals;
    if (!file || extra.length > 0) throw new UsageError('give exactly one config file');
    const to = str(p, 'to');
    if (to !== undefined && !(FORMATS as readonly string[]).includes(to))
      throw new UsageError(`--to must be one of ${FORMATS.join(', ')}`);
    const out = str(p, 'out');
    if (out && !to) throw new UsageError('--out needs --to');
    const loaded = await loadConfig(file);
    if (loaded.legacyPassword !== undefined)
      io.err(
        `emt-usb config: ${file}: has a plaintext passwd= line; it is not copied (use build --password-file)`,
      );
    if (!to) {
      io.out(`${file}: valid (${loaded.format}): ${summarize(loaded.config)}`);
      return 0;
    }
    const text = renderConfig(loaded.config, to as OutFormat);
    // What we write must read back as the same config.
    const back = parseConfigText(text, `${file} as ${to}`).config;
    if (JSON.stringify(back) !== JSON.stringify(loaded.config))
      throw new Error(`config: the ${to} form of ${file} does not read back the same`);
    if (!out) {
      io.out(text.replace(/\n$/, ''));
      return 0;
    }
    const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, text, { mode: 0o644 });
      await rename(tmp, out);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    io.out(`wrote ${out} (${to})`);
    return 0;
  },
};
