// Today's `config-file`: shell `key="value"` lines, then a YAML tail (services,
// write_files, runcmd). Parsed, never sourced: quotes are read as the shell would
// delimit them, but nothing inside is expanded or run.
import { stringify } from 'yaml';
import { ConfigError } from './config-error.ts';
import { PROXY_KEYS, type SiteConfig } from './schema.ts';
import { type FieldPath, type ParsedSource, parseYamlSource } from './yaml-source.ts';

// Keys the shell part may hold. `hostname`, `after_install` and `target_disk_*` are
// ours; `passwd` and `reporting_*` come from older releases of the file.
const SHELL_KEYS = new Set<string>([
  ...PROXY_KEYS,
  'ssh_key',
  'user_name',
  'host_type',
  'static_ip',
  'subnet_mask',
  'default_gate_way',
  'dns_name_server',
  'lvm_size_ingb',
  'huge_page_config',
  'USER_CUSTOM_NTP_SERVERS',
  'hostname',
  'after_install',
  'target_disk_serial',
  'target_disk_path',
  'passwd',
  'reporting_group_id',
  'reporting_endpoint',
  'reporting_token',
  'reporting_disabled',
]);

const ASSIGNMENT = /^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=/;
const YAML_KEY = /^[A-Za-z_][A-Za-z0-9_]*[ \t]*:/;

/** True when the text looks like today's config-file (a shell assignment before any YAML key). */
export function looksLegacy(text: string): boolean {
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    return ASSIGNMENT.test(t);
  }
  return false;
}

interface Cursor {
  text: string;
  pos: number;
  line: number;
}

/** Reads one shell word (quotes delimit, nothing expands); stops at blank, '#' or end of line. */
function readValue(c: Cursor, file: string, key: string): string {
  let out = '';
  const startLine = c.line;
  const fail = (message: string): never => {
    throw new ConfigError(file, [{ path: [key], line: startLine, message }], 'LEGACY_SYNTAX');
  };
  while (c.pos < c.text.length) {
    const ch = c.text[c.pos]!;
    if (ch === '\n' || ch === ' ' || ch === '\t' || ch === '\r') break;
    if (ch === '"') {
      c.pos++;
      for (;;) {
        if (c.pos >= c.text.length) fail('the double quote opened here is never closed');
        const d = c.text[c.pos]!;
        if (d === '"') break;
        if (d === '\\' && c.pos + 1 < c.text.length && '"\\$`\n'.includes(c.text[c.pos + 1]!)) {
          const e = c.text[c.pos + 1]!;
          if (e === '\n') c.line++;
          else out += e;
          c.pos += 2;
          continue;
        }
        if (d === '\n') c.line++;
        out += d;
        c.pos++;
      }
      c.pos++;
    } else if (ch === "'") {
      const end = c.text.indexOf("'", c.pos + 1);
      if (end < 0) fail('the single quote opened here is never closed');
      const s = c.text.slice(c.pos + 1, end);
      c.line += s.split('\n').length - 1;
      out += s;
      c.pos = end + 1;
    } else if (ch === '\\' && c.pos + 1 < c.text.length && c.text[c.pos + 1] !== '\n') {
      out += c.text[c.pos + 1];
      c.pos += 2;
    } else if (ch === '#' && out === '') {
      break;
    } else {
      out += ch;
      c.pos++;
    }
  }
  return out;
}

export function parseLegacyConfig(text: string, file: string): ParsedSource {
  const raw: Record<string, unknown> = {};
  const lines = new Map<string, number>();
  let legacyPassword: string | undefined;
  const c: Cursor = { text: text.replace(/\r\n/g, '\n'), pos: 0, line: 1 };
  let tailStart = -1;
  let tailLine = 0;
  while (c.pos < c.text.length) {
    const eol = c.text.indexOf('\n', c.pos);
    const lineText = c.text.slice(c.pos, eol < 0 ? undefined : eol);
    const t = lineText.trim();
    if (t === '' || t.startsWith('#')) {
      c.pos = eol < 0 ? c.text.length : eol + 1;
      c.line++;
      continue;
    }
    if (YAML_KEY.test(lineText)) {
      tailStart = c.pos;
      tailLine = c.line;
      break;
    }
    const lead = lineText.length - lineText.trimStart().length;
    const m = ASSIGNMENT.exec(lineText.trimStart());
    if (!m)
      throw new ConfigError(
        file,
        [
          {
            path: [],
            line: c.line,
            message: `expected key="value" or a YAML section, found '${t.slice(0, 40)}'`,
          },
        ],
        'LEGACY_SYNTAX',
      );
    const key = m[1]!;
    const keyLine = c.line;
    if (!SHELL_KEYS.has(key))
      throw new ConfigError(
        file,
        [{ path: [key], line: keyLine, message: 'unknown setting (misspelt?)' }],
        'LEGACY_KEY',
      );
    if (lines.has(key))
      throw new ConfigError(
        file,
        [{ path: [key], line: keyLine, message: `set twice (first on line ${lines.get(key)})` }],
        'LEGACY_KEY',
      );
    c.pos += lead + m[0].length;
    const value = readValue(c, file, key);
    // Only blanks and a comment may follow the value on its line.
    const rest = c.text.slice(
      c.pos,
      c.text.indexOf('\n', c.pos) < 0 ? undefined : c.text.indexOf('\n', c.pos),
    );
    if (rest.trim() !== '' && !rest.trim().startsWith('#'))
      throw new ConfigError(
        file,
        [
          {
            path: [key],
            line: c.line,
            message: `unexpected text after the value: '${rest.trim().slice(0, 40)}' (quote values with spaces)`,
          },
        ],
        'LEGACY_SYNTAX',
      );
    c.pos += rest.length + 1;
    lines.set(key, keyLine);
    c.line++;
    if (key === 'passwd') {
      if (value !== '') legacyPassword = value;
    } else if (key.startsWith('reporting_')) {
      if (value !== '')
        throw new ConfigError(
          file,
          [
            {
              path: [key],
              line: keyLine,
              message: 'edge data collection is not supported by this installer: leave it empty',
            },
          ],
          'LEGACY_KEY',
        );
    } else if (key === 'target_disk_serial' || key === 'target_disk_path') {
      if (value !== '') {
        const td = (raw.target_disk ?? {}) as Record<string, string>;
        td[key === 'target_disk_serial' ? 'serial' : 'path'] = value;
        raw.target_disk = td;
      }
    } else if (value !== '') raw[key] = value;
  }

  let tail: ParsedSource | undefined;
  if (tailStart >= 0) {
    tail = parseYamlSource(c.text.slice(tailStart), file, tailLine - 1);
    const t = tail.raw;
    if (t !== null && t !== undefined) {
      if (typeof t !== 'object' || Array.isArray(t))
        throw new ConfigError(file, [
          {
            path: [],
            line: tailLine,
            message: 'the YAML part must be a map (services:, write_files:, runcmd:)',
          },
        ]);
      for (const [k, v] of Object.entries(t)) {
        if (lines.has(k))
          throw new ConfigError(
            file,
            [{ path: [k], line: tail.lineOf([k]), message: `set twice (first on line ${lines.get(k)})` }],
            'LEGACY_KEY',
          );
        raw[k] = v;
      }
    }
  }
  const lineOf = (path: FieldPath): number | undefined => {
    const top = path[0];
    if (typeof top === 'string') {
      if (top === 'target_disk')
        return (
          lines.get(path[1] === 'path' ? 'target_disk_path' : 'target_disk_serial') ??
          lines.get('target_disk_serial') ??
          lines.get('target_disk_path')
        );
      if (lines.has(top)) return lines.get(top);
    }
    return tail?.lineOf(path);
  };
  return { raw, lineOf, ...(legacyPassword !== undefined ? { legacyPassword } : {}) };
}

/** Double-quoted shell word: only \ " $ ` need a backslash inside double quotes. */
const shellQuote = (s: string): string => `"${s.replace(/[\\"$`]/g, (m) => `\\${m}`)}"`;

/** Today's config-file format, readable by today's tooling and by parseLegacyConfig. */
export function toLegacyConfigFile(config: SiteConfig): string {
  const out: string[] = ['# EMT Standalone Node site config (config-file format), written by emt-usb', ''];
  const put = (k: string, v: string | number | undefined) =>
    out.push(`${k}=${shellQuote(v === undefined ? '' : String(v))}`);
  for (const k of PROXY_KEYS) put(k, config[k]);
  put('ssh_key', config.ssh_key);
  put('user_name', config.user_name);
  put('host_type', config.host_type);
  put('static_ip', config.static_ip);
  put('subnet_mask', config.subnet_mask);
  put('default_gate_way', config.default_gate_way);
  put('dns_name_server', config.dns_name_server.join(','));
  put('lvm_size_ingb', config.lvm_size_ingb);
  put('huge_page_config', config.huge_page_config);
  put('USER_CUSTOM_NTP_SERVERS', config.USER_CUSTOM_NTP_SERVERS.join(','));
  out.push('', '# emt-usb additions');
  put('hostname', config.hostname);
  put('after_install', config.after_install);
  put('target_disk_serial', config.target_disk?.serial);
  put('target_disk_path', config.target_disk?.path);
  out.push('');
  const tail: Record<string, unknown> = {
    services: config.services,
    write_files: config.write_files,
    runcmd: config.runcmd,
  };
  if (config.sticks.length > 0) tail.sticks = config.sticks;
  out.push(stringify(tail, { lineWidth: 0 }));
  return out.join('\n');
}
