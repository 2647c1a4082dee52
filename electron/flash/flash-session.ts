// Runs a flash or verify job where it has the rights it needs: in-process when
// we already are root (or only write image files), else in the writer process,
// elevated, over the authenticated channel. Callers see the same results.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { type ChannelServer, DEFAULT_PEER, openChannelServer, type PeerOptions } from './channel.ts';
import {
  buildWriterLaunch,
  checkElevationAvailable,
  currentWriterProgram,
  explainElevationFailure,
  installedWriter,
} from './elevate.ts';
import { FlashError } from './flash-error.ts';
import { defaultLogDir } from './flash-log.ts';
import { type ParentMessage, parseWriterMessage, type WriterJob, type WriterMessage } from './messages.ts';
import type { FlashProgressSink } from './progress-meter.ts';
import {
  type FlashOutcome,
  type FlashRequest,
  flash,
  type TargetResult,
  type VerifyRequest,
  verifyTarget,
} from './writer.ts';

/** auto: in-process if privileged enough, else elevated; process: writer process without elevation (tests, root). */
export type WriterMode = 'auto' | 'in-process' | 'process' | 'elevated';

export interface SessionOptions {
  mode?: WriterMode;
  signal?: AbortSignal;
  onProgress?: FlashProgressSink;
  peer?: PeerOptions;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Image files need no rights; any device path does (unless we are root). */
function needsPrivilege(devices: string[]): boolean {
  return devices.some((d) => {
    if (/^\\\\\.\\/.test(d) || d.startsWith('/dev/')) return true;
    try {
      return statSync(d).isBlockDevice();
    } catch {
      return false;
    }
  });
}

function pickMode(mode: WriterMode, devices: string[]): 'in-process' | 'process' | 'elevated' {
  if (mode !== 'auto') return mode;
  return isRoot() || !needsPrivilege(devices) ? 'in-process' : 'elevated';
}

/** Spawns the writer, authenticates it, runs one job, relays progress and cancel. */
async function runInWriterProcess(
  job: WriterJob,
  elevate: boolean,
  opts: SessionOptions,
): Promise<WriterMessage> {
  if (elevate) checkElevationAvailable(process.platform);
  const server: ChannelServer = await openChannelServer();
  const peerOpts = opts.peer ?? DEFAULT_PEER;
  const channelArgs = [
    '--socket',
    server.address,
    '--heartbeat-ms',
    String(peerOpts.heartbeatMs),
    '--timeout-ms',
    String(peerOpts.timeoutMs),
  ];
  const writer = currentWriterProgram();
  const launch = buildWriterLaunch(process.platform, elevate, writer.argv, channelArgs, {
    env: writer.env,
    installedWriter: process.platform === 'linux' ? installedWriter() : null,
    ...(elevate && process.platform !== 'linux' ? { tokenFile: server.writeTokenFile() } : {}),
  });
  const child = spawn(launch.command, launch.args, {
    stdio: ['pipe', 'ignore', 'pipe'],
    ...(launch.env ? { env: { ...process.env, ...launch.env } } : {}),
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  child.stdin.on('error', () => {});
  if (launch.tokenVia === 'stdin') child.stdin.end(`${server.token}\n`);
  else child.stdin.end();
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', (e) => {
      stderr += e.message;
      resolve(null);
    });
  });
  const failed = (code: number | null): FlashError =>
    explainElevationFailure(process.platform, code, stderr) ??
    new FlashError(
      'WRITER_EXITED',
      `the writer process exited (${code}) before finishing: ${stderr.trim().split('\n').pop() ?? ''}`,
    );

  const exitedEarly = exited.then((code) => {
    server.close();
    throw failed(code);
  });
  exitedEarly.catch(() => {}); // only matters while we wait for the connection
  const peer = await Promise.race([
    server.accept<WriterMessage, ParentMessage>(parseWriterMessage, peerOpts),
    exitedEarly,
  ]);
  try {
    return await new Promise<WriterMessage>((resolve, reject) => {
      const onAbort = () => peer.send({ type: 'cancel' });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.signal?.aborted) onAbort();
      peer.listen(
        (m) => {
          if (m.type === 'progress') opts.onProgress?.(m.event);
          else if (m.type === 'flashed' || m.type === 'verified' || m.type === 'failed') {
            opts.signal?.removeEventListener('abort', onAbort);
            resolve(m);
          }
        },
        (reason) => {
          opts.signal?.removeEventListener('abort', onAbort);
          exited.then((code) =>
            reject(code === 0 ? new FlashError('WRITER_LOST', `writer channel: ${reason}`) : failed(code)),
          );
        },
      );
      peer.send({ type: 'start', job });
    });
  } finally {
    await exited;
    peer.close();
  }
}

export async function runFlashJob(req: FlashRequest, opts: SessionOptions = {}): Promise<FlashOutcome> {
  const mode = pickMode(opts.mode ?? 'auto', req.devices);
  if (mode === 'in-process')
    return flash(req, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  // The log goes to the user's folder even when the writer runs as root.
  const request = { ...req, logDir: req.logDir ?? defaultLogDir() };
  const m = await runInWriterProcess({ kind: 'flash', request }, mode === 'elevated', opts);
  if (m.type === 'flashed') return m.outcome;
  if (m.type === 'failed') throw new FlashError(m.error.code, m.error.message);
  throw new FlashError('WRITER_PROTOCOL', `writer answered ${m.type} to a flash job`);
}

export async function runVerifyJob(req: VerifyRequest, opts: SessionOptions = {}): Promise<TargetResult> {
  const mode = pickMode(opts.mode ?? 'auto', [req.device]);
  if (mode === 'in-process')
    return verifyTarget(req, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  const request = { ...req, logDir: req.logDir ?? defaultLogDir() };
  const m = await runInWriterProcess({ kind: 'verify', request }, mode === 'elevated', opts);
  if (m.type === 'verified') return m.result;
  if (m.type === 'failed') throw new FlashError(m.error.code, m.error.message);
  throw new FlashError('WRITER_PROTOCOL', `writer answered ${m.type} to a verify job`);
}
