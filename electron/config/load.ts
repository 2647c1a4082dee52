// One entry point for a site config file in any of our formats: JSON, YAML, or
// today's config-file (detected by content, not by name). Nothing is executed.
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from './config-error.ts';
import { looksLegacy, parseLegacyConfig } from './legacy.ts';
import type { SiteConfig } from './schema.ts';
import { validateConfig } from './validate.ts';
import { type ParsedSource, parseYamlSource } from './yaml-source.ts';

export type ConfigFormat = 'legacy' | 'yaml' | 'json';

export interface LoadedConfig {
  config: SiteConfig;
  format: ConfigFormat;
  /**
   * A plaintext password from an old config-file's `passwd=` line. Hash it
   * (hashPassword) and drop it; it must never be written anywhere.
   */
  legacyPassword?: string;
}

export function detectFormat(text: string): ConfigFormat {
  if (looksLegacy(text)) return 'legacy';
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

export function parseConfigText(text: string, file: string): LoadedConfig {
  if (text.includes('\u0000'))
    throw new ConfigError(file, [{ path: [], message: 'is a binary file, not a config' }]);
  const body = text.replace(/^\uFEFF/, '');
  const format = detectFormat(body);
  const src: ParsedSource = format === 'legacy' ? parseLegacyConfig(body, file) : parseYamlSource(body, file);
  const { config, issues } = validateConfig(src.raw ?? {});
  if (!config) {
    throw new ConfigError(
      file,
      issues.map((i) => {
        const line = src.lineOf(i.path);
        return line !== undefined ? { ...i, line } : i;
      }),
    );
  }
  return {
    config,
    format,
    ...(src.legacyPassword !== undefined ? { legacyPassword: src.legacyPassword } : {}),
  };
}

/**
 * Far above any real site config (a few certificates in write_files are tens of
 * KB), far below trouble: a YAML file of many small nodes costs over 100 bytes of
 * memory per byte of text, so 1 MiB keeps a parse near 150 MB (4 MiB: near 500).
 */
export const MAX_CONFIG_BYTES = 2 ** 20;

const tooLarge = (file: string, size: number) =>
  new ConfigError(
    file,
    [
      {
        path: [],
        message: `is ${size} bytes; a site config is at most ${MAX_CONFIG_BYTES} bytes (1 MiB: far above any real config, and parsing a larger one would only cost memory)`,
      },
    ],
    'CONFIG_TOO_LARGE',
  );

/** The size cap, for a config given as text (the app's editor). */
export function checkConfigTextSize(text: string, file: string): void {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_CONFIG_BYTES) throw tooLarge(file, size);
}

/** Reads and parses a config file; its size is checked before a byte is read. */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    const { size } = await stat(path);
    if (size > MAX_CONFIG_BYTES) throw tooLarge(path, size);
    const bytes = await readFile(path);
    // The file may have grown between the two calls.
    if (bytes.length > MAX_CONFIG_BYTES) throw tooLarge(path, bytes.length);
    text = bytes.toString('utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : String(code);
    throw new ConfigError(path, [{ path: [], message: `cannot read the config: ${why}` }], 'CONFIG_READ');
  }
  return parseConfigText(text, path);
}
