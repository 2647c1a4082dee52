// The local channel between the app and the elevated writer: a Unix socket in
// a private 0700 folder (Windows: a named pipe with a random name), no TCP port.
// The writer must present a one-time 32-byte token before anything else; frames
// are 4-byte big-endian length + UTF-8 JSON; heartbeats flow both ways.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlashError } from './flash-error.ts';

export const MAX_FRAME = 1 << 20;
export const HELLO_TIMEOUT_MS = 5000;

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > MAX_FRAME) throw new FlashError('CHANNEL_FRAME', 'writer channel: message too large');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into decoded JSON frames; throws on oversize or bad JSON. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): unknown[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: unknown[] = [];
    while (this.pending.length >= 4) {
      const len = this.pending.readUInt32BE(0);
      if (len > MAX_FRAME)
        throw new FlashError('CHANNEL_FRAME', `writer channel: frame of ${len} bytes refused`);
      if (this.pending.length < 4 + len) break;
      const body = this.pending.subarray(4, 4 + len).toString('utf8');
      this.pending = this.pending.subarray(4 + len);
      try {
        out.push(JSON.parse(body));
      } catch {
        throw new FlashError('CHANNEL_FRAME', 'writer channel: frame is not JSON');
      }
    }
    return out;
  }
}

export interface PeerOptions {
  heartbeatMs: number;
  /** No frame at all for this long means the other side is gone. */
  timeoutMs: number;
}

export const DEFAULT_PEER: PeerOptions = { heartbeatMs: 1000, timeoutMs: 10_000 };

/** One authenticated end of the channel: typed send, validated receive, liveness. */
export class Peer<In, Out> {
  private readonly decoder = new FrameDecoder();
  private lastSeen = Date.now();
  private readonly beat: NodeJS.Timeout;
  private lostReason: string | null = null;
  private onMessage: (m: In) => void = () => {};
  private onLost: (reason: string) => void = () => {};

  constructor(
    private readonly socket: Socket,
    private readonly parse: (v: unknown) => In,
    opts: PeerOptions,
    initial: unknown[] = [],
  ) {
    this.beat = setInterval(() => {
      if (Date.now() - this.lastSeen > opts.timeoutMs) this.lose('heartbeat timeout');
      else this.sendRaw({ type: 'heartbeat' });
    }, opts.heartbeatMs);
    this.beat.unref();
    socket.on('data', (chunk: Buffer) => {
      this.lastSeen = Date.now();
      try {
        for (const m of this.decoder.push(chunk)) this.deliver(m);
      } catch (e) {
        this.lose((e as Error).message);
      }
    });
    socket.on('close', () => this.lose('channel closed'));
    socket.on('error', (e) => this.lose(`channel error: ${e.message}`));
    queueMicrotask(() => {
      for (const m of initial) this.deliver(m);
    });
  }

  private deliver(raw: unknown): void {
    let m: In;
    try {
      m = this.parse(raw);
    } catch (e) {
      this.lose((e as Error).message);
      return;
    }
    if ((m as { type?: string }).type === 'heartbeat') return;
    this.onMessage(m);
  }

  private lose(reason: string): void {
    if (this.lostReason !== null) return;
    this.lostReason = reason;
    clearInterval(this.beat);
    this.socket.destroy();
    this.onLost(reason);
  }

  private sendRaw(m: unknown): void {
    if (this.lostReason === null && this.socket.writable) this.socket.write(encodeFrame(m));
  }

  send(m: Out): void {
    this.sendRaw(m);
  }

  /** Sends and waits until the bytes are handed to the OS (for the last message). */
  flushSend(m: Out): Promise<void> {
    return new Promise((resolve) => {
      if (this.lostReason !== null || !this.socket.writable) return resolve();
      this.socket.write(encodeFrame(m), () => resolve());
    });
  }

  listen(onMessage: (m: In) => void, onLost: (reason: string) => void): void {
    this.onMessage = onMessage;
    this.onLost = onLost;
    if (this.lostReason !== null) onLost(this.lostReason);
  }

  get lost(): string | null {
    return this.lostReason;
  }

  close(): void {
    this.lose('closed by us');
  }
}

export interface ChannelServer {
  /** Socket path or pipe name the writer connects to. */
  address: string;
  /** Hex token; hand it over by stdin or by `writeTokenFile`, never argv. */
  token: string;
  /** A 0600 file holding the token, for launchers that cannot pass stdin (UAC, osascript). */
  writeTokenFile(): string;
  /** Resolves with the first connection that presents the token; others are dropped.
   *  Waits 5 minutes by default: a person may take a while at the password prompt. */
  accept<In, Out>(parse: (v: unknown) => In, opts?: PeerOptions, timeoutMs?: number): Promise<Peer<In, Out>>;
  close(): void;
}

export async function openChannelServer(): Promise<ChannelServer> {
  const token = randomBytes(32).toString('hex');
  let dir: string | null = null;
  let address: string;
  if (process.platform === 'win32') {
    address = `\\\\.\\pipe\\emt-${randomBytes(16).toString('hex')}`;
  } else {
    dir = mkdtempSync(join(tmpdir(), 'emt-writer-')); // mkdtemp makes it 0700
    address = join(dir, 'writer.sock');
  }
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, () => resolve());
  });
  const cleanup = () => {
    server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  const expected = Buffer.from(token, 'hex');
  return {
    address,
    token,
    writeTokenFile() {
      const base = dir ?? mkdtempSync(join(tmpdir(), 'emt-writer-'));
      dir = base;
      const file = join(base, 'token');
      writeFileSync(file, token, { mode: 0o600 });
      return file;
    },
    accept<In, Out>(parse: (v: unknown) => In, opts: PeerOptions = DEFAULT_PEER, timeoutMs = 300_000) {
      return new Promise<Peer<In, Out>>((resolve, reject) => {
        const timer = setTimeout(() => {
          server.off('connection', onConnection);
          cleanup();
          reject(new FlashError('WRITER_NO_CONNECT', 'the writer process did not connect back in time'));
        }, timeoutMs);
        const onConnection = (socket: Socket) => {
          const decoder = new FrameDecoder();
          const drop = () => socket.destroy();
          const helloTimer = setTimeout(drop, HELLO_TIMEOUT_MS);
          const onData = (chunk: Buffer) => {
            let frames: unknown[];
            try {
              frames = decoder.push(chunk);
            } catch {
              clearTimeout(helloTimer);
              return drop();
            }
            if (frames.length === 0) return;
            clearTimeout(helloTimer);
            socket.off('data', onData);
            const hello = frames[0] as { type?: unknown; token?: unknown };
            const got = typeof hello?.token === 'string' ? Buffer.from(hello.token, 'hex') : Buffer.alloc(0);
            if (hello?.type !== 'hello' || got.length !== expected.length || !timingSafeEqual(got, expected))
              return drop(); // wrong or missing token: say nothing, keep waiting for the real writer
            clearTimeout(timer);
            server.off('connection', onConnection);
            cleanup(); // one writer per token: stop listening, remove the socket file
            resolve(new Peer<In, Out>(socket, parse, opts, frames.slice(1)));
          };
          socket.on('data', onData);
          socket.on('error', () => {});
        };
        server.on('connection', onConnection);
      });
    },
    close: cleanup,
  };
}

/** The writer's side: connect and present the token first. */
export function connectToParent<In, Out>(
  address: string,
  token: string,
  parse: (v: unknown) => In,
  opts: PeerOptions = DEFAULT_PEER,
): Promise<Peer<In, Out>> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(address);
    socket.once('error', (e) =>
      reject(new FlashError('CHANNEL_CONNECT', `writer: cannot connect to ${address}: ${e.message}`)),
    );
    socket.once('connect', () => {
      socket.write(encodeFrame({ type: 'hello', token, pid: process.pid }));
      resolve(new Peer<In, Out>(socket, parse, opts));
    });
  });
}
