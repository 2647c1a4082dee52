// Progress is one typed event stream, produced by jobs and consumed alike by the
// CLI bar, `--json` lines and (later) the Svelte view.

export interface ProgressEvent {
  /** Stage name, e.g. 'inject', 'master', 'write', 'verify'. */
  stage: string;
  /** Units done so far (bytes unless `unit` says otherwise). */
  done: number;
  /** Total units, or null when unknown. */
  total: number | null;
  bytesPerSecond?: number;
  unit?: 'bytes' | 'files' | 'steps';
  /** Free text for a human, e.g. the device or file being worked on. */
  detail?: string;
}

export type ProgressSink = (event: ProgressEvent) => void;

export const noProgress: ProgressSink = () => {};
