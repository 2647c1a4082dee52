// Runs xorriso with an argv, on one of two engines that give the same bytes:
// the system's native xorriso, or our WebAssembly build run by Node as a separate
// child process (the GPL program stays its own program; cancelling is a kill).
import { spawn } from 'node:child_process';
import type { ProgressSink } from '../progress.ts';
import { IsoError } from './errors.ts';
import {
  type EngineChoice,
  type EngineInfo,
  findNative,
  findWasm,
  wasmDir,
  type XorrisoEngine,
} from './xorriso-engines.ts';
import { parseProgressLine, parseVersion, problemLines, splitLines } from './xorriso-messages.ts';

export { IsoError } from './errors.ts';
export type { EngineChoice, EngineInfo, XorrisoEngine } from './xorriso-engines.ts';

/** An IsoError from running xorriso; `code` says which: BAD_ENGINE, NO_NATIVE, NO_WASM,
 * BAD_EPOCH, BAD_ARGV, SPAWN, XORRISO_FAILED, CANCELLED, NO_VERSION. */
export class XorrisoError extends IsoError {
  /** xorriso's exit code, when it ran and failed. */
  readonly exitCode: number | undefined;
  /** xorriso's own SORRY/FAILURE/FATAL lines. */
  readonly problems: string[];

  constructor(
    code: string,
    message: string,
    opts: { file?: string; exitCode?: number; problems?: string[] } = {},
  ) {
    super(code, message, opts.file);
    this.name = 'XorrisoError';
    this.exitCode = opts.exitCode;
    this.problems = opts.problems ?? [];
  }
}

export interface RunXorrisoOptions {
  engine?: EngineChoice;
  cwd?: string;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  /** Sets SOURCE_DATE_EPOCH for reproducible volume dates and ids. */
  sourceDateEpoch?: number;
  /** Progress from xorriso's pacifier lines; with it, xorriso reports every 0.25 s
   * (`-pacifier interval=0.25` is put first unless argv sets -pacifier itself). */
  onProgress?: ProgressSink;
  signal?: AbortSignal;
}

export interface RunXorrisoResult {
  engine: XorrisoEngine;
  exitCode: number;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

// Kept output per stream; progress and problem lines are read as they stream past.
const MAX_KEPT = 8 * 2 ** 20;

/** Resolves 'auto' (native when installed, else wasm) and finds the program. */
async function resolveEngine(choice: EngineChoice): Promise<{ engine: XorrisoEngine; path: string }> {
  if (choice !== 'auto' && choice !== 'native' && choice !== 'wasm') {
    throw new XorrisoError('BAD_ENGINE', `unknown xorriso engine '${String(choice)}' (auto, wasm or native)`);
  }
  if (choice !== 'wasm') {
    const native = await findNative();
    if (native) return { engine: 'native', path: native };
    if (choice === 'native') {
      throw new XorrisoError(
        'NO_NATIVE',
        'native xorriso not found on PATH: install xorriso or use the wasm engine',
      );
    }
  }
  const wasm = findWasm();
  if (!wasm) {
    throw new XorrisoError('NO_WASM', `xorriso wasm build missing in ${wasmDir()}: run npm run setup`, {
      file: wasmDir(),
    });
  }
  return { engine: 'wasm', path: wasm };
}

function childEnv(engine: XorrisoEngine, opts: RunXorrisoOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Same file-name handling on both engines: the wasm build assumes UTF-8, native
  // xorriso in a C locale would assume ASCII.
  env.LANG = 'C.UTF-8';
  env.LC_ALL = 'C.UTF-8';
  if (engine === 'wasm') {
    // In Electron, process.execPath is the app: make it behave as plain Node.
    if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1';
    // The emscripten glue must not see our tsx/loader flags.
    delete env.NODE_OPTIONS;
  }
  if (opts.sourceDateEpoch !== undefined) {
    const n = opts.sourceDateEpoch;
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new XorrisoError(
        'BAD_EPOCH',
        `SOURCE_DATE_EPOCH must be a whole number of seconds >= 0, got ${n}`,
      );
    }
    env.SOURCE_DATE_EPOCH = String(n);
  }
  Object.assign(env, opts.env);
  return env;
}

function checkArgv(argv: readonly string[]): void {
  if (!Array.isArray(argv)) throw new XorrisoError('BAD_ARGV', 'xorriso argv must be an array of strings');
  for (const a of argv) {
    if (typeof a !== 'string' || a.includes('\0')) {
      throw new XorrisoError('BAD_ARGV', `xorriso argument ${JSON.stringify(a)} is not a plain string`);
    }
  }
}

const cancelled = () => new XorrisoError('CANCELLED', 'xorriso was cancelled');

/**
 * Runs xorriso with `argv` (everything after the program name). Rejects with a
 * XorrisoError (an IsoError) on failure or cancel; a cancelled run's output file
 * is the caller's to remove.
 */
export async function runXorriso(argv: string[], opts: RunXorrisoOptions = {}): Promise<RunXorrisoResult> {
  checkArgv(argv);
  if (opts.signal?.aborted) throw cancelled();
  const { engine, path } = await resolveEngine(opts.engine ?? 'auto');
  const env = childEnv(engine, opts);
  const onProgress = opts.onProgress;
  // Pacifier settings change no byte of the output, only how often it reports.
  const fullArgv = onProgress && !argv.includes('-pacifier') ? ['-pacifier', 'interval=0.25', ...argv] : argv;
  const [cmd, args] = engine === 'native' ? [path, fullArgv] : [process.execPath, [path, ...fullArgv]];
  const started = performance.now();

  return new Promise<RunXorrisoResult>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(cancelled());
      return;
    }
    const child = spawn(cmd, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pendingErr = '';
    let pendingOut = '';
    let aborted = false;
    const problems: string[] = [];

    const keep = (kept: string, chunk: string) => {
      const next = kept + chunk;
      return next.length > MAX_KEPT ? next.slice(next.length - MAX_KEPT) : next;
    };
    const readLines = (lines: string[]) => {
      for (const line of lines) {
        if (onProgress) {
          const ev = parseProgressLine(line);
          if (ev) onProgress(ev);
        }
        problems.push(...problemLines(line).filter((p) => !problems.includes(p)));
      }
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout = keep(stdout, chunk);
      const { lines, rest } = splitLines(pendingOut, chunk);
      pendingOut = rest;
      readLines(lines);
    });
    child.stderr.on('data', (chunk: string) => {
      stderr = keep(stderr, chunk);
      const { lines, rest } = splitLines(pendingErr, chunk);
      pendingErr = rest;
      readLines(lines);
    });

    const onAbort = () => {
      aborted = true;
      // A kill, not a polite request: xorriso would otherwise try to finish the image.
      child.kill('SIGKILL');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (e: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(
        new XorrisoError('SPAWN', `cannot start xorriso (${engine}) ${cmd}: ${e.message}`, { file: cmd }),
      );
    });
    child.on('close', (code, sig) => {
      opts.signal?.removeEventListener('abort', onAbort);
      readLines([pendingOut, pendingErr].filter(Boolean));
      const elapsedMs = Math.round(performance.now() - started);
      if (aborted) {
        reject(cancelled());
        return;
      }
      if (code === 0) {
        resolve({ engine, exitCode: 0, stdout, stderr, elapsedMs });
        return;
      }
      const how = sig ? `was killed by ${sig}` : `failed with exit code ${code}`;
      // xorriso's own words first; else the last lines it wrote (a wasm trap, say).
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      const why = problems.length > 0 ? problems.join(' | ') : tail || 'no message';
      reject(
        new XorrisoError('XORRISO_FAILED', `xorriso (${engine}) ${how}: ${why}`, {
          ...(code !== null ? { exitCode: code } : {}),
          problems,
        }),
      );
    });
  });
}

const versions = new Map<string, string>();

/** The version of one engine's xorriso, e.g. "1.5.4" (asks the program once per path). */
export async function xorrisoVersion(engine: XorrisoEngine): Promise<string> {
  const { path } = await resolveEngine(engine);
  const known = versions.get(path);
  if (known) return known;
  const { stdout, stderr } = await runXorriso(['-version'], { engine });
  const version = parseVersion(stdout) ?? parseVersion(stderr);
  if (!version)
    throw new XorrisoError('NO_VERSION', `xorriso (${engine}) at ${path} printed no version`, { file: path });
  versions.set(path, version);
  return version;
}

/** Which engines are usable here, with their versions; null when one is missing or broken. */
export async function detectEngines(): Promise<{ native: EngineInfo | null; wasm: EngineInfo | null }> {
  const probe = async (engine: XorrisoEngine): Promise<EngineInfo | null> => {
    try {
      const { path } = await resolveEngine(engine);
      return { engine, path, version: await xorrisoVersion(engine) };
    } catch (e) {
      if (e instanceof XorrisoError) return null;
      throw e;
    }
  };
  const [native, wasm] = await Promise.all([probe('native'), probe('wasm')]);
  return { native, wasm };
}
