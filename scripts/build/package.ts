// npm run package[:dir]: the app bundles, then electron-builder.
//   --dir   an unpacked Linux app (--linux dir), offline: Electron comes from
//           $EMT_ELECTRON_DIST (an unzipped electron-v<version>-linux-x64.zip),
//           native addons are not rebuilt.
//   else    the release targets of this OS (AppImage + deb, nsis, dmg).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { build, Platform } from 'electron-builder';
import { builderConfig } from './builder-config.ts';
import { buildElectron } from './electron-bundles.ts';

const root = resolve(new URL('../../', import.meta.url).pathname);

export async function packageApp(opts: {
  dir: boolean;
  electronDist?: string;
  output?: string;
  skipBuild?: boolean;
}): Promise<void> {
  if (!opts.skipBuild) {
    execFileSync(
      process.execPath,
      [
        resolve(root, 'node_modules/vite/bin/vite.js'),
        'build',
        '--config',
        'renderer/vite.config.ts',
        '--logLevel',
        'warn',
      ],
      {
        cwd: root,
        stdio: 'inherit',
      },
    );
    await buildElectron();
  }
  for (const d of ['resources/xorriso/dist', 'resources/boot/dist'])
    if (!existsSync(resolve(root, d)))
      throw new Error(
        `${d} is missing: run bash resources/xorriso/build.sh and bash resources/boot/build.sh`,
      );
  if (opts.dir && !opts.electronDist)
    throw new Error(
      'package:dir needs EMT_ELECTRON_DIST: a folder holding an unzipped Electron for Linux x64 (see README)',
    );
  await build({
    projectDir: root,
    ...(opts.dir ? { targets: Platform.LINUX.createTarget('dir') } : {}),
    config: builderConfig({
      ...(opts.electronDist ? { electronDist: resolve(opts.electronDist) } : {}),
      ...(opts.output ? { output: opts.output } : {}),
      rebuildNative: !opts.dir,
    }),
    publish: 'never',
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv.includes('--dir');
  packageApp({
    dir,
    ...(process.env.EMT_ELECTRON_DIST ? { electronDist: process.env.EMT_ELECTRON_DIST } : {}),
  }).catch((e: Error) => {
    process.stderr.write(`package: ${e.message}\n`);
    process.exit(2);
  });
}
