// One log file per flash run, so a technician can send it when a stick fails.
import { appendFileSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface FlashLog {
  path: string;
  line(text: string): void;
}

export function defaultLogDir(): string {
  return join(process.env.EMT_CACHE_DIR || join(homedir(), '.cache', 'emt-usb'), 'logs');
}

export function openFlashLog(kind: 'flash' | 'verify', dir = defaultLogDir()): FlashLog {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = join(dir, `${kind}-${stamp}-${process.pid}.log`);
  const line = (text: string): void => {
    try {
      appendFileSync(path, `${new Date().toISOString()} ${text}\n`);
    } catch {
      // A full or read-only log folder must not fail a write that is going well.
    }
  };
  return { path, line };
}
