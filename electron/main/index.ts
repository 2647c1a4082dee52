// Electron main process: thin. Creates one hardened window and routes typed,
// validated IPC calls to the plain engine modules. The GUI never runs as root;
// writing to drives goes through the separate elevated writer (electron/flash).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, ipcMain, session } from 'electron';
import { type Channel, Channels, parseRequest } from '../api.ts';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedNavigation,
  isTrustedSender,
  WEB_PREFERENCES,
} from './security.ts';

const rendererIndex = path.join(import.meta.dirname, '../../renderer/dist/index.html');
const appUrl = pathToFileURL(rendererIndex).href;

type Handler = (request: never) => Promise<unknown>;
const handlers: Partial<Record<Channel, Handler>> = {};

function registerIpc(): void {
  for (const channel of Object.values(Channels)) {
    ipcMain.handle(channel, async (event, raw: unknown) => {
      if (!isTrustedSender(event.senderFrame?.url, event.senderFrame === event.sender.mainFrame, appUrl))
        throw new Error('refused: IPC from an untrusted frame');
      const handler = handlers[channel];
      if (!handler) throw new Error(`${channel} is not available in this build yet`);
      return handler(parseRequest(channel, raw) as never);
    });
  }
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
    webPreferences: { ...WEB_PREFERENCES, preload: path.join(import.meta.dirname, '../preload/index.cjs') },
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url, appUrl)) event.preventDefault();
  });
  win.once('ready-to-show', () => win.show());
  await win.loadURL(appUrl);
}

app.whenReady().then(async () => {
  registerIpc();
  await createWindow();
});
app.on('window-all-closed', () => app.quit());
