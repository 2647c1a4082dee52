// sha256 of the ISO while xorriso writes it: a worker thread reads the growing temp
// file from the page cache right behind the writer, so the hash is done (but for
// the last chunk) when xorriso exits, instead of costing a second pass afterwards.
//
// Sound only because both engines write the image strictly sequentially and never
// go back: libisofs computes the whole layout first (system area, GPT, appended
// partitions, backup GPT) and hands libburn one byte stream, which libburn's stdio
// writer copies to the file in order. Seen with strace on a --bios build: native
// xorriso does truncate(0), lseek(fd, 0) once, then only write()s (32 KiB); the
// wasm build (emscripten NODERAWFS) does ftruncate(0), then only pwrite64()s at
// increasing offsets (1 MiB, see resources/xorriso/patches). Guards all the same:
// a file that shrinks, a final size other than what was hashed, or a first 64 KiB
// that changed since it was hashed (where a writer would patch a header) makes us
// hash the finished file again, which is only slower.
//
// A patch (the GPT names) rewrites a few bytes at the start and the end once the
// writer is done: the worker hashes those regions as they will be (it asks the main
// thread for the rewritten bytes) and the main thread writes them when it finishes.
import { open, stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { BuildError } from './build-error.ts';
import { sha256File } from './manifest.ts';

/**
 * A rewrite of the file's first `headBytes` and, optionally, of everything from
 * an offset the head names to the end. Pure: called with the written bytes.
 */
export interface StreamPatch {
  headBytes: number;
  /** The head as it must be, and where the rewritten tail starts (null: no tail). */
  head(bytes: Buffer): { bytes: Buffer; tailAt: number | null };
  /** The tail (from tailAt to the end) as it must be, same length. */
  tail(bytes: Buffer): Buffer;
}

export interface FollowHashOptions {
  signal?: AbortSignal;
  /** Applied to the file when the writer is done; the hash is of the patched file. */
  patch?: StreamPatch;
  /** Bytes hashed so far; starts again from 0 if the finished file is hashed again. */
  onHashed?: (done: number) => void;
}

export interface FollowedHash {
  sha256: string;
  size: number;
  /** False when the guards made us hash the finished file again. */
  whileWriting: boolean;
}

export interface HashFollower {
  /** Call once the writer has exited: hashes what is left, checks, returns. */
  finish(): Promise<FollowedHash>;
  /** Stops following (the writer failed or was cancelled). Safe to call twice. */
  stop(): void;
}

const CHUNK = 8 * 2 ** 20;
const HEAD = 64 * 1024;
// How long to wait when the reader has caught up with the writer.
const POLL_MS = 2;

// Plain JS for `eval: true` (no loader inside the worker). Two buffers: the next
// read runs while this one is hashed. `done` is read before a read is issued, so a
// read that comes back empty after the writer exited is the true end of the file.
const FOLLOW_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { open } = require('node:fs/promises');
const { createHash } = require('node:crypto');
const { path, chunk, headBytes, pollMs, patchHead, maxTail } = workerData;
let writerDone = false;
let answer = null;
parentPort.on('message', (m) => {
  if (m === 'done') writerDone = true;
  else if (answer) answer(m);
});
const ask = (m) => new Promise((res) => { answer = (r) => { answer = null; res(r); }; parentPort.postMessage(m); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
class Redo extends Error {}
(async () => {
  let fh;
  try {
    fh = await open(path, 'r');
    const h = createHash('sha256');
    // Patched regions are held (copied) until the main thread rewrote them.
    let held = [], heldLen = 0, headDone = !patchHead, tailAt = Infinity;
    const hold = (b) => { held.push(Buffer.from(b)); heldLen += b.length; if (heldLen > maxTail) throw new Redo('patched tail too long'); };
    const take = () => { const all = Buffer.concat(held); held = []; heldLen = 0; return all; };
    const hashSpan = (b, start) => {
      const cut = Math.max(0, Math.min(b.length, tailAt - start));
      if (cut > 0) h.update(cut === b.length ? b : b.subarray(0, cut));
      if (cut < b.length) hold(b.subarray(cut));
    };
    const feed = async (b, start) => {
      if (headDone) return hashSpan(b, start);
      held.push(Buffer.from(b)); heldLen += b.length;
      if (heldLen < patchHead) return;
      const all = take();
      const r = await ask({ head: all.subarray(0, patchHead) });
      if (!r.patched) throw new Redo(r.error);
      headDone = true;
      if (r.tailAt !== null) tailAt = r.tailAt;
      hashSpan(r.patched, 0);
      hashSpan(all.subarray(patchHead), patchHead);
    };
    const bufs = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
    const head = Buffer.alloc(headBytes);
    let headLen = 0, i = 0, pos = 0;
    let issuedDone = writerDone;
    let next = fh.read(bufs[0], 0, chunk, 0);
    for (;;) {
      const atEnd = issuedDone;
      const n = (await next).bytesRead;
      if (n > 0) {
        const cur = bufs[i];
        if (headLen < headBytes) headLen += cur.copy(head, headLen, 0, Math.min(n, headBytes - headLen));
        i ^= 1;
        const start = pos;
        pos += n;
        issuedDone = writerDone;
        next = fh.read(bufs[i], 0, chunk, pos);
        await feed(cur.subarray(0, n), start);
        parentPort.postMessage({ bytes: n });
        continue;
      }
      if (atEnd) break;
      if ((await fh.stat()).size < pos) {
        parentPort.postMessage({ redo: 'shrank' });
        return;
      }
      await sleep(pollMs);
      issuedDone = writerDone;
      next = fh.read(bufs[i], 0, chunk, pos);
    }
    if (!headDone) throw new Redo('shorter than the patched head');
    if (tailAt !== Infinity) {
      if (pos <= tailAt) throw new Redo('ends before the patched tail');
      const r = await ask({ tail: take() });
      if (!r.patched) throw new Redo(r.error);
      h.update(r.patched);
    }
    const again = Buffer.alloc(headLen);
    const r = await fh.read(again, 0, headLen, 0);
    if (r.bytesRead !== headLen || !again.equals(head.subarray(0, headLen))) {
      parentPort.postMessage({ redo: 'head changed' });
      return;
    }
    parentPort.postMessage({ sha256: h.digest('hex'), size: pos });
  } catch (e) {
    parentPort.postMessage({ redo: String(e && e.message) });
  } finally {
    if (fh) await fh.close().catch(() => {});
  }
})();
`;

type Outcome = { sha256: string; size: number } | { redo: string };

// A tail longer than this is not a GPT backup: hash the patched file afterwards.
const MAX_TAIL = 16 * 2 ** 20;

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** What a patch made of the bytes the worker saw, to be written when the writer is done. */
interface Patched {
  head?: Buffer;
  tailAt?: number | null;
  tail?: Buffer;
}

/** Applies `patch` to the finished file in place (when it could not be done in stream). */
export async function patchFile(path: string, patch: StreamPatch): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(patch.headBytes, size));
    await fh.read(head, 0, head.length, 0);
    const r = patch.head(head);
    if (r.bytes.length !== head.length) throw new Error('a patch changed the length of the head');
    await fh.write(r.bytes, 0, r.bytes.length, 0);
    if (r.tailAt === null) return;
    const tail = Buffer.alloc(Math.max(0, size - r.tailAt));
    await fh.read(tail, 0, tail.length, r.tailAt);
    const t = patch.tail(tail);
    if (t.length !== tail.length) throw new Error('a patch changed the length of the tail');
    await fh.write(t, 0, t.length, r.tailAt);
  } finally {
    await fh.close();
  }
}

async function writePatched(path: string, p: Patched): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    if (p.head) await fh.write(p.head, 0, p.head.length, 0);
    if (p.tail && typeof p.tailAt === 'number') await fh.write(p.tail, 0, p.tail.length, p.tailAt);
  } finally {
    await fh.close();
  }
}

/**
 * Starts hashing `path` (which exists) as it grows. The caller runs the writer,
 * then calls finish(), or stop() when the writer failed.
 */
export function followHash(path: string, opts: FollowHashOptions = {}): HashFollower {
  const w = new Worker(FOLLOW_WORKER, {
    eval: true,
    workerData: {
      path,
      chunk: CHUNK,
      headBytes: HEAD,
      pollMs: POLL_MS,
      patchHead: opts.patch?.headBytes ?? 0,
      maxTail: MAX_TAIL,
    },
  });
  let stopped = false;
  const patched: Patched = {};
  // The worker asks for the rewritten head, then (at the end) the rewritten tail.
  const answer = (given: Uint8Array, make: () => Buffer, keep: (b: Buffer) => Record<string, unknown>) => {
    try {
      const b = make();
      // The worker hashes the answer in place of what it read: same length or nothing.
      if (b.length !== given.length)
        throw new Error(`a patch changed ${given.length} bytes into ${b.length}`);
      w.postMessage({ patched: b, ...keep(b) });
    } catch (e) {
      w.postMessage({ patched: null, error: (e as Error).message });
    }
  };
  // Never rejects: any trouble while following only means hashing the file again.
  const outcome = new Promise<Outcome>((resolve) => {
    let hashed = 0;
    w.on('message', (m: { bytes?: number; head?: Uint8Array; tail?: Uint8Array } & Partial<Outcome>) => {
      const patch = opts.patch;
      if (m.bytes !== undefined) {
        hashed += m.bytes;
        if (!stopped) opts.onHashed?.(hashed);
      } else if (m.head && patch) {
        let tailAt: number | null = null;
        answer(
          m.head,
          () => {
            const r = patch.head(asBuffer(m.head!));
            tailAt = r.tailAt;
            return r.bytes;
          },
          (b) => {
            patched.head = b;
            patched.tailAt = tailAt;
            return { tailAt };
          },
        );
      } else if (m.tail && patch) {
        answer(
          m.tail,
          () => patch.tail(asBuffer(m.tail!)),
          (b) => {
            patched.tail = b;
            return {};
          },
        );
      } else resolve(m as Outcome);
    });
    w.on('error', (e) => resolve({ redo: e.message }));
    w.on('exit', () => resolve({ redo: 'the hashing thread stopped' }));
  });
  const stop = () => {
    if (stopped) return;
    stopped = true;
    void w.terminate();
  };
  const cancelled = () => new BuildError('CANCELLED', `cancelled while reading ${path}`, path);

  return {
    stop,
    async finish() {
      if (opts.signal?.aborted) {
        stop();
        throw cancelled();
      }
      w.postMessage('done');
      const onAbort = () => stop();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let got: Outcome;
      try {
        got = await outcome;
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
        stop();
      }
      if (opts.signal?.aborted) throw cancelled();
      if ('sha256' in got) {
        // The writer has exited: the file's size now is its final size.
        const { size } = await stat(path);
        if (size === got.size) {
          if (opts.patch) await writePatched(path, patched);
          return { sha256: got.sha256, size, whileWriting: true };
        }
      }
      if (opts.patch) await patchFile(path, opts.patch);
      let done = 0;
      const again = await sha256File(path, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        onBytes: (n) => {
          done += n;
          opts.onHashed?.(done);
        },
      });
      return { ...again, whileWriting: false };
    },
  };
}
