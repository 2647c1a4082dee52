// The app <-> writer channel for real: Unix sockets, a spawned writer process
// (as root, without elevation), token checks, heartbeats and cancel.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, MAX_FRAME, openChannelServer } from '../../electron/flash/channel.ts';
import { buildWriterLaunch, writerProgram } from '../../electron/flash/elevate.ts';
import { runFlashJob, runVerifyJob } from '../../electron/flash/flash-session.ts';
import { parseParentMessage, parseWriterMessage } from '../../electron/flash/messages.ts';
import { isRoot, pseudoRandom, testIso, withLoop } from './fixture-image.ts';

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

/** Resolves when the socket is closed by the other side. */
const closed = (s: ReturnType<typeof createConnection>) => new Promise<void>((r) => s.on('close', () => r()));

describe('frames and messages', () => {
  it('decodes frames split at any byte and several per chunk', () => {
    const bytes = Buffer.concat([
      encodeFrame({ type: 'heartbeat' }),
      encodeFrame({ type: 'log', line: 'é' }),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(got).toEqual([{ type: 'heartbeat' }, { type: 'log', line: 'é' }]);
    }
  });
  it('refuses oversized frames and non-JSON', () => {
    const big = Buffer.alloc(4);
    big.writeUInt32BE(MAX_FRAME + 1);
    expect(() => new FrameDecoder().push(big)).toThrow(/refused/);
    const junk = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')]);
    expect(() => new FrameDecoder().push(junk)).toThrow(/not JSON/);
  });
  it('validates messages on both sides', () => {
    const request = { imagePath: '/a.iso', devices: ['/dev/loop0'], verify: true, yes: true, showAll: false };
    expect(parseParentMessage({ type: 'start', job: { kind: 'flash', request } })).toEqual({
      type: 'start',
      job: { kind: 'flash', request },
    });
    expect(() =>
      parseParentMessage({ type: 'start', job: { kind: 'flash', request: { ...request, devices: [] } } }),
    ).toThrow(/devices/);
    expect(() =>
      parseParentMessage({ type: 'start', job: { kind: 'flash', request: { ...request, yes: 'yes' } } }),
    ).toThrow(/yes/);
    expect(() => parseParentMessage({ type: 'rm -rf' })).toThrow(/type/);
    expect(() => parseWriterMessage({ type: 'progress', event: { stage: 'nuke' } })).toThrow(/stage/);
    expect(() => parseWriterMessage({ type: 'verified', result: { device: 'x', status: 'fine' } })).toThrow(
      /status/,
    );
  });
});

describe('channel server', () => {
  it('lives in a private 0700 folder, drops a wrong token, accepts the right one, then stops listening', async () => {
    const server = await openChannelServer();
    expect(statSync(dirname(server.address)).mode & 0o777).toBe(0o700);
    const accepted = server.accept(parseWriterMessage, { heartbeatMs: 200, timeoutMs: 2000 });

    const intruder = createConnection(server.address);
    await new Promise((r) => intruder.once('connect', r));
    const intruderClosed = closed(intruder);
    intruder.write(encodeFrame({ type: 'hello', token: 'ab'.repeat(32), pid: 1 }));
    await intruderClosed; // dropped without an answer

    const noHello = createConnection(server.address);
    const noHelloClosed = closed(noHello);
    noHello.write(encodeFrame({ type: 'log', line: 'hi' }));
    await noHelloClosed;

    const good = createConnection(server.address);
    await new Promise((r) => good.once('connect', r));
    good.write(encodeFrame({ type: 'hello', token: server.token, pid: 2 }));
    const peer = await accepted;
    expect(peer.lost).toBeNull();
    expect(existsSync(server.address)).toBe(false); // one writer per token
    peer.close();
    good.destroy();
  });

  it('token files are 0600 and the writer refuses a malformed token', async () => {
    const server = await openChannelServer();
    const file = server.writeTokenFile();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(server.token);
    server.close();
    const launch = buildWriterLaunch('linux', false, writerProgram(), ['--socket', server.address]);
    const child = spawn(launch.command, launch.args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.stdin!.end('not-a-token\n');
    expect(await exitOf(child)).toBe(2);
    expect(err).toContain('no valid token');
  });
});

describe.skipIf(!isRoot)('writer process over the channel', () => {
  let dir: string;
  let iso: { path: string; size: number };
  beforeAll(() => {
    iso = testIso();
    dir = mkdtempSync(join(tmpdir(), 'emt-channel-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('flashes and verifies a loop device through a spawned writer, with progress', async () => {
    const file = join(dir, 'stick.img');
    writeFileSync(file, Buffer.alloc(40 << 20));
    const stages = new Set<string>();
    await withLoop(file, async (dev) => {
      const out = await runFlashJob(
        { imagePath: iso.path, devices: [dev], verify: true, yes: true, showAll: false, logDir: dir },
        { mode: 'process', onProgress: (p) => stages.add(p.stage) },
      );
      expect(out.results[0]!.status, out.results[0]!.message).toBe('ok');
      expect(out.results[0]!.verified).toBe(true);
      const v = await runVerifyJob({ imagePath: iso.path, device: dev }, { mode: 'process' });
      expect(v.status).toBe('ok');
    });
    expect([...stages]).toEqual(expect.arrayContaining(['wipe', 'write', 'verify']));
    const isoSha = createHash('sha256').update(readFileSync(iso.path)).digest('hex');
    expect(createHash('sha256').update(readFileSync(file).subarray(0, iso.size)).digest('hex')).toBe(isoSha);
  });

  it('cancel over the channel stops the writer at a buffer boundary', async () => {
    // Big enough that the write outlasts the first progress event (at most 250 ms in)
    // by far: a 384 MiB write without verify took ~0.25 s and sometimes won the race.
    const SIZE = 3 * 2 ** 30;
    const big = join(dir, 'big.iso');
    writeFileSync(big, pseudoRandom('cancel', 8 << 20));
    const { execFileSync } = await import('node:child_process');
    execFileSync('truncate', ['-s', String(SIZE), big]);
    const file = join(dir, 'cancel.img');
    writeFileSync(file, Buffer.alloc(0));
    execFileSync('truncate', ['-s', String(SIZE), file]);
    await withLoop(file, async (dev) => {
      const abort = new AbortController();
      const out = await runFlashJob(
        { imagePath: big, devices: [dev], verify: false, yes: true, showAll: false, logDir: dir },
        {
          mode: 'process',
          signal: abort.signal,
          onProgress: (p) => {
            if (p.stage === 'write' && p.done > 0) abort.abort();
          },
        },
      );
      const r = out.results[0]!;
      expect(r.status).toBe('cancelled');
      expect(r.bytesWritten).toBeGreaterThan(0);
      expect(r.bytesWritten).toBeLessThan(SIZE);
      expect(r.message).toContain('not usable');
    });
  });

  it('the writer stops when the app goes away (socket closed)', async () => {
    const server = await openChannelServer();
    const launch = buildWriterLaunch('linux', false, writerProgram(), [
      '--socket',
      server.address,
      '--heartbeat-ms',
      '200',
      '--timeout-ms',
      '1500',
    ]);
    const child = spawn(launch.command, launch.args, { stdio: ['pipe', 'ignore', 'pipe'] });
    child.stdin!.end(`${server.token}\n`);
    const peer = await server.accept(parseWriterMessage);
    peer.close();
    expect(await exitOf(child)).toBe(3);
  });

  it('the writer stops when the app hangs (no heartbeat)', async () => {
    // A raw socket server that accepts the writer and then never says anything.
    const sockDir = mkdtempSync(join(tmpdir(), 'emt-hung-'));
    const address = join(sockDir, 's.sock');
    const sockets: import('node:net').Socket[] = [];
    const srv = createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => srv.listen(address, r));
    try {
      const launch = buildWriterLaunch('linux', false, writerProgram(), [
        '--socket',
        address,
        '--heartbeat-ms',
        '200',
        '--timeout-ms',
        '1500',
      ]);
      const started = Date.now();
      const child = spawn(launch.command, launch.args, { stdio: ['pipe', 'ignore', 'pipe'] });
      child.stdin!.end(`${'cd'.repeat(32)}\n`);
      expect(await exitOf(child)).toBe(3);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      for (const s of sockets) s.destroy();
      srv.close();
      rmSync(sockDir, { recursive: true, force: true });
    }
  });
});
