// Errors that reach a user. Each carries the message a person reads (naming the
// file and the problem); the CLI prints it unchanged as one line and exits 2.
// Also the one cancellation error, the one errno-to-message helper and the one
// error-to-value mapping every caller (CLI --json, IPC, the test bridge) uses.

export type ErrorArea =
  | 'usage'
  | 'bootkit'
  | 'initramfs'
  | 'iso'
  | 'config'
  | 'flash'
  | 'io'
  | 'cancelled'
  | 'internal';

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
  constructor(message: string, code = 'USAGE') {
    super('usage', code, message);
  }
}

/** A request that does not have the shape its job takes (IPC, test bridge). */
export class BadRequestError extends EmtError {
  constructor(message: string) {
    super('usage', 'BAD_REQUEST', message);
  }
}

/** The one cancellation error: the job's AbortSignal fired. */
export class CancelledError extends EmtError {
  constructor(message = 'cancelled', file?: string) {
    super('cancelled', 'CANCELLED', message, file);
    this.name = 'CancelledError';
  }
}

/** A file input or output that is not what it must be (missing, a folder, unwritable...). */
export class InputError extends EmtError {
  constructor(code: IoCode, message: string, file?: string) {
    super('io', code, message, file);
    this.name = 'InputError';
  }
}

export type IoCode =
  | 'NOT_FOUND'
  | 'NOT_A_FILE'
  | 'NOT_A_FOLDER'
  | 'ACCESS_DENIED'
  | 'TOO_LARGE'
  | 'READ_FAILED'
  | 'OUT_IS_INPUT'
  | 'OUT_NO_FOLDER'
  | 'OUT_IS_FOLDER'
  | 'OUT_UNWRITABLE'
  | 'NO_SPACE'
  | 'WRITE_FAILED';

export const isEmtError = (e: unknown): e is EmtError => e instanceof EmtError;

/** Any error a cancelled job ends with counts as cancellation (xorriso, build, flash codes alike). */
export const isCancelled = (e: unknown): boolean => isEmtError(e) && e.code === 'CANCELLED';

/** Throws the cancellation error when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string, file?: string): void {
  if (signal?.aborted) throw new CancelledError(`${what} cancelled`, file);
}

/** What an errno means for a person, e.g. "does not exist", "no space left on the disk". */
export function errnoMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  switch (err?.code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'is on a read-only file system';
    case 'ENOSPC':
      return 'no space left on the disk';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EFBIG':
      return 'file too large for this file system';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'ELOOP':
      return 'has too many levels of symbolic links';
    case 'EBUSY':
      return 'is in use by another program';
    case 'EIO':
      return 'I/O error (a failing disk or a loose connection?)';
    case 'ESPIPE':
      return 'is a pipe or socket, not a file';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'EXDEV':
      return 'is on another file system';
    default:
      return err?.code ? `${err.code}${err.message ? ` (${err.message})` : ''}` : String(e);
  }
}

/**
 * Control characters (newlines, escapes, NUL...) written visibly, so a message
 * stays one line and cannot drive the terminal: "\n" -> "\\n", ESC -> "\\x1b".
 */
export function escapeControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

export interface ErrorValueShape {
  area: ErrorArea;
  code: string;
  message: string;
  file: string | null;
  issues?: { path: (string | number)[]; message: string; line?: number }[];
  log?: string;
}

/**
 * The one mapping from a thrown value to what crosses a boundary. Our errors keep
 * their code; anything else is a bug of ours: `logInternal` stores its stack and
 * returns where, and the value says only "internal error: ... (details: <log>)".
 */
export function errorValue(e: unknown, logInternal?: (e: unknown) => string | undefined): ErrorValueShape {
  if (isEmtError(e)) {
    const issues = (e as { issues?: unknown }).issues;
    return {
      area: e.area,
      code: e.code,
      message: escapeControl(e.message),
      file: e.file === undefined ? null : escapeControl(e.file),
      ...(Array.isArray(issues)
        ? {
            issues: (issues as ErrorValueShape['issues'] & object).map((i) => ({
              ...i,
              message: escapeControl(i.message),
            })),
          }
        : {}),
    };
  }
  const log = logInternal?.(e);
  const what = e instanceof Error ? e.message : String(e);
  return {
    area: 'internal',
    code: 'INTERNAL',
    message: escapeControl(`internal error: ${what}${log ? ` (details: ${log})` : ''}`),
    file: null,
    ...(log ? { log } : {}),
  };
}
