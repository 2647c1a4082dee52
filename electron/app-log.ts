// The app's own log: where a bug of ours leaves its stack (the terminal and the
// UI only get one line naming this file) and where the app notes what it did.
// One file per program ('cli', 'app') in the state folder, rotated by size.
//   $EMT_USB_STATE_DIR, else $XDG_STATE_HOME/emt-usb, else ~/.local/state/emt-usb
//   (Windows: %LOCALAPPDATA%\emt-usb; macOS: ~/Library/Logs/emt-usb)
import { appendFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { escapeControl } from './errors.ts';

export const LOG_MAX_BYTES = 1 << 20;
export const LOG_KEEP = 3;

export function stateDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.EMT_USB_STATE_DIR) return env.EMT_USB_STATE_DIR;
  if (platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'emt-usb');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Logs', 'emt-usb');
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'emt-usb');
  return join(homedir(), '.local', 'state', 'emt-usb');
}

export class AppLog {
  constructor(
    readonly file: string,
    private readonly maxBytes = LOG_MAX_BYTES,
    private readonly keep = LOG_KEEP,
  ) {}

  static for(program: 'cli' | 'app', dir = stateDir()): AppLog {
    return new AppLog(join(dir, `${program}.log`));
  }

  /** `file` -> `file.1` -> ... -> `file.<keep>` (dropped) once it outgrows maxBytes. */
  private rotate(): void {
    let size = 0;
    try {
      size = statSync(this.file).size;
    } catch {
      return;
    }
    if (size < this.maxBytes) return;
    rmSync(`${this.file}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      } catch {}
    }
    renameSync(this.file, `${this.file}.1`);
  }

  /** One entry; never throws (a log that cannot be written must not hide the real error). */
  write(level: 'info' | 'warn' | 'error', text: string): boolean {
    try {
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
      this.rotate();
      const body = text.split('\n').map(escapeControl).join('\n  ');
      appendFileSync(this.file, `${new Date().toISOString()} ${level} [${process.pid}] ${body}\n`, {
        mode: 0o600,
      });
      return true;
    } catch {
      return false;
    }
  }

  /** Stores a bug's stack; returns the log path to name, or undefined when it could not be written. */
  internalError(e: unknown, context: string): string | undefined {
    const stack = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return this.write('error', `internal error in ${context}: ${stack}`) ? this.file : undefined;
  }
}
