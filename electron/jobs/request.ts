// Run-time checks of a job request that crossed a process boundary (IPC, the UI
// test bridge): plain objects with known keys only, each value of its type.
// A failed check is a BAD_REQUEST naming the job and the field.
import type { JsonObject, JsonValue } from '../api.ts';
import { BadRequestError } from '../errors.ts';

const MAX_STRING = 64 * 1024;
const MAX_JSON_NODES = 20_000;
const MAX_JSON_DEPTH = 16;

export class RequestReader {
  private readonly seen = new Set<string>();

  private constructor(
    readonly job: string,
    private readonly o: Record<string, unknown>,
  ) {}

  static of(job: string, raw: unknown): RequestReader {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new BadRequestError(`${job}: the request must be an object`);
    const proto = Object.getPrototypeOf(raw);
    if (proto !== Object.prototype && proto !== null)
      throw new BadRequestError(`${job}: the request must be a plain object`);
    return new RequestReader(job, raw as Record<string, unknown>);
  }

  private bad(key: string, what: string): never {
    throw new BadRequestError(`${this.job}: ${key} ${what}`);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.o, key) && this.o[key] !== undefined;
  }

  private take(key: string): unknown {
    this.seen.add(key);
    return Object.hasOwn(this.o, key) ? this.o[key] : undefined;
  }

  string(key: string): string {
    const v = this.optString(key);
    if (v === undefined) this.bad(key, 'is required (a string)');
    return v;
  }

  optString(key: string): string | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.bad(key, 'must be a string');
    if (v.length > MAX_STRING) this.bad(key, `must be at most ${MAX_STRING} characters`);
    return v;
  }

  /** A file or folder path: a non-empty string without NUL. */
  path(key: string): string {
    const v = this.optPath(key);
    if (v === undefined) this.bad(key, 'is required (a path)');
    return v;
  }

  optPath(key: string): string | undefined {
    const v = this.optString(key);
    if (v === undefined) return undefined;
    if (v === '' || v.includes('\u0000')) this.bad(key, 'must be a non-empty path without NUL');
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.take(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.bad(key, 'must be true or false');
    return v;
  }

  requiredBool(key: string): boolean {
    const v = this.take(key);
    if (typeof v !== 'boolean') this.bad(key, 'is required (true or false)');
    return v;
  }

  optInteger(key: string): number | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.bad(key, 'must be a whole number');
    return v;
  }

  optEnum<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
      this.bad(key, `must be one of ${values.join(', ')}`);
    return v as T;
  }

  enum<T extends string>(key: string, values: readonly T[]): T {
    const v = this.optEnum(key, values);
    if (v === undefined) this.bad(key, `is required (one of ${values.join(', ')})`);
    return v;
  }

  pathList(key: string, min: number, max: number): string[] {
    const v = this.take(key);
    if (!Array.isArray(v) || v.length < min || v.length > max)
      this.bad(key, `must be a list of ${min === max ? min : `${min} to ${max}`} paths`);
    for (const p of v)
      if (typeof p !== 'string' || p === '' || p.includes('\u0000') || p.length > MAX_STRING)
        this.bad(key, 'must hold non-empty paths');
    return v as string[];
  }

  optStringList(key: string, max: number): string[] | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length > max || !v.every((s) => typeof s === 'string' && s.length <= 4096))
      this.bad(key, `must be a list of at most ${max} strings`);
    return v as string[];
  }

  /** A list of objects, each read by `each`. */
  list<T>(key: string, min: number, max: number, each: (r: RequestReader, i: number) => T): T[] {
    const v = this.take(key);
    if (!Array.isArray(v) || v.length < min || v.length > max)
      this.bad(key, `must be a list of ${min} to ${max} entries`);
    return v.map((item, i) => {
      const r = RequestReader.of(`${this.job}: ${key}[${i}]`, item);
      const out = each(r, i);
      r.done();
      return out;
    });
  }

  /** Plain JSON data (a config form's values): bounded in size and depth. */
  optJsonObject(key: string): JsonObject | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    let nodes = 0;
    const check = (x: unknown, depth: number): x is JsonValue => {
      if (++nodes > MAX_JSON_NODES || depth > MAX_JSON_DEPTH) return false;
      if (x === null || typeof x === 'boolean' || typeof x === 'string') return true;
      if (typeof x === 'number') return Number.isFinite(x);
      if (Array.isArray(x)) return x.every((y) => check(y, depth + 1));
      if (typeof x !== 'object') return false;
      const proto = Object.getPrototypeOf(x);
      if (proto !== Object.prototype && proto !== null) return false;
      return Object.values(x).every((y) => check(y, depth + 1));
    };
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !check(v, 0))
      this.bad(key, `must be a JSON object (at most ${MAX_JSON_NODES} values, ${MAX_JSON_DEPTH} deep)`);
    return v as JsonObject;
  }

  /** Every key of the request must have been read: a typo is an error, not a no-op. */
  done(): void {
    for (const k of Object.keys(this.o))
      if (!this.seen.has(k)) throw new BadRequestError(`${this.job}: unknown field ${JSON.stringify(k)}`);
  }
}
