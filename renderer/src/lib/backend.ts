// The renderer's one door to the engine: `window.emt`, typed by electron/api.ts.
// Jobs get ids made here so a screen can cancel them while they run.
import type {
  EmtBridge,
  ErrorValue,
  JobName,
  JobProgress,
  JobReply,
  JobRequests,
  JobResults,
} from '../../../electron/api.ts';

declare global {
  interface Window {
    emt?: EmtBridge;
  }
}

export function bridge(): EmtBridge {
  const b = window.emt;
  if (!b) throw new Error('window.emt is missing: the app was opened without its preload');
  return b;
}

let seq = 0;
export const newJobId = (job: JobName): string =>
  `${job.replace(/[^A-Za-z0-9]/g, '')}-${++seq}-${Math.random().toString(36).slice(2, 10)}`;

export interface RunningJob<J extends JobName> {
  jobId: string;
  reply: Promise<JobReply<J>>;
  cancel(): Promise<void>;
}

export function startJob<J extends JobName>(
  job: J,
  request: JobRequests[J],
  onProgress?: (event: JobProgress[J]) => void,
): RunningJob<J> {
  const jobId = newJobId(job);
  const b = bridge();
  const reply = b.run(job, request, { jobId, ...(onProgress ? { onProgress } : {}) }).catch(
    (e: unknown): JobReply<J> => ({
      error: {
        area: 'internal',
        code: 'BRIDGE',
        message: `the app could not reach its engine: ${e instanceof Error ? e.message : String(e)}`,
        file: null,
      },
    }),
  );
  return { jobId, reply, cancel: () => b.cancel(jobId) };
}

export type Outcome<J extends JobName> =
  | { ok: true; value: JobResults[J] }
  | { ok: false; error: ErrorValue };

export async function runJob<J extends JobName>(
  job: J,
  request: JobRequests[J],
  onProgress?: (event: JobProgress[J]) => void,
): Promise<Outcome<J>> {
  const r = await startJob(job, request, onProgress).reply;
  return 'error' in r ? { ok: false, error: r.error } : { ok: true, value: r.result };
}
