// Electron main process: thin. Creates one hardened window and routes typed,
// validated IPC calls to the job registry (the same one the UI test bridge
// uses). The GUI never runs as root; writing to drives goes through the
// separate elevated writer (electron/flash).
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, screen, session, shell } from 'electron';
import { Channels, parseOpenFileOptions, parseSaveFileOptions } from '../api.ts';
import { AppLog } from '../app-log.ts';
import { packagedWriterProgram, useWriterProgram } from '../flash/elevate.ts';
import { JobHost } from '../jobs/job-host.ts';
import { appRootFromMain, builtPath, packagedResourceEnv, writerScript } from './paths.ts';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedNavigation,
  isTrustedSender,
  WEB_PREFERENCES,
} from './security.ts';
import {
  fitToDisplays,
  loadWindowState,
  MIN_WINDOW,
  saveWindowState,
  windowStateFile,
} from './window-state.ts';

const root = appRootFromMain(import.meta.dirname);
const appUrl = pathToFileURL(builtPath(root, 'renderer')).href;
const log = AppLog.for('app');
const host = new JobHost({ logInternal: (e) => log.internalError(e, 'a job') });
let mainWindow: BrowserWindow | null = null;

type Event = Electron.IpcMainInvokeEvent;
const trusted = (event: Event): boolean =>
  isTrustedSender(event.senderFrame?.url, event.senderFrame === event.sender.mainFrame, appUrl);

function handle(channel: string, fn: (event: Event, arg: unknown) => Promise<unknown>): void {
  ipcMain.handle(channel, async (event, arg: unknown) => {
    if (!trusted(event)) throw new Error('refused: IPC from an untrusted frame');
    return fn(event, arg);
  });
}

function registerIpc(): void {
  handle(Channels.run, (event, call) =>
    host.run(call, (m) => {
      if (!event.sender.isDestroyed()) event.sender.send(Channels.progress, m);
    }),
  );
  handle(Channels.cancel, async (_e, id) => host.cancel(id));
  handle(Channels.openFile, async (event, raw) => {
    const o = parseOpenFileOptions(raw);
    const win = BrowserWindow.fromWebContents(event.sender);
    const props: ('openFile' | 'openDirectory' | 'multiSelections')[] = [
      o.directory ? 'openDirectory' : 'openFile',
      ...(o.multiple ? (['multiSelections'] as const) : []),
    ];
    const opts = {
      properties: props,
      ...(o.title ? { title: o.title } : {}),
      ...(o.defaultPath ? { defaultPath: o.defaultPath } : {}),
      ...(o.filters ? { filters: o.filters } : {}),
    };
    const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
    return r.canceled ? null : r.filePaths;
  });
  handle(Channels.saveFile, async (event, raw) => {
    const o = parseSaveFileOptions(raw);
    const win = BrowserWindow.fromWebContents(event.sender);
    const opts = {
      ...(o.title ? { title: o.title } : {}),
      ...(o.defaultPath ? { defaultPath: o.defaultPath } : {}),
      ...(o.filters ? { filters: o.filters } : {}),
    };
    const r = win ? await dialog.showSaveDialog(win, opts) : await dialog.showSaveDialog(opts);
    return r.canceled || !r.filePath ? null : r.filePath;
  });
  handle(Channels.showInFolder, async (_e, p) => {
    if (typeof p === 'string' && p !== '') shell.showItemInFolder(p);
  });
  handle(Channels.openLog, async () => {
    log.write('info', 'log opened from the app');
    const problem = await shell.openPath(log.file);
    if (problem) log.write('warn', `could not open the log: ${problem}`);
    return log.file;
  });
}

async function createWindow(): Promise<void> {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
  const stateFile = windowStateFile(app.getPath('userData'));
  const state = fitToDisplays(
    loadWindowState(stateFile),
    screen.getAllDisplays().map((d) => d.workArea),
  );
  const win = new BrowserWindow({
    width: state.width,
    height: state.height,
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    minWidth: MIN_WINDOW.width,
    minHeight: MIN_WINDOW.height,
    show: false,
    webPreferences: { ...WEB_PREFERENCES, preload: builtPath(root, 'preload') },
  });
  mainWindow = win;
  if (state.maximized) win.maximize();
  win.on('close', () => {
    const b = win.getNormalBounds();
    saveWindowState(stateFile, { ...b, maximized: win.isMaximized() });
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url, appUrl)) event.preventDefault();
  });
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    host.cancelAll();
    mainWindow = null;
  });
  await win.loadURL(appUrl);
}

// One app at a time: two would race for the same sticks. A second start
// brings the first window forward instead.
if (!app.requestSingleInstanceLock()) app.quit();
else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_e, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  app.whenReady().then(async () => {
    log.write(
      'info',
      `start ${app.getVersion()} (electron ${process.versions.electron}, packaged ${app.isPackaged})`,
    );
    // Packaged: the writer is one bundled file run by our own executable in Node mode,
    // and the engine finds xorriso wasm and the boot loaders under resources/.
    if (app.isPackaged) {
      useWriterProgram(packagedWriterProgram(process.execPath, writerScript(root)));
      Object.assign(process.env, packagedResourceEnv(process.resourcesPath));
    }
    registerIpc();
    await createWindow();
  });
  app.on('window-all-closed', () => app.quit());
  // A bug of ours in main: one line for the person, the stack in the log.
  process.on('uncaughtException', (e) => {
    const where = log.internalError(e, 'main');
    dialog.showErrorBox(
      'EMT USB Installer',
      `internal error: ${e.message}${where ? ` (details: ${where})` : ''}`,
    );
  });
}
