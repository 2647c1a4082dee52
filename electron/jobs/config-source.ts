// A site config from wherever the user has it: a file (JSON, YAML or today's
// config-file), a text, or the app form's values. The same validator for all.
import type { ConfigSource } from '../api.ts';
import { ConfigError } from '../config/config-error.ts';
import { checkConfigTextSize, type LoadedConfig, loadConfig, parseConfigText } from '../config/load.ts';
import { validateConfig } from '../config/validate.ts';
import { BadRequestError } from '../errors.ts';
import { checkInputFile } from '../inputs/input-file.ts';
import type { RequestReader } from './request.ts';

export type LoadedSource = Omit<LoadedConfig, 'format'> & { format: LoadedConfig['format'] | 'values' };

export async function loadConfigSource(src: ConfigSource): Promise<LoadedSource> {
  if ('file' in src) {
    await checkInputFile(src.file, (problem) => `${src.file}: cannot read the config: ${problem}`);
    return loadConfig(src.file);
  }
  if ('text' in src) {
    checkConfigTextSize(src.text, src.name ?? 'the config');
    return parseConfigText(src.text, src.name ?? 'the config');
  }
  const { config, issues } = validateConfig(src.values);
  if (!config) throw new ConfigError('the config form', issues);
  return { config, format: 'values' };
}

/** Reads `{file} | {text, name?} | {values}` out of a request. */
export function readConfigSource(r: RequestReader): ConfigSource {
  const n = ['file', 'text', 'values'].filter((k) => r.has(k));
  if (n.length !== 1) throw new BadRequestError(`${r.job}: give exactly one of file, text, values`);
  if (r.has('file')) return { file: r.path('file') };
  if (r.has('text')) {
    const name = r.optString('name');
    return { text: r.string('text'), ...(name !== undefined ? { name } : {}) };
  }
  return { values: r.optJsonObject('values')! };
}
