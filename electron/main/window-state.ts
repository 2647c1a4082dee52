// The window's size and position, remembered between runs in a small JSON file
// in the app's userData folder (written to a temp file and renamed, so a crash
// never leaves half a file). Values are checked on the way in: a corrupt or
// hand-edited file gives the default window, never an off-screen or tiny one.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface WindowState {
  width: number;
  height: number;
  x?: number;
  y?: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW: WindowState = { width: 1000, height: 720, maximized: false };
export const MIN_WINDOW = { width: 640, height: 480 } as const;
const MAX_SIDE = 16384;

export const windowStateFile = (userData: string): string => join(userData, 'window-state.json');

const int = (v: unknown, min: number, max: number): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined;

/** Pure: a state from whatever the file held. */
export function parseWindowState(raw: unknown): WindowState {
  if (typeof raw !== 'object' || raw === null) return DEFAULT_WINDOW;
  const o = raw as Record<string, unknown>;
  const width = int(o.width, MIN_WINDOW.width, MAX_SIDE);
  const height = int(o.height, MIN_WINDOW.height, MAX_SIDE);
  if (width === undefined || height === undefined) return DEFAULT_WINDOW;
  const x = int(o.x, -MAX_SIDE, MAX_SIDE);
  const y = int(o.y, -MAX_SIDE, MAX_SIDE);
  return {
    width,
    height,
    ...(x !== undefined && y !== undefined ? { x, y } : {}),
    maximized: o.maximized === true,
  };
}

/** Keeps the window on one of the displays' work areas (a monitor may have gone away). */
export function fitToDisplays(
  s: WindowState,
  areas: { x: number; y: number; width: number; height: number }[],
): WindowState {
  if (s.x === undefined || s.y === undefined) return s;
  const visible = areas.some(
    (a) =>
      s.x! + 64 <= a.x + a.width && s.x! + s.width - 64 >= a.x && s.y! >= a.y && s.y! + 32 <= a.y + a.height,
  );
  if (visible) return s;
  const { x: _x, y: _y, ...rest } = s;
  return rest;
}

export function loadWindowState(file: string): WindowState {
  try {
    return parseWindowState(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return DEFAULT_WINDOW;
  }
}

/** Temp file + rename; best effort (a read-only profile must not stop the app closing). */
export function saveWindowState(file: string, s: WindowState): boolean {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, `${JSON.stringify(parseWindowState(s))}\n`, { mode: 0o600 });
    renameSync(tmp, file);
    return true;
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {}
    return false;
  }
}
