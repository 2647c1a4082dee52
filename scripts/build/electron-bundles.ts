// Bundles the Electron side with esbuild: main (ESM), preload (CommonJS: a
// sandboxed preload cannot be an ES module) and the elevated writer (ESM, run as
// `ELECTRON_RUN_AS_NODE=1 <app> writer.js`). npm packages stay external: the
// packaged app carries them in node_modules, and native addons cannot be bundled.
import { type BuildOptions, build } from 'esbuild';

const root = new URL('../../', import.meta.url).pathname;

const common: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node22',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  legalComments: 'none',
};

/** Native addons: never bundled (their .node files are found from node_modules). */
export const NATIVE = ['drivelist', 'zstd-napi', 'lzma-native'];

export const bundles: BuildOptions[] = [
  {
    ...common,
    entryPoints: ['electron/main/index.ts'],
    outfile: 'dist/main/index.js',
    format: 'esm',
    external: ['electron'],
  },
  // The preload runs sandboxed: only `electron` may be required, everything else is inlined.
  {
    ...common,
    entryPoints: ['electron/preload/index.ts'],
    outfile: 'dist/preload/index.cjs',
    format: 'cjs',
    packages: 'bundle',
    external: ['electron'],
  },
  // The writer runs as `ELECTRON_RUN_AS_NODE=1 <app> app.asar/dist/writer/writer.js` under
  // pkexec/UAC/osascript: every JS dependency inlined, only native addons left to node_modules.
  {
    ...common,
    entryPoints: ['electron/flash/writer-process.ts'],
    outfile: 'dist/writer/writer.js',
    format: 'esm',
    packages: 'bundle',
    external: [...NATIVE, 'electron'],
    banner: {
      js: "import { createRequire as __emtRequire } from 'node:module'; const require = __emtRequire(import.meta.url);",
    },
  },
];

export async function buildElectron(): Promise<void> {
  await Promise.all(bundles.map((b) => build(b)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildElectron().catch((e: Error) => {
    process.stderr.write(`build: ${e.message}\n`);
    process.exit(1);
  });
}
