// The config-check job: is this site config valid, and what does it set up?
// Problems come back as values at their fields (the app shows them inline);
// only an unreadable source is an error.
import type { ConfigCheckRequest, ConfigCheckResult, ProgressValue } from '../api.ts';
import { ConfigError } from '../config/config-error.ts';
import { summarizeConfig } from '../config/render.ts';
import { loadConfigSource, readConfigSource } from './config-source.ts';
import type { JobContext } from './job.ts';
import { RequestReader } from './request.ts';

export function parseConfigCheck(raw: unknown): ConfigCheckRequest {
  const r = RequestReader.of('config-check', raw);
  const src = readConfigSource(r);
  r.done();
  return src;
}

/** The error for an invalid config (one line with every problem), as build would throw it. */
export const invalidConfig = (file: string, issues: ConfigCheckResult['issues']): ConfigError =>
  new ConfigError(file, issues);

const formatOf = (src: ConfigCheckRequest): ConfigCheckResult['format'] | null =>
  'values' in src ? 'values' : null;

export async function configCheck(
  src: ConfigCheckRequest,
  _ctx: JobContext<ProgressValue>,
): Promise<ConfigCheckResult> {
  try {
    const loaded = await loadConfigSource(src);
    return {
      valid: true,
      format: loaded.format,
      issues: [],
      config: loaded.config,
      summary: summarizeConfig(loaded.config),
      plaintextPassword: loaded.legacyPassword !== undefined,
    };
  } catch (e) {
    // Invalid content is an answer; a missing or unreadable file stays an error.
    if (!(e instanceof ConfigError) || e.code !== 'INVALID_CONFIG') throw e;
    return {
      valid: false,
      format: formatOf(src) ?? 'yaml',
      issues: e.issues,
      config: null,
      summary: null,
      plaintextPassword: false,
    };
  }
}
