// Runs registry jobs for a client that is not trusted (the renderer over IPC,
// a page over the UI test bridge): one AbortController per job id, progress
// tagged with the job id and thinned to ~10 events a second per stage and
// device, cancel by id. Electron main and the UI test bridge both use it.
import { type JobName, type JobReply, type ProgressMessage, parseJobId, parseRunCall } from '../api.ts';
import { runJob } from './registry.ts';

export const PROGRESS_MIN_MS = 100;

export interface JobHostOptions {
  /** Stores an internal error's stack; returns the log path to name in the message. */
  logInternal?: (e: unknown) => string | undefined;
  now?: () => number;
}

export class JobHost {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly opts: JobHostOptions = {}) {}

  /** Runs one call `{ job, jobId, request }`; `send` receives its progress. Never throws. */
  async run(call: unknown, send: (m: ProgressMessage) => void): Promise<JobReply<JobName>> {
    const parsed = parseRunCall(call);
    if ('error' in parsed) return parsed;
    const { job, jobId, request } = parsed;
    if (this.running.has(jobId))
      return {
        error: {
          area: 'usage',
          code: 'BAD_REQUEST',
          message: `job id ${jobId} is already running`,
          file: null,
        },
      };
    const ac = new AbortController();
    this.running.set(jobId, ac);
    const now = this.opts.now ?? Date.now;
    const last = new Map<string, number>();
    try {
      return await runJob(
        job,
        request,
        {
          signal: ac.signal,
          onProgress: (event) => {
            // Thin per stage (and device): the first and last event of each always pass.
            const key = `${event.stage}\0${'device' in event ? event.device : ''}`;
            const t = now();
            const prev = last.get(key);
            const final = event.total !== null && event.done >= event.total;
            if (prev !== undefined && t - prev < PROGRESS_MIN_MS && !final) return;
            last.set(key, t);
            send({ jobId, job, event });
          },
        },
        this.opts.logInternal,
      );
    } finally {
      this.running.delete(jobId);
    }
  }

  /** Aborts a running job; unknown ids are ignored. */
  cancel(jobId: unknown): boolean {
    const id = parseJobId(jobId);
    const ac = id ? this.running.get(id) : undefined;
    ac?.abort();
    return ac !== undefined;
  }

  /** Aborts every job (the window closed). */
  cancelAll(): void {
    for (const ac of this.running.values()) ac.abort();
  }

  get size(): number {
    return this.running.size;
  }
}
