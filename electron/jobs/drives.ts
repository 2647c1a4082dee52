// The drives job: every drive with the policy's verdict (refused ones with reasons).
import { resolve } from 'node:path';
import type { DrivesRequest, DrivesResult, ProgressValue } from '../api.ts';
import { listDrives } from '../flash/drive-list.ts';
import { judgeDrives } from '../flash/drive-policy.ts';
import { checkInputFile, imageInput } from '../inputs/input-file.ts';
import type { JobContext } from './job.ts';
import { RequestReader } from './request.ts';

export function parseDrives(raw: unknown): DrivesRequest {
  const r = RequestReader.of('drives', raw);
  const showAll = r.requiredBool('showAll');
  const image = r.optPath('image');
  r.done();
  return { showAll, ...(image !== undefined ? { image } : {}) };
}

/** The running program, so the drive holding it is refused. */
export const appPath = (): string => process.argv[1] ?? process.execPath;

export async function drives(o: DrivesRequest, _ctx: JobContext<ProgressValue>): Promise<DrivesResult> {
  const imageSize = o.image ? (await checkInputFile(o.image, imageInput(o.image))).size : 0;
  const list = await listDrives();
  const verdicts = judgeDrives(list, {
    imageSize,
    showAll: o.showAll,
    ...(o.image ? { imagePath: resolve(o.image) } : {}),
    appPath: appPath(),
  });
  return { drives: list.map((drive, i) => ({ drive, verdict: verdicts[i]! })) };
}
