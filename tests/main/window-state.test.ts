// The remembered window (userData JSON, temp + rename) and the rotating app log.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppLog, stateDir } from '../../electron/app-log.ts';
import {
  DEFAULT_WINDOW,
  fitToDisplays,
  loadWindowState,
  parseWindowState,
  saveWindowState,
  windowStateFile,
} from '../../electron/main/window-state.ts';

const dir = mkdtempSync(join(tmpdir(), 'emt-main-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('window state', () => {
  it('round-trips through the file, written whole (no temp file left)', () => {
    const f = windowStateFile(join(dir, 'userData'));
    expect(loadWindowState(f)).toEqual(DEFAULT_WINDOW);
    expect(saveWindowState(f, { width: 1280, height: 800, x: 10, y: 20, maximized: true })).toBe(true);
    expect(loadWindowState(f)).toEqual({ width: 1280, height: 800, x: 10, y: 20, maximized: true });
    expect(readdirSync(join(dir, 'userData'))).toEqual(['window-state.json']);
  });

  it('a corrupt, tiny or hand-edited file gives the default window', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, '{"width": 1e9');
    expect(loadWindowState(f)).toEqual(DEFAULT_WINDOW);
    expect(parseWindowState({ width: 10, height: 10 })).toEqual(DEFAULT_WINDOW);
    expect(parseWindowState({ width: 800.5, height: 600 })).toEqual(DEFAULT_WINDOW);
    expect(parseWindowState({ width: 800, height: 600, x: 'a', y: 3 })).toEqual({
      width: 800,
      height: 600,
      maximized: false,
    });
  });

  it('a window on a monitor that went away comes back to the default place', () => {
    const areas = [{ x: 0, y: 0, width: 1920, height: 1080 }];
    const s = { width: 1000, height: 700, maximized: false };
    expect(fitToDisplays({ ...s, x: 100, y: 100 }, areas)).toEqual({ ...s, x: 100, y: 100 });
    expect(fitToDisplays({ ...s, x: 2500, y: 100 }, areas)).toEqual(s);
  });

  it('a folder that cannot be written does not throw', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(saveWindowState(join(file, 'window-state.json'), DEFAULT_WINDOW)).toBe(false);
  });
});

describe('app log', () => {
  it('lives in the state folder (overridable), rotates by size, keeps a few', () => {
    expect(stateDir({ EMT_USB_STATE_DIR: '/x/y' }, 'linux')).toBe('/x/y');
    expect(stateDir({ XDG_STATE_HOME: '/s' }, 'linux')).toBe('/s/emt-usb');
    expect(stateDir({ LOCALAPPDATA: 'C:\\L' }, 'win32')).toMatch(/emt-usb$/);
    const log = new AppLog(join(dir, 'logs', 'app.log'), 200, 2);
    for (let i = 0; i < 12; i++) log.write('info', `line ${i} ${'x'.repeat(40)}`);
    expect(readdirSync(join(dir, 'logs')).sort()).toEqual(['app.log', 'app.log.1', 'app.log.2']);
    expect(readFileSync(log.file, 'utf8')).toContain('line 11');
  });

  it('an internal error: the stack in the log, control characters escaped', () => {
    const log = new AppLog(join(dir, 'logs2', 'cli.log'));
    const where = log.internalError(new Error('bad\u001b[2Jthing'), 'emt-usb test');
    expect(where).toBe(log.file);
    const text = readFileSync(log.file, 'utf8');
    expect(text).toMatch(/internal error in emt-usb test: Error: bad\\x1b\[2Jthing/);
    expect(text).toMatch(/window-state\.test\.ts/);
    writeFileSync(join(dir, 'not-a-folder'), '');
    expect(new AppLog(join(dir, 'not-a-folder', 'x.log')).internalError(new Error('x'), 't')).toBeUndefined();
  });
});
