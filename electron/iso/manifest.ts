// The build manifest written to /emt-installer.json: what went into the ISO and
// how it was made, so a user (and the installer) can check every payload byte.
// Nothing in it may depend on the engine or the clock: same inputs, same ISO.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
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
  osImage: ManifestFile;
  partitions: { esp: { size: number; sha256: string }; config: { size: number; sha256: string } };
  files: ManifestFile[];
}

export interface HashOptions {
  signal?: AbortSignal;
  /** Called with the bytes hashed since the last call. */
  onBytes?: (n: number) => void;
}

/** Streams a file through sha256 (1 MiB reads: a 3 GB image costs no memory). */
export async function sha256File(
  path: string,
  opts: HashOptions = {},
): Promise<{ sha256: string; size: number }> {
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
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BuildError('INPUT_MISSING', `${path} does not exist`, path);
    throw new BuildError('INPUT_UNREADABLE', `cannot read ${path}: ${(e as Error).message}`, path);
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
