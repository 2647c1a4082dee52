// electron-builder's configuration, as data: Linux AppImage + deb (needs polkit,
// installs our polkit action and the writer launcher it names), Windows nsis per
// user (the GUI is never elevated; the writer asks UAC itself), macOS dmg. The
// built xorriso wasm and GRUB images ride along as extraResources, outside the
// asar, so worker threads and xorriso read them as plain files.
import type { Configuration } from 'electron-builder';
import { RESOURCE_DIRS } from '../../electron/main/paths.ts';

export const PRODUCT_NAME = 'EMT USB Installer Builder';
export const EXECUTABLE = 'emt-usb-installer';

/** Where extraResources land under `process.resourcesPath` in the packaged app. */
export { RESOURCE_DIRS };

/** The app's files inside app.asar (the bundles `npm run build` makes, plus what jobs read). */
export const APP_FILES = [
  'dist/main/**',
  'dist/preload/**',
  'dist/renderer/**',
  'dist/writer/**',
  'installer-scripts/**',
  '!installer-scripts/tests/**',
  '!**/*.map',
  'package.json',
  // Only the CLI from a checkout runs TypeScript through tsx; the app runs bundles.
  '!node_modules/tsx/**',
  '!node_modules/esbuild/**',
  '!node_modules/@esbuild/**',
];

// electron-builder's default deb dependencies, plus polkit: pkexec asks for the
// administrator password before the writer touches a drive.
const DEB_DEPENDS = [
  'libgtk-3-0',
  'libnotify4',
  'libnss3',
  'libxss1',
  'libxtst6',
  'xdg-utils',
  'libatspi2.0-0',
  'libuuid1',
  'libsecret-1-0',
  'pkexec | policykit-1',
  'polkitd | policykit-1',
];

export function builderConfig(
  opts: { electronDist?: string; output?: string; rebuildNative?: boolean } = {},
): Configuration {
  return {
    appId: 'org.emt.usb-installer',
    productName: PRODUCT_NAME,
    executableName: EXECUTABLE,
    copyright: 'Apache-2.0',
    directories: { output: opts.output ?? 'out/package', buildResources: 'packaging' },
    files: APP_FILES,
    asar: true,
    extraResources: [
      { from: 'resources/xorriso/dist', to: RESOURCE_DIRS.xorrisoWasm, filter: ['**/*'] },
      { from: 'resources/boot/dist', to: RESOURCE_DIRS.bootLoaders, filter: ['**/*'] },
      { from: 'resources/polkit', to: RESOURCE_DIRS.polkit, filter: ['*.policy'] },
      { from: 'packaging/linux', to: RESOURCE_DIRS.linuxWriterLauncher, filter: ['emt-usb-writer'] },
    ],
    // Native addons (drivelist, zstd-napi, lzma-native) are rebuilt for Electron's
    // ABI by a release build; the offline `package:dir` keeps the installed ones.
    npmRebuild: opts.rebuildNative ?? true,
    ...(opts.electronDist ? { electronDist: opts.electronDist } : {}),
    linux: {
      target: ['AppImage', 'deb'],
      category: 'Utility',
      synopsis: 'Build and flash Edge Microvisor Toolkit USB installers',
    },
    deb: {
      depends: DEB_DEPENDS,
      afterInstall: 'packaging/linux/after-install.sh',
      afterRemove: 'packaging/linux/after-remove.sh',
    },
    win: {
      target: [{ target: 'nsis', arch: ['x64'] }],
      // The GUI runs as the user; only the writer process is elevated, by UAC, per write.
      requestedExecutionLevel: 'asInvoker',
    },
    nsis: {
      oneClick: false,
      perMachine: false,
      allowElevation: false,
      allowToChangeInstallationDirectory: true,
    },
    mac: { target: ['dmg'], category: 'public.app-category.utilities' },
  };
}
