// emt-usb config: check a site config (JSON, YAML or today's config-file) the way
// `build` reads it, and convert it between those formats.
import type { ConfigFormat } from '../api.ts';
import { UsageError } from '../errors.ts';
import { configCheck, invalidConfig } from '../jobs/config-check.ts';
import { CONFIG_FORMATS, configConvert } from '../jobs/config-convert.ts';
import { parseArgs, str } from './args.ts';
import type { Command } from './command.ts';

export const configCommand: Command = {
  name: 'config',
  summary: 'check a site config (JSON, YAML or config-file) and convert between formats',
  usage: [
    'usage: emt-usb config <file> [--to legacy|yaml|json] [--out F] [--json]',
    '',
    'Reads the file as `build --config` does (format detected from its content, nothing',
    'in it is ever run; at most 4 MiB) and prints what it configures, or every problem',
    'with its line.',
    '  --to FORMAT   print (or write with --out) the config in that format:',
    '                legacy = today\'s config-file (key="value" lines + YAML tail)',
    '  --out F       write there instead of stdout (atomically: temp file + rename)',
    '  --json        the result as JSON lines (see README: --json)',
    'A plaintext passwd= line of an old config-file is never copied: use',
    '`build --password-file`.',
  ].join('\n'),
  async run(args, io, session) {
    const p = parseArgs(args, { to: 'string', out: 'string', json: 'bool' });
    const [file, ...extra] = p.positionals;
    if (!file || extra.length > 0) throw new UsageError('give exactly one config file');
    const to = str(p, 'to');
    if (to !== undefined && !(CONFIG_FORMATS as readonly string[]).includes(to))
      throw new UsageError(`--to must be one of ${CONFIG_FORMATS.join(', ')}`);
    const out = str(p, 'out');
    if (out && !to) throw new UsageError('--out needs --to');
    const ctx = { signal: session.signal, onProgress: session.progress };
    const plaintextNote = () =>
      io.err(
        `emt-usb config: ${file}: has a plaintext passwd= line; it is not copied (use build --password-file)`,
      );
    if (!to) {
      const r = await configCheck({ file }, ctx);
      // Invalid is bad input: one line with every problem, exit 2 (as build would say it).
      if (!r.valid) throw invalidConfig(file, r.issues);
      if (r.plaintextPassword) plaintextNote();
      session.result(r);
      if (!session.json) io.out(`${file}: valid (${r.format}): ${r.summary}`);
      return 0;
    }
    const r = await configConvert({ file, to: to as ConfigFormat, ...(out ? { out } : {}) }, ctx);
    if (r.plaintextPasswordDropped) plaintextNote();
    session.result(r);
    if (session.json) return 0;
    if (!out) io.out(r.text.replace(/\n$/, ''));
    else io.out(`wrote ${out} (${to})`);
    return 0;
  },
};
