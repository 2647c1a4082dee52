// The build manifest written to /emt-installer.json: what went into the ISO and
// how it was made, so a user (and the installer) can check every payload byte.
// Nothing in it may depend on the engine or the clock: same inputs, same ISO.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { BuildError } from './build-error.ts';
import type { StageEntry } from './stage.ts';
import { payloadFiles } from './stage.ts';

export const MANIFEST_SCHEMA = 1;

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface BuildManifest {
  schema: typeof MANIFEST_SCHEMA;
  buildId: string;
  label: string;
  sourceDateEpoch: number;
  createdAt: string;
  tool: { name: string; version: string };
  /** Version of the xorriso program that mastered the image (native and wasm agree). */
  xorriso: string;
  bootkit: { source: string; sha256: string; kernelVersion: string | null };
  kernelCmdline: string;
  configSchemaVersion: number | null;
  bios: boolean;
  /** Only on Secure Boot builds: the chain on the ESP (absent otherwise, so older builds keep their bytes). */
  secureBoot?: 'shim' | 'uki';
  /** Only when UEFI CD boot is not offered (a UKI ESP over El Torito's 32 MiB): false. */
  cdBoot?: false;
  osImage: ManifestFile;
  partitions: { esp: { size: number; sha256: string }; config: { size: number; sha256: string } };
  files: ManifestFile[];
}

export interface HashOptions {
  signal?: AbortSignal;
  /** Called with the bytes hashed since the last call. */
  onBytes?: (n: number) => void;
}

/** From this size on a file is hashed on a worker thread (its start-up costs ~30 ms). */
export const WORKER_HASH_MIN = 32 * 2 ** 20;
const WORKER_READ = 8 * 2 ** 20;

// Plain JS for `eval: true` (no loader inside the worker). Two reused buffers:
// the next read runs while this one is hashed, and nothing is allocated per chunk.
const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { open } = require('node:fs/promises');
const { createHash } = require('node:crypto');
(async () => {
  const { path, chunk } = workerData;
  let fh;
  try {
    fh = await open(path, 'r');
    const h = createHash('sha256');
    const bufs = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
    let i = 0, pos = 0;
    let next = fh.read(bufs[0], 0, chunk, 0);
    for (;;) {
      const n = (await next).bytesRead;
      if (n === 0) break;
      const cur = bufs[i];
      i ^= 1;
      pos += n;
      next = fh.read(bufs[i], 0, chunk, pos);
      h.update(cur.subarray(0, n));
      parentPort.postMessage({ bytes: n });
    }
    parentPort.postMessage({ sha256: h.digest('hex'), size: pos });
  } catch (e) {
    parentPort.postMessage({ error: { code: e && e.code, message: String(e && e.message) } });
  } finally {
    if (fh) await fh.close().catch(() => {});
  }
})();
`;

/**
 * sha256 of a file. Big files (OS image, ISO) are hashed on a worker thread: on
 * two cores the build's zlib work on the main thread and the hash truly overlap.
 */
export async function sha256File(
  path: string,
  opts: HashOptions = {},
): Promise<{ sha256: string; size: number }> {
  const size = await stat(path).then(
    (st) => (st.isFile() ? st.size : 0),
    () => 0,
  );
  if (size >= WORKER_HASH_MIN) return sha256OnWorker(path, opts);
  return sha256InThread(path, opts);
}

function sha256OnWorker(path: string, opts: HashOptions): Promise<{ sha256: string; size: number }> {
  if (opts.signal?.aborted) {
    return Promise.reject(new BuildError('CANCELLED', `cancelled while reading ${path}`, path));
  }
  return new Promise((resolve, reject) => {
    const w = new Worker(HASH_WORKER, { eval: true, workerData: { path, chunk: WORKER_READ } });
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      void w.terminate();
      f();
    };
    const onAbort = () =>
      finish(() => reject(new BuildError('CANCELLED', `cancelled while reading ${path}`, path)));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    w.on(
      'message',
      (m: { bytes?: number; sha256?: string; size?: number; error?: { code?: string; message: string } }) => {
        if (settled) return;
        if (m.bytes !== undefined) opts.onBytes?.(m.bytes);
        else if (m.error) finish(() => reject(readError(path, m.error!.code, m.error!.message)));
        else finish(() => resolve({ sha256: m.sha256!, size: m.size! }));
      },
    );
    w.on('error', (e) => finish(() => reject(readError(path, undefined, e.message))));
    w.on('exit', () => finish(() => reject(readError(path, undefined, 'the hashing thread stopped early'))));
  });
}

function readError(path: string, code: string | undefined, message: string): BuildError {
  if (code === 'ENOENT') return new BuildError('INPUT_MISSING', `${path} does not exist`, path);
  return new BuildError('INPUT_UNREADABLE', `cannot read ${path}: ${message}`, path);
}

async function sha256InThread(path: string, opts: HashOptions): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    const stream = createReadStream(path, { highWaterMark: 1 << 20, signal: opts.signal });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      opts.onBytes?.(chunk.length);
    }
  } catch (e) {
    if (opts.signal?.aborted) throw new BuildError('CANCELLED', `cancelled while reading ${path}`, path);
    throw readError(path, (e as NodeJS.ErrnoException).code, (e as Error).message);
  }
  return { sha256: hash.digest('hex'), size };
}

export const sha256Bytes = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * Hashes every payload file of a stage plan, sorted by ISO path. `known` maps a
 * disk path to a hash already computed (the OS image is hashed once per build).
 */
export async function hashPayload(
  entries: StageEntry[],
  opts: HashOptions & { known?: Map<string, { sha256: string; size: number }> } = {},
): Promise<ManifestFile[]> {
  const out: ManifestFile[] = [];
  for (const f of payloadFiles(entries)) {
    if (f.source.kind === 'bytes') {
      out.push({ path: f.isoPath, size: f.source.data.length, sha256: sha256Bytes(f.source.data) });
      continue;
    }
    const h = opts.known?.get(f.source.path) ?? (await sha256File(f.source.path, opts));
    out.push({ path: f.isoPath, size: h.size, sha256: h.sha256 });
  }
  return out;
}

/** Stable JSON: keys in the interface's order, two-space indent, final newline. */
export function encodeManifest(m: BuildManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(m, null, 2)}\n`);
}

/**
 * A build id from what decides the ISO's bytes (input hashes and options), so the
 * same inputs give the same id and the same image; 16 hex digits.
 */
export function buildIdOf(recipe: unknown): string {
  return sha256Bytes(new TextEncoder().encode(canonicalJson(recipe))).slice(0, 16);
}

/** JSON with object keys sorted at every level. */
export function canonicalJson(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}
