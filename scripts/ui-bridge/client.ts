// The page side of the UI bridge: `window.emt` (electron/api.ts EmtBridge) over
// the bridge's WebSocket. Loaded only by the bridge, never part of the app.
import type { EmtBridge, JobName, JobProgress, JobReply, RunOptions } from '../../electron/api.ts';
import type { ClientMessage, ServerMessage } from './protocol.ts';

// A page script type-checked with the Node sources: the few page globals it uses.
declare const location: { host: string };
declare const window: { prompt(message: string, value?: string): string | null };

const ws = new WebSocket(`ws://${location.host}/__bridge/ws`);
const open = new Promise<void>((resolve, reject) => {
  ws.addEventListener('open', () => resolve());
  ws.addEventListener('error', () => reject(new Error('the UI bridge refused the connection')));
});
const replies = new Map<string, (r: JobReply<JobName>) => void>();
const progress = new Map<string, (e: unknown) => void>();
const answers = new Map<number, (m: Extract<ServerMessage, { type: 'answer' }>) => void>();
let seq = 0;
let idSeq = 0;

ws.addEventListener('message', (ev) => {
  const m = JSON.parse(String(ev.data)) as ServerMessage;
  if (m.type === 'progress') progress.get(m.jobId)?.(m.event);
  else if (m.type === 'reply') {
    replies.get(m.jobId)?.(m.reply);
    replies.delete(m.jobId);
    progress.delete(m.jobId);
  } else if (m.type === 'answer') {
    answers.get(m.id)?.(m);
    answers.delete(m.id);
  }
});
ws.addEventListener('close', () => {
  for (const [id, r] of replies)
    r({
      error: {
        area: 'internal',
        code: 'BRIDGE_CLOSED',
        message: `the UI bridge closed (job ${id})`,
        file: null,
      },
    });
  replies.clear();
});

async function send(m: ClientMessage): Promise<void> {
  await open;
  ws.send(JSON.stringify(m));
}

function ask(m: ClientMessage & { id: number }): Promise<Extract<ServerMessage, { type: 'answer' }>> {
  return new Promise((resolve) => {
    answers.set(m.id, resolve);
    void send(m);
  });
}

const bridge: EmtBridge = {
  apiVersion: 2,
  run<J extends JobName>(job: J, request: unknown, options: RunOptions<J> = {}) {
    const jobId = options.jobId ?? `bridge-${++seq}`;
    options.onStart?.(jobId);
    return new Promise<JobReply<J>>((resolve) => {
      replies.set(jobId, resolve as (r: JobReply<JobName>) => void);
      if (options.onProgress) progress.set(jobId, options.onProgress as (e: unknown) => void);
      void send({ type: 'run', job, jobId, request });
    }) as Promise<JobReply<J>> & { _p?: JobProgress[J] };
  },
  async cancel(jobId) {
    await send({ type: 'cancel', jobId });
  },
  async openFile(options) {
    const a = await ask({ type: 'openFile', id: ++idSeq, options });
    if (!a.prompt) return a.value as string[] | null;
    const p = window.prompt(
      `${options.title ?? 'Open'}: path of the ${options.directory ? 'folder' : 'file'}`,
    );
    return p ? [p] : null;
  },
  async saveFile(options) {
    const a = await ask({ type: 'saveFile', id: ++idSeq, options });
    if (!a.prompt) return a.value as string | null;
    return window.prompt(`${options.title ?? 'Save'}: path to save to`, options.defaultPath ?? '') || null;
  },
  pathForFile: () => '',
  async showInFolder(path) {
    await ask({ type: 'showInFolder', id: ++idSeq, path });
  },
  async openLog() {
    return (await ask({ type: 'openLog', id: ++idSeq })).value as string;
  },
};

Object.defineProperty(window, 'emt', { value: Object.freeze(bridge), enumerable: true });
