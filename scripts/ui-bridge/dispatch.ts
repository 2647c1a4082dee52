// One job call from the page: the registry's runJob (parse, then run: the same
// path Electron main takes). The one test-only swap: with a `driveSource` the
// drives job judges that list (loop devices; drivelist never lists them) by the
// same policy, so a UI test can show and flash loop devices.
import { resolve } from 'node:path';
import type { DrivesRequest, DrivesResult, JobName, JobProgress, JobReply } from '../../electron/api.ts';
import { errorValue } from '../../electron/errors.ts';
import type { Drive } from '../../electron/flash/drive-list.ts';
import { judgeDrives } from '../../electron/flash/drive-policy.ts';
import { checkInputFile } from '../../electron/inputs/input-file.ts';
import { appPath } from '../../electron/jobs/drives.ts';
import type { JobContext } from '../../electron/jobs/job.ts';
import { jobs, runJob } from '../../electron/jobs/registry.ts';

export interface DispatchContext extends JobContext<never> {
  driveSource?: () => Promise<Drive[]>;
}

async function drivesFrom(o: DrivesRequest, source: () => Promise<Drive[]>): Promise<DrivesResult> {
  const imageSize = o.image ? (await checkInputFile(o.image, 'image')).size : 0;
  const list = await source();
  const verdicts = judgeDrives(list, {
    imageSize,
    showAll: o.showAll,
    ...(o.image ? { imagePath: resolve(o.image) } : {}),
    appPath: appPath(),
  });
  return { drives: list.map((drive, i) => ({ drive, verdict: verdicts[i]! })) };
}

export async function dispatchJob<J extends JobName>(
  job: J,
  raw: unknown,
  ctx: { signal: AbortSignal; onProgress: (e: never) => void; driveSource?: () => Promise<Drive[]> },
): Promise<JobReply<J>> {
  const jobCtx = { signal: ctx.signal, onProgress: ctx.onProgress } as JobContext<JobProgress[J]>;
  if (job === 'drives' && ctx.driveSource) {
    try {
      return { result: await drivesFrom(jobs.drives.parse(raw), ctx.driveSource) } as JobReply<J>;
    } catch (e) {
      return { error: errorValue(e) };
    }
  }
  return runJob(job, raw, jobCtx);
}
