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
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { BuildError } from './build-error.ts';
import { sha256File } from './manifest.ts';

export interface FollowHashOptions {
  signal?: AbortSignal;
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
const { path, chunk, headBytes, pollMs } = workerData;
let writerDone = false;
parentPort.on('message', (m) => { if (m === 'done') writerDone = true; });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  let fh;
  try {
    fh = await open(path, 'r');
    const h = createHash('sha256');
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
        pos += n;
        issuedDone = writerDone;
        next = fh.read(bufs[i], 0, chunk, pos);
        h.update(cur.subarray(0, n));
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

/**
 * Starts hashing `path` (which exists) as it grows. The caller runs the writer,
 * then calls finish(), or stop() when the writer failed.
 */
export function followHash(path: string, opts: FollowHashOptions = {}): HashFollower {
  const w = new Worker(FOLLOW_WORKER, {
    eval: true,
    workerData: { path, chunk: CHUNK, headBytes: HEAD, pollMs: POLL_MS },
  });
  let stopped = false;
  // Never rejects: any trouble while following only means hashing the file again.
  const outcome = new Promise<Outcome>((resolve) => {
    let hashed = 0;
    w.on('message', (m: { bytes?: number } & Partial<Outcome>) => {
      if (m.bytes !== undefined) {
        hashed += m.bytes;
        if (!stopped) opts.onHashed?.(hashed);
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
        if (size === got.size) return { sha256: got.sha256, size, whileWriting: true };
      }
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
