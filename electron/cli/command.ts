// The shape every CLI sub-command module exports; cli/index.ts dispatches to them.

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** True when stderr is a terminal (draw a progress bar, not JSON lines). */
  isTty: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. Throw EmtError for user-facing failures. */
  run(args: string[], io: CliIo): Promise<number>;
}
