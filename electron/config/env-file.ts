// The strict key=value format the edge node reads without `source` or a YAML
// parser (documented in installer-scripts/README.md, decoded by lib/config.sh):
// - one `key=value` per line, LF endings, '#' comment lines and blank lines allowed;
// - keys match [A-Za-z_][A-Za-z0-9_]*;
// - values are UTF-8 bytes, each byte outside [A-Za-z0-9._~:/,@+=-] written as %XX
//   (upper-case hex), so no space, quote, $, `, backslash, % or newline is ever raw.

const SAFE_BYTE = /^[A-Za-z0-9._~:/,@+=-]$/;
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENCODED_VALUE = /^(?:[A-Za-z0-9._~:/,@+=-]|%[0-9A-Fa-f]{2})*$/;

export function encodeEnvValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE_BYTE.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeEnvValue(encoded: string): string {
  if (!ENCODED_VALUE.test(encoded)) throw new Error(`not an encoded value: ${JSON.stringify(encoded)}`);
  return Buffer.from(
    encoded.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

export function formatEnvFile(entries: [string, string | number | undefined][], header?: string): string {
  const lines = header ? header.split('\n').map((l) => `# ${l}`) : [];
  for (const [k, v] of entries) {
    if (!ENV_KEY.test(k)) throw new Error(`bad env key ${JSON.stringify(k)}`);
    lines.push(`${k}=${encodeEnvValue(v === undefined ? '' : String(v))}`);
  }
  return `${lines.join('\n')}\n`;
}

export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? '' : line.slice(0, eq);
    if (!ENV_KEY.test(key)) throw new Error(`bad env line ${JSON.stringify(line)}`);
    out.set(key, decodeEnvValue(line.slice(eq + 1)));
  }
  return out;
}
