// The shape every CLI sub-command module exports; cli/index.ts dispatches to them.
import type { ProgressValue } from '../api.ts';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** True when stderr is a terminal (draw a progress bar, not JSON lines). */
  isTty: boolean;
}

/** What index.ts gives a command: the job's signal and the one output protocol. */
export interface CliSession {
  /** Fires on SIGINT/SIGTERM: pass it to the job, which then removes its temp files. */
  signal: AbortSignal;
  /** --json: progress and the result as JSON lines on stdout (see README). */
  json: boolean;
  /** A job's progress: a JSON line with --json, else the terminal's bar. */
  progress: (event: ProgressValue) => void;
  /** The job's result: the one result line with --json; a no-op otherwise. */
  result: (value: object) => void;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. Throw EmtError for user-facing failures. */
  run(args: string[], io: CliIo, session: CliSession): Promise<number>;
}
