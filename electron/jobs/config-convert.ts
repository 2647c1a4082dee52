// The config-convert job: a site config in another of our formats, checked to
// read back the same, returned and (with `out`) written atomically.
import type { ConfigConvertRequest, ConfigConvertResult, ConfigFormat, ProgressValue } from '../api.ts';
import { parseConfigText } from '../config/load.ts';
import { renderConfig } from '../config/render.ts';
import { checkNotAnInput, checkOutputFile, writeFileAtomic } from '../inputs/output-path.ts';
import { loadConfigSource, readConfigSource } from './config-source.ts';
import type { JobContext } from './job.ts';
import { RequestReader } from './request.ts';

export const CONFIG_FORMATS: readonly ConfigFormat[] = ['legacy', 'yaml', 'json'];

export function parseConfigConvert(raw: unknown): ConfigConvertRequest {
  const r = RequestReader.of('config-convert', raw);
  const src = readConfigSource(r);
  const to = r.enum('to', CONFIG_FORMATS);
  const out = r.optPath('out');
  r.done();
  return { ...src, to, ...(out !== undefined ? { out } : {}) };
}

export async function configConvert(
  o: ConfigConvertRequest,
  _ctx: JobContext<ProgressValue>,
): Promise<ConfigConvertResult> {
  if (o.out) {
    await checkNotAnInput([o.out], ['file' in o ? o.file : undefined]);
    await checkOutputFile(o.out);
  }
  const loaded = await loadConfigSource(o);
  const text = renderConfig(loaded.config, o.to);
  // What we write must read back as the same config.
  const back = parseConfigText(text, `the ${o.to} form`).config;
  if (JSON.stringify(back) !== JSON.stringify(loaded.config))
    throw new Error(`config: the ${o.to} form does not read back the same`);
  if (o.out) await writeFileAtomic(o.out, text);
  return {
    to: o.to,
    text,
    out: o.out ?? null,
    plaintextPasswordDropped: loaded.legacyPassword !== undefined,
  };
}
