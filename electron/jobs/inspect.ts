// The inspect job: what a bootkit holds and whether it has what the installer needs.
import type { InspectRequest, InspectResult, ProgressValue } from '../api.ts';
import { inspectBootkit } from '../bootkit/inspect.ts';
import { bootkitInput, checkInputFile } from '../inputs/input-file.ts';
import { cancellable, type JobContext } from './job.ts';
import { RequestReader } from './request.ts';

export function parseInspect(raw: unknown): InspectRequest {
  const r = RequestReader.of('inspect', raw);
  const inputs = r.pathList('inputs', 1, 2);
  r.done();
  return { inputs };
}

export async function inspect(o: InspectRequest, ctx: JobContext<ProgressValue>): Promise<InspectResult> {
  for (const p of o.inputs) await checkInputFile(p, bootkitInput(p));
  return cancellable(ctx.signal, `inspect of ${o.inputs.join(' + ')}`, () =>
    inspectBootkit(o.inputs, { signal: ctx.signal, onProgress: ctx.onProgress }),
  );
}
