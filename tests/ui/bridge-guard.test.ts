// The UI bridge refuses everything without its token, checks Host (DNS
// rebinding) and Origin (other sites' pages), and runs jobs with the same
// request checks as Electron main. Real sockets, real HTTP.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  cookieToken,
  isAllowedHost,
  isAllowedOrigin,
  judgeRequest,
  tokenMatches,
} from '../../scripts/ui-bridge/guard.ts';
import { startUiBridge, type UiBridge } from '../../scripts/ui-bridge/server.ts';

function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', fail);
    req.end();
  });
}

function wsOpen(port: number, headers: Record<string, string>): Promise<WebSocket | number> {
  return new Promise((ok) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/__bridge/ws`, { headers });
    ws.on('open', () => ok(ws));
    ws.on('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
    ws.on('error', () => ok(0));
  });
}

describe('UI bridge guard (pure checks)', () => {
  it('accepts only loopback Host/Origin on our port, and the exact token', () => {
    expect(isAllowedHost('127.0.0.1:5000', 5000)).toBe(true);
    expect(isAllowedHost('evil.example:5000', 5000)).toBe(false);
    expect(isAllowedHost('127.0.0.1:5001', 5000)).toBe(false);
    expect(isAllowedHost(undefined, 5000)).toBe(false);
    expect(isAllowedOrigin('http://127.0.0.1:5000', 5000)).toBe(true);
    expect(isAllowedOrigin('http://evil.example:5000', 5000)).toBe(false);
    expect(isAllowedOrigin('null', 5000)).toBe(false);
    expect(isAllowedOrigin(undefined, 5000)).toBe(false);
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abd', 'abc')).toBe(false);
    expect(tokenMatches('ab', 'abc')).toBe(false);
    expect(tokenMatches(null, 'abc')).toBe(false);
    expect(cookieToken('a=1; emt-bridge=xyz; b=2')).toBe('xyz');
    expect(cookieToken(undefined)).toBe(null);
    const h = { host: '127.0.0.1:9' };
    expect(judgeRequest({ url: '/?token=t', headers: h }, 9, 't', false)).toEqual({
      ok: true,
      viaQuery: true,
    });
    expect(judgeRequest({ url: '/?token=x', headers: h }, 9, 't', false)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(judgeRequest({ url: '/', headers: { ...h, cookie: 'emt-bridge=t' } }, 9, 't', true)).toMatchObject(
      { ok: false, why: 'wrong Origin' },
    );
  });
});

describe('UI bridge over real sockets', () => {
  let bridge: UiBridge;
  let dir: string;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emt-bridge-'));
    await writeFile(
      join(dir, 'index.html'),
      '<html><head><meta http-equiv="Content-Security-Policy" content="x"></head><body>app</body></html>',
    );
    await writeFile(join(dir, 'app.js'), 'console.log(1)');
    bridge = await startUiBridge({ rendererDir: dir });
    port = bridge.port;
  });
  afterAll(async () => {
    await bridge?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints a URL on 127.0.0.1 with a long random token', () => {
    expect(bridge.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/\\?token=[0-9a-f]{48}$`));
  });

  it('answers nothing but a refusal without the token', async () => {
    for (const path of ['/', '/index.html', '/app.js', '/__bridge/client.js', '/?token=wrong']) {
      const r = await get(port, path);
      expect(r.status, path).toBe(403);
      expect(r.body).toBe('refused\n');
    }
  });

  it('refuses a right token under a foreign Host (DNS rebinding)', async () => {
    const r = await get(port, `/?token=${bridge.token}`, { host: `attacker.example:${port}` });
    expect(r.status).toBe(421);
    expect(r.body).toBe('refused\n');
  });

  it('with the token: the page with the bridge client and a cookie for the rest', async () => {
    const r = await get(port, `/?token=${bridge.token}`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('<script defer src="./__bridge/client.js"></script>');
    expect(r.body).toContain(`connect-src ws://127.0.0.1:${port}`);
    const cookie = String((r.headers['set-cookie'] as string[])[0]).split(';')[0]!;
    expect(cookie).toBe(`emt-bridge=${bridge.token}`);
    expect(String((r.headers['set-cookie'] as string[])[0])).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await get(port, '/app.js', { cookie })).body).toBe('console.log(1)');
    expect((await get(port, '/../../etc/passwd', { cookie })).status).not.toBe(200);
  });

  it('refuses WebSockets without the token, from another Origin, or under another Host', async () => {
    const origin = `http://127.0.0.1:${port}`;
    const cookie = `emt-bridge=${bridge.token}`;
    expect(await wsOpen(port, { origin })).toBe(403);
    expect(await wsOpen(port, { origin: 'http://attacker.example', cookie })).toBe(403);
    expect(await wsOpen(port, { origin, cookie, host: `attacker.example:${port}` })).toBe(421);
    const ok = await wsOpen(port, { origin, cookie });
    expect(ok).toBeInstanceOf(WebSocket);
    (ok as WebSocket).close();
  });

  it('validates job requests as main does: unknown jobs, bad fields, bad job ids', async () => {
    const ws = (await wsOpen(port, {
      origin: `http://127.0.0.1:${port}`,
      cookie: `emt-bridge=${bridge.token}`,
    })) as WebSocket;
    const ask = (m: unknown) =>
      new Promise<{ reply: { error?: { code: string; message: string } } }>((ok) => {
        ws.once('message', (d) => ok(JSON.parse(String(d))));
        ws.send(JSON.stringify(m));
      });
    expect((await ask({ type: 'run', job: 'rm-rf', jobId: 'a', request: {} })).reply.error?.code).toBe(
      'BAD_REQUEST',
    );
    expect(
      (await ask({ type: 'run', job: 'drives', jobId: 'bad id!', request: { showAll: false } })).reply.error
        ?.code,
    ).toBe('BAD_REQUEST');
    const r = await ask({ type: 'run', job: 'drives', jobId: 'b', request: { showAll: 'yes' } });
    expect(r.reply.error).toMatchObject({ code: 'BAD_REQUEST' });
    expect(r.reply.error?.message).toContain('showAll');
    const flash = await ask({
      type: 'run',
      job: 'flash',
      jobId: 'c',
      request: {
        image: '/nonexistent.iso',
        targets: [{ device: '/dev/vda' }],
        verify: true,
        yes: true,
        showAll: true,
        extra: 1,
      },
    });
    expect(flash.reply.error?.code).toBe('BAD_REQUEST');
    ws.close();
  });
});

describe('npm run ui:preview', () => {
  it('prints its URL with the token as the last start-up line, and that URL serves the page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emt-preview-'));
    await writeFile(join(dir, 'index.html'), '<html><head></head><body>preview</body></html>');
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/ui-bridge/preview.ts'], {
      cwd: new URL('../../', import.meta.url).pathname,
      env: { ...process.env, EMT_UI_RENDERER_DIR: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      const url = await new Promise<string>((ok, fail) => {
        child.stdout.on('data', (d) => {
          out += d;
          const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48})\n$/.exec(out);
          if (m) ok(m[1]!);
        });
        child.on('exit', (code) => fail(new Error(`preview exited ${code}: ${out}`)));
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(out.trimEnd().split('\n').at(-1)).toBe(url); // nothing after it
      const u = new URL(url);
      const page = await get(Number(u.port), `/?token=${u.searchParams.get('token')}`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('preview');
      expect((await get(Number(u.port), '/')).status).toBe(403);
    } finally {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
