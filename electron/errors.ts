// Errors that reach a user. Each carries the message a person reads (naming the
// file and the problem); the CLI prints it unchanged as one line and exits 2.

export type ErrorArea = 'usage' | 'bootkit' | 'initramfs' | 'iso' | 'config' | 'flash' | 'io';

export class EmtError extends Error {
  readonly area: ErrorArea;
  readonly code: string;
  /** The path the problem is about, when there is one. */
  readonly file: string | undefined;

  constructor(area: ErrorArea, code: string, message: string, file?: string) {
    super(message);
    this.name = 'EmtError';
    this.area = area;
    this.code = code;
    this.file = file;
  }

  /** Plain shape for JSON output and IPC. */
  toJSON(): { area: ErrorArea; code: string; message: string; file?: string } {
    return {
      area: this.area,
      code: this.code,
      message: this.message,
      ...(this.file ? { file: this.file } : {}),
    };
  }
}

export class UsageError extends EmtError {
  constructor(message: string) {
    super('usage', 'USAGE', message);
  }
}

export const isEmtError = (e: unknown): e is EmtError => e instanceof EmtError;
