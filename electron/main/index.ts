// Electron main process: thin. Creates one hardened window and routes typed,
// validated IPC calls to the job registry (the same one the UI test bridge
// uses). The GUI never runs as root; writing to drives goes through the
// separate elevated writer (electron/flash).
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, session, shell } from 'electron';
import { Channels, parseOpenFileOptions, parseSaveFileOptions } from '../api.ts';
import { JobHost } from '../jobs/job-host.ts';
import { appRootFromMain, builtPath } from './paths.ts';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedNavigation,
  isTrustedSender,
  WEB_PREFERENCES,
} from './security.ts';

const root = appRootFromMain(import.meta.dirname);
const appUrl = pathToFileURL(builtPath(root, 'renderer')).href;
const host = new JobHost();

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
  handle(Channels.openLog, async () => '');
}

async function createWindow(): Promise<void> {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
  const win = new BrowserWindow({
    width: 1000,
    height: 720,
    show: false,
    webPreferences: { ...WEB_PREFERENCES, preload: builtPath(root, 'preload') },
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url, appUrl)) event.preventDefault();
  });
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => host.cancelAll());
  await win.loadURL(appUrl);
}

app.whenReady().then(async () => {
  registerIpc();
  await createWindow();
});
app.on('window-all-closed', () => app.quit());
