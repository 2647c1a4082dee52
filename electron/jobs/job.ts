// The one shape of every job: `(options, { signal, onProgress }) => Promise<Result>`,
// plus a run-time `parse` for requests that crossed a process boundary.
import type { JobName, JobProgress, JobRequests, JobResults } from '../api.ts';
import { CancelledError, isCancelled } from '../errors.ts';

export interface JobContext<P> {
  signal: AbortSignal;
  onProgress: (event: P) => void;
}

export interface JobDefinition<J extends JobName> {
  name: J;
  /** Run-time check of an untrusted request; throws BadRequestError (or a typed input error). */
  parse(raw: unknown): JobRequests[J];
  run(options: JobRequests[J], ctx: JobContext<JobProgress[J]>): Promise<JobResults[J]>;
}

/** A context for callers that neither cancel nor watch (tests, scripts). */
export const quietContext = <P>(): JobContext<P> => ({
  signal: new AbortController().signal,
  onProgress: () => {},
});

/**
 * Runs `fn`; whatever it throws once the signal has fired becomes the one
 * cancellation error, so callers test for one code whichever stage stopped.
 */
export async function cancellable<T>(signal: AbortSignal, what: string, fn: () => Promise<T>): Promise<T> {
  if (signal.aborted) throw new CancelledError(`${what} cancelled`);
  try {
    return await fn();
  } catch (e) {
    if (signal.aborted && !(e instanceof CancelledError))
      throw new CancelledError(`${what} cancelled`, isCancelled(e) ? (e as CancelledError).file : undefined);
    throw e;
  }
}
