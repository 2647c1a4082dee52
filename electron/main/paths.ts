// Where the built app's parts are, relative to the app root (the folder holding
// package.json, or the asar). The bundler configs (vite/esbuild) write exactly
// these files; main, the packager test and the writer launcher read them here.
import { existsSync } from 'node:fs';
import path from 'node:path';

export const BUILD_OUTPUT = {
  /** Electron main (ESM); package.json "main" points here. */
  main: 'dist/main/index.js',
  /** The sandboxed preload: CommonJS (a sandboxed preload cannot be ESM). */
  preload: 'dist/preload/index.cjs',
  /** The renderer's entry page. */
  renderer: 'dist/renderer/index.html',
  /** The elevated writer, a self-contained Node script run by the app's own executable. */
  writer: 'dist/writer/writer.js',
} as const;

/** Folders under the packaged app's resources (electron-builder extraResources). */
export const RESOURCE_DIRS = {
  xorrisoWasm: 'xorriso',
  bootLoaders: 'boot',
  polkit: 'polkit',
  linuxWriterLauncher: 'linux',
} as const;

/**
 * What a packaged app must tell the engine: its xorriso wasm and boot loaders
 * live under resources/, not in a checkout beside the code.
 */
export function packagedResourceEnv(resourcesPath: string): Record<string, string> {
  return {
    EMT_XORRISO_WASM_DIR: path.join(resourcesPath, RESOURCE_DIRS.xorrisoWasm),
    EMT_BOOT_DIR: path.join(resourcesPath, RESOURCE_DIRS.bootLoaders),
  };
}

/** The app root from the built main's own location (dist/main/index.js -> ../..). */
export const appRootFromMain = (mainDir: string): string => path.resolve(mainDir, '..', '..');

export const builtPath = (root: string, part: keyof typeof BUILD_OUTPUT): string =>
  path.join(root, BUILD_OUTPUT[part]);

/**
 * The writer script the elevated launch runs. Inside an asar archive it may be
 * unpacked beside it (app.asar.unpacked/...), which a launcher can always read.
 */
export function writerScript(root: string, exists: (p: string) => boolean = existsSync): string {
  const inAsar = builtPath(root, 'writer');
  if (path.basename(root) !== 'app.asar') return inAsar;
  const unpacked = builtPath(`${root}.unpacked`, 'writer');
  return exists(unpacked) ? unpacked : inAsar;
}
