// The UI bridge (tests and `npm run ui:preview`, never packaged): serves the
// built renderer on 127.0.0.1 and implements the preload API over a WebSocket
// to the real jobs, through the same registry and request checks as Electron
// main. Everything is refused without the random token (guard.ts).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type WebSocket, WebSocketServer } from 'ws';
import { badRequest, type JobName, parseJobId, parseRunCall } from '../../electron/api.ts';
import { errorValue } from '../../electron/errors.ts';
import type { Drive } from '../../electron/flash/drive-list.ts';
import { dispatchJob } from './dispatch.ts';
import { COOKIE, judgeRequest } from './guard.ts';
import type { ClientMessage, ServerMessage } from './protocol.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
export const DEFAULT_RENDERER_DIR = resolve(here, '../../dist/renderer');

export interface BridgeOptions {
  rendererDir?: string;
  port?: number;
  /** Test-only: the drive list the drives and flash jobs see instead of drivelist's. */
  driveSource?: () => Promise<Drive[]>;
  /** Where openLog points. */
  logFile?: string;
}

export interface UiBridge {
  url: string;
  port: number;
  token: string;
  /** Answers for the next open/save dialogs (tests); without one the page prompts its user. */
  dialogAnswers: (string[] | string | null)[];
  shownInFolder: string[];
  /** Messages seen, for tests: refused connections and their reasons. */
  refusals: string[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

async function clientScript(): Promise<string> {
  const r = await build({
    entryPoints: [join(here, 'client.ts')],
    bundle: true,
    format: 'iife',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

/** The renderer's page with the bridge client in front and a CSP that lets it reach our socket. */
function pageFor(html: string, port: number): string {
  const csp = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src ws://127.0.0.1:${port} ws://localhost:${port}; object-src 'none'; base-uri 'none'; form-action 'none'`;
  return html
    .replace(
      /<meta\s+http-equiv="Content-Security-Policy"[^>]*>/s,
      `<meta http-equiv="Content-Security-Policy" content="${csp}" />`,
    )
    .replace('<head>', '<head>\n    <script defer src="./__bridge/client.js"></script>');
}

export async function startUiBridge(opts: BridgeOptions = {}): Promise<UiBridge> {
  const rendererDir = resolve(opts.rendererDir ?? DEFAULT_RENDERER_DIR);
  const token = randomBytes(24).toString('hex');
  const client = await clientScript();
  const indexHtml = await readFile(join(rendererDir, 'index.html'), 'utf8').catch(() => {
    throw new Error(`${rendererDir}/index.html is missing: run npm run build:renderer first`);
  });
  const logFile = opts.logFile ?? join(tmpdir(), 'emt-ui-bridge.log');
  const state: UiBridge = {
    url: '',
    port: 0,
    token,
    dialogAnswers: [],
    shownInFolder: [],
    refusals: [],
    close: async () => {},
  };

  const refuse = (res: ServerResponse, status: number, why: string): void => {
    state.refusals.push(why);
    res.writeHead(status, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end('refused\n');
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const v = judgeRequest(req, state.port, token, false);
    if (!v.ok) return refuse(res, v.status, v.why);
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${state.port}`);
    const headers: Record<string, string> = {
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    if (v.viaQuery) headers['set-cookie'] = `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    let body: string | Buffer;
    let type: string;
    if (url.pathname === '/' || url.pathname === '/index.html') {
      body = pageFor(indexHtml, state.port);
      type = TYPES['.html']!;
    } else if (url.pathname === '/__bridge/client.js') {
      body = client;
      type = TYPES['.js']!;
    } else {
      const file = normalize(join(rendererDir, decodeURIComponent(url.pathname)));
      if (!file.startsWith(rendererDir + sep)) return refuse(res, 404, 'outside');
      try {
        body = await readFile(file);
      } catch {
        res.writeHead(404, headers);
        res.end('not found\n');
        return;
      }
      type = TYPES[extname(file)] ?? 'application/octet-stream';
    }
    res.writeHead(200, { ...headers, 'content-type': type });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((e: Error) => {
      res.writeHead(500);
      res.end(`${e.message}\n`);
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  server.on('upgrade', (req, socket, head) => {
    const v = judgeRequest(req, state.port, token, true);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (!v.ok || path !== '/__bridge/ws') {
      state.refusals.push(v.ok ? 'ws path' : `ws ${v.why}`);
      socket.end(
        `HTTP/1.1 ${v.ok ? 404 : v.status} Refused\r\nConnection: close\r\nContent-Length: 8\r\n\r\nrefused\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => session(ws));
  });

  function session(ws: WebSocket): void {
    const running = new Map<string, AbortController>();
    const send = (m: ServerMessage): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    ws.on('close', () => {
      for (const c of running.values()) c.abort();
    });
    ws.on('message', (data) => {
      let m: ClientMessage;
      try {
        m = JSON.parse(String(data)) as ClientMessage;
      } catch {
        return;
      }
      if (m.type === 'run') {
        const call = parseRunCall(m);
        const jobId = typeof m.jobId === 'string' ? m.jobId.slice(0, 64) : '';
        if ('error' in call) return send({ type: 'reply', jobId, reply: call });
        if (running.has(call.jobId))
          return send({ type: 'reply', jobId, reply: badRequest('run: jobId is in use') });
        const ctl = new AbortController();
        running.set(call.jobId, ctl);
        let last = 0;
        let lastStage = '';
        dispatchJob(call.job as JobName, call.request, {
          signal: ctl.signal,
          // At most ~10 events a second per job, plus every stage change and the last one.
          onProgress: ((event: { stage: string; done: number; total: number | null }) => {
            const now = performance.now();
            if (now - last < 100 && event.stage === lastStage && event.done !== event.total) return;
            last = now;
            lastStage = event.stage;
            send({ type: 'progress', jobId: call.jobId, event });
          }) as (e: never) => void,
          ...(opts.driveSource ? { driveSource: opts.driveSource } : {}),
        })
          .then((reply) => send({ type: 'reply', jobId: call.jobId, reply }))
          .catch((e: unknown) => send({ type: 'reply', jobId: call.jobId, reply: { error: errorValue(e) } }))
          .finally(() => running.delete(call.jobId));
      } else if (m.type === 'cancel') {
        const id = parseJobId(m.jobId);
        if (id) running.get(id)?.abort();
      } else if (m.type === 'openFile' || m.type === 'saveFile') {
        if (state.dialogAnswers.length > 0)
          send({ type: 'answer', id: m.id, value: state.dialogAnswers.shift() });
        else send({ type: 'answer', id: m.id, value: null, prompt: true });
      } else if (m.type === 'showInFolder') {
        state.shownInFolder.push(String(m.path));
        send({ type: 'answer', id: m.id, value: null });
      } else if (m.type === 'openLog') {
        send({ type: 'answer', id: m.id, value: logFile });
      }
    });
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  state.port = typeof addr === 'object' && addr ? addr.port : 0;
  state.url = `http://127.0.0.1:${state.port}/?token=${token}`;
  state.close = () =>
    new Promise<void>((ok) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      server.close(() => ok());
    });
  return state;
}
