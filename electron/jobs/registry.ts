// Every job by name, with its run-time request check: what Electron main and the
// UI test bridge call (the CLI calls the same job modules directly). A request
// from the renderer is untrusted: `parse` first, then `run`.
import {
  badRequest,
  type ErrorReply,
  isJobName,
  type JobName,
  type JobProgress,
  type JobReply,
} from '../api.ts';
import { errorValue } from '../errors.ts';
import { bootkit, parseBootkit } from './bootkit.ts';
import { build, parseBuild } from './build.ts';
import { configCheck, parseConfigCheck } from './config-check.ts';
import { configConvert, parseConfigConvert } from './config-convert.ts';
import { drives, parseDrives } from './drives.ts';
import { checkTargetsAllowed, flash, parseFlash } from './flash.ts';
import { inject, parseInject } from './inject.ts';
import { inspect, parseInspect } from './inspect.ts';
import type { JobContext, JobDefinition } from './job.ts';
import { osImage, parseOsImage } from './os-image.ts';
import {
  parsePreview,
  parsePreviewDiff,
  parsePreviewVm,
  preview,
  previewDiff,
  previewVm,
} from './preview.ts';
import { parseVerify, verify } from './verify.ts';

export type Registry = { [J in JobName]: JobDefinition<J> };

export const jobs: Registry = {
  inspect: { name: 'inspect', parse: parseInspect, run: inspect },
  inject: { name: 'inject', parse: parseInject, run: inject },
  bootkit: { name: 'bootkit', parse: parseBootkit, run: bootkit },
  build: { name: 'build', parse: parseBuild, run: build },
  'os-image': { name: 'os-image', parse: parseOsImage, run: osImage },
  drives: { name: 'drives', parse: parseDrives, run: drives },
  flash: {
    name: 'flash',
    parse: parseFlash,
    // The app re-checks every drive choice against the policy before anything starts.
    run: async (o, ctx) => {
      await checkTargetsAllowed(o);
      return flash(o, ctx);
    },
  },
  verify: { name: 'verify', parse: parseVerify, run: verify },
  'config-check': { name: 'config-check', parse: parseConfigCheck, run: configCheck },
  'config-convert': { name: 'config-convert', parse: parseConfigConvert, run: configConvert },
  preview: { name: 'preview', parse: parsePreview, run: preview },
  'preview-diff': { name: 'preview-diff', parse: parsePreviewDiff, run: previewDiff },
  'preview-vm': { name: 'preview-vm', parse: parsePreviewVm, run: previewVm },
};

/**
 * Parses and runs one job; never throws. Errors come back as values; a bug of
 * ours is handed to `logInternal` (which stores the stack and says where).
 */
export async function runJob<J extends JobName>(
  job: J,
  raw: unknown,
  ctx: JobContext<JobProgress[J]>,
  logInternal?: (e: unknown) => string | undefined,
): Promise<JobReply<J>> {
  if (!isJobName(job)) return badRequest(`unknown job ${String(job)}`) as ErrorReply;
  const def = jobs[job] as JobDefinition<J>;
  try {
    const request = def.parse(raw);
    return { result: await def.run(request, ctx) };
  } catch (e) {
    return { error: errorValue(e, logInternal) };
  }
}
