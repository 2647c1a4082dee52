// Where the two xorriso engines live: the system's native `xorriso` on PATH, and
// our WebAssembly build (resources/xorriso/dist/, made by resources/xorriso/build.sh).
import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type XorrisoEngine = 'wasm' | 'native';
export type EngineChoice = 'auto' | XorrisoEngine;

export interface EngineInfo {
  engine: XorrisoEngine;
  /** The native binary, or the wasm build's xorriso.js. */
  path: string;
  /** e.g. "1.5.4" */
  version: string;
}

/** Folder of the wasm build: $EMT_XORRISO_WASM_DIR (packaged app), else the repo's dist. */
export function wasmDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.EMT_XORRISO_WASM_DIR || fileURLToPath(new URL('../../resources/xorriso/dist/', import.meta.url));
}

/** xorriso.js of the wasm build, or null when it has not been built. */
export function findWasm(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = wasmDir(env);
  const js = join(dir, 'xorriso.js');
  return existsSync(js) && existsSync(join(dir, 'xorriso.wasm')) ? js : null;
}

/** The first executable `xorriso` on PATH, or null. */
export async function findNative(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const names = process.platform === 'win32' ? ['xorriso.exe', 'xorriso'] : ['xorriso'];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here; keep looking
      }
    }
  }
  return null;
}
