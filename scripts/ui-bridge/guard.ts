// The UI bridge's gate, as pure checks: only our own page on 127.0.0.1 with the
// random token gets anything. Host is checked (a DNS-rebinding page reaches us
// under its own name), Origin is checked on the WebSocket (another site's page
// can open one to 127.0.0.1), and the token compared in constant time.
import { timingSafeEqual } from 'node:crypto';

export const COOKIE = 'emt-bridge';

/** Host header must name the loopback address and our port exactly. */
export function isAllowedHost(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** A WebSocket must come from our own page's origin. */
export function isAllowedOrigin(origin: string | undefined, port: number): boolean {
  return origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}

export function tokenMatches(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function cookieToken(cookieHeader: string | undefined): string | null {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return null;
}

export type Verdict = { ok: true; viaQuery: boolean } | { ok: false; status: number; why: string };

/**
 * One request's verdict: Host first, then (for WebSockets) Origin, then the
 * token from `?token=` or the cookie the first page load set.
 */
export function judgeRequest(
  req: { url?: string; headers: Record<string, string | string[] | undefined> },
  port: number,
  token: string,
  websocket: boolean,
): Verdict {
  const h = (k: string): string | undefined => {
    const v = req.headers[k];
    return Array.isArray(v) ? v[0] : v;
  };
  if (!isAllowedHost(h('host'), port)) return { ok: false, status: 421, why: 'wrong Host' };
  if (websocket && !isAllowedOrigin(h('origin'), port))
    return { ok: false, status: 403, why: 'wrong Origin' };
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  const q = url.searchParams.get('token');
  if (q !== null)
    return tokenMatches(q, token)
      ? { ok: true, viaQuery: true }
      : { ok: false, status: 403, why: 'bad token' };
  return tokenMatches(cookieToken(h('cookie')), token)
    ? { ok: true, viaQuery: false }
    : { ok: false, status: 403, why: 'no token' };
}
