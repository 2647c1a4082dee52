// The only part that runs elevated: connects back to the app, proves itself
// with the one-time token, runs one flash or verify job with the same engine
// the in-process path uses, and stops as soon as the app goes away.
import { readFileSync, unlinkSync } from 'node:fs';
import { connectToParent, DEFAULT_PEER, type Peer, type PeerOptions } from './channel.ts';
import { FlashError } from './flash-error.ts';
import { type ParentMessage, parseParentMessage, type WriterMessage } from './messages.ts';
import type { FlashProgress } from './progress-meter.ts';
import { flash, verifyTarget } from './writer.ts';

export interface WriterArgs {
  socket: string;
  tokenFrom: { stdin: true } | { file: string };
  peer: PeerOptions;
}

export function parseWriterArgs(argv: string[]): WriterArgs {
  let socket: string | undefined;
  let tokenFile: string | undefined;
  let stdin = false;
  const peer = { ...DEFAULT_PEER };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--token-stdin') {
      stdin = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new FlashError('WRITER_ARGS', `writer: ${a} needs a value`);
    if (a === '--socket') socket = v;
    else if (a === '--token-file') tokenFile = v;
    else if (a === '--heartbeat-ms') peer.heartbeatMs = Number(v);
    else if (a === '--timeout-ms') peer.timeoutMs = Number(v);
    else throw new FlashError('WRITER_ARGS', `writer: unknown argument ${a}`);
  }
  if (!socket || (!stdin && !tokenFile))
    throw new FlashError('WRITER_ARGS', 'writer: needs --socket and a token source');
  return { socket, tokenFrom: stdin ? { stdin: true } : { file: tokenFile! }, peer };
}

function readToken(from: WriterArgs['tokenFrom']): string {
  let token: string;
  if ('stdin' in from) token = readFileSync(0, 'utf8').split('\n')[0] ?? '';
  else {
    token = readFileSync(from.file, 'utf8');
    try {
      unlinkSync(from.file); // one-time: nobody reads it after us
    } catch {}
  }
  token = token.trim();
  if (!/^[0-9a-f]{64}$/.test(token))
    throw new FlashError('WRITER_TOKEN', 'writer: no valid token was handed over');
  return token;
}

export async function runWriter(args: WriterArgs): Promise<number> {
  const token = readToken(args.tokenFrom);
  const peer: Peer<ParentMessage, WriterMessage> = await connectToParent(
    args.socket,
    token,
    parseParentMessage,
    args.peer,
  );
  const abort = new AbortController();
  return new Promise<number>((resolve) => {
    let started = false;
    let job: Promise<void> | null = null;
    peer.listen(
      (m) => {
        if (m.type === 'cancel') abort.abort();
        else if (m.type === 'start' && !started) {
          started = true;
          const onProgress = (event: FlashProgress) => peer.send({ type: 'progress', event });
          job = (async () => {
            try {
              if (m.job.kind === 'flash') {
                const outcome = await flash(m.job.request, { signal: abort.signal, onProgress });
                await peer.flushSend({ type: 'flashed', outcome });
              } else {
                const result = await verifyTarget(m.job.request, { signal: abort.signal, onProgress });
                await peer.flushSend({ type: 'verified', result });
              }
              const lost = peer.lost !== null;
              peer.close();
              resolve(lost ? 3 : 0);
            } catch (e) {
              const err = e as { code?: string; message?: string };
              await peer.flushSend({
                type: 'failed',
                error: { code: err.code ?? 'WRITER_FAILED', message: err.message ?? String(e) },
              });
              peer.close();
              resolve(1);
            }
          })();
        }
      },
      (reason) => {
        // The app is gone: stop at the next buffer boundary, then exit.
        abort.abort();
        if (job) job.finally(() => resolve(3));
        else resolve(3);
        process.stderr.write(`emt-usb writer: ${reason}; stopping\n`);
      },
    );
  });
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  // Ctrl-C in the terminal reaches us too: the app sends 'cancel', so the write
  // stops at a buffer boundary instead of dying mid-request.
  process.on('SIGINT', () => {});
  runWriter(parseWriterArgs(process.argv.slice(2)))
    .then((code) => process.exit(code))
    .catch((e: Error) => {
      process.stderr.write(`emt-usb writer: ${e.message}\n`);
      process.exit(2);
    });
}
