// One entry point for a site config file in any of our formats: JSON, YAML, or
// today's config-file (detected by content, not by name). Nothing is executed.
import { readFile } from 'node:fs/promises';
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

export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : String(code);
    throw new ConfigError(path, [{ path: [], message: `cannot read the config: ${why}` }], 'CONFIG_READ');
  }
  return parseConfigText(text, path);
}
