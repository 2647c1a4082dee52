// Electron hardening as plain data and pure checks, so vitest can test them
// without the Electron binary.

/** Our renderer is loaded from files packaged with the app, never from the web. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  spellcheck: false,
} as const;

/**
 * IPC sender check: only our own top-level renderer page may call the API.
 * `appUrl` is the file:// URL of renderer/index.html (or the dev server origin).
 */
export function isTrustedSender(frameUrl: string | undefined, isMainFrame: boolean, appUrl: string): boolean {
  if (!frameUrl || !isMainFrame) return false;
  let frame: URL;
  let app: URL;
  try {
    frame = new URL(frameUrl);
    app = new URL(appUrl);
  } catch {
    return false;
  }
  if (app.protocol === 'file:') return frame.protocol === 'file:' && frame.pathname === app.pathname;
  return frame.origin === app.origin;
}

/** Navigation and new windows are refused; external links are not ours to open here. */
export function isAllowedNavigation(url: string, appUrl: string): boolean {
  return isTrustedSender(url, true, appUrl);
}
