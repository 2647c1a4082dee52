// The one --json protocol (README "--json"): stdout holds JSON lines only,
// progress events, then exactly one result or one error line. Every line is
// checked against that shape; tests read the result (or the error) from here.
import { expect } from 'vitest';

export interface JsonLines {
  progress: Record<string, unknown>[];
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever a command returns
  result: Record<string, any> | null;
  error: { area: string; code: string; message: string; file: string | null } | null;
}

const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** Parses and checks every line; throws (failing the test) on any line off the shape. */
export function parseJsonLines(stdout: string | string[]): JsonLines {
  const lines = (Array.isArray(stdout) ? stdout.join('\n') : stdout).split('\n').filter((l) => l !== '');
  const out: JsonLines = { progress: [], result: null, error: null };
  for (const [i, line] of lines.entries()) {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`--json line ${i + 1} is not JSON: ${line.slice(0, 200)}`);
    }
    expect(typeof v === 'object' && v !== null && !Array.isArray(v), `line ${i + 1} is an object`).toBe(true);
    const last = i === lines.length - 1;
    switch (v.type) {
      case 'progress':
        expect(last, 'a progress line is never the last').toBe(false);
        expect(typeof v.stage, `line ${i + 1}: stage`).toBe('string');
        expect(isNum(v.done), `line ${i + 1}: done`).toBe(true);
        expect(v.total === null || isNum(v.total), `line ${i + 1}: total`).toBe(true);
        if ('device' in v) expect(typeof v.device).toBe('string');
        out.progress.push(v);
        break;
      case 'result':
        expect(last, 'the result is the last line').toBe(true);
        out.result = v;
        break;
      case 'error': {
        expect(last, 'the error is the last line').toBe(true);
        const e = v.error as JsonLines['error'];
        expect(e).toMatchObject({
          area: expect.any(String),
          code: expect.any(String),
          message: expect.any(String),
        });
        expect(e!.file === null || typeof e!.file === 'string').toBe(true);
        expect(e!.message).not.toMatch(/\n/);
        out.error = e;
        break;
      }
      default:
        throw new Error(`--json line ${i + 1} has no known type: ${line.slice(0, 200)}`);
    }
  }
  expect(Number(out.result !== null) + Number(out.error !== null), 'exactly one result or error line').toBe(
    1,
  );
  return out;
}

/** The result object of a --json run (fails the test when it ended in an error). */
// biome-ignore lint/suspicious/noExplicitAny: tests read whatever a command returns
export function jsonResult<T = Record<string, any>>(stdout: string | string[]): T {
  const r = parseJsonLines(stdout);
  expect(r.error, 'the run ended in an error').toBeNull();
  return r.result as T;
}
