// `--linux dir` packaging, offline, from a stand-in Electron dist (a folder with a
// dummy `electron` executable, electron-builder's `electronDist`): the asar holds
// the built main, preload, renderer and writer at the paths main reads
// (electron/main/paths.ts), and the extraResources sit where the engine finds
// them (boot-loaders.ts, xorriso-engines.ts) when pointed at process.resourcesPath.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootLoaders } from '../../electron/iso/boot-loaders.ts';
import { findWasm } from '../../electron/iso/xorriso-engines.ts';
import { BUILD_OUTPUT, packagedResourceEnv } from '../../electron/main/paths.ts';
import { EXECUTABLE, RESOURCE_DIRS } from '../../scripts/build/builder-config.ts';
import { packageApp } from '../../scripts/build/package.ts';

const asar = createRequire(import.meta.url)('@electron/asar') as {
  listPackage(archive: string): string[];
  extractFile(archive: string, file: string): Buffer;
};

describe('package:dir with a stand-in Electron', () => {
  let dir: string;
  let app: string;
  let resources: string;
  let files: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emt-package-'));
    const dist = join(dir, 'electron-dist');
    await mkdir(dist);
    await writeFile(join(dist, 'electron'), '#!/bin/sh\necho stand-in electron "$@"\n');
    await chmod(join(dist, 'electron'), 0o755);
    await writeFile(join(dist, 'version'), '45.5.0');
    await packageApp({ dir: true, electronDist: dist, output: join(dir, 'out') });
    app = join(dir, 'out', 'linux-unpacked');
    resources = join(app, 'resources');
    files = asar.listPackage(join(resources, 'app.asar'));
  }, 300_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renames the Electron executable to ours and keeps it executable', async () => {
    const exe = join(app, EXECUTABLE);
    expect((await stat(exe)).mode & 0o111).not.toBe(0);
    expect(execFileSync(exe, ['x'], { encoding: 'utf8' })).toBe('stand-in electron x\n');
  });

  it('the asar holds main, preload, renderer and writer where paths.ts says, and package.json main agrees', () => {
    for (const part of Object.values(BUILD_OUTPUT)) expect(files, part).toContain(`/${part}`);
    const pkg = JSON.parse(asar.extractFile(join(resources, 'app.asar'), 'package.json').toString('utf8'));
    expect(pkg.main).toBe(BUILD_OUTPUT.main);
    const preload = asar.extractFile(join(resources, 'app.asar'), BUILD_OUTPUT.preload).toString('utf8');
    expect(preload).toContain('require("electron")'); // CommonJS, as a sandboxed preload must be
    expect(preload).not.toMatch(/^\s*import\s/m);
    const html = asar.extractFile(join(resources, 'app.asar'), BUILD_OUTPUT.renderer).toString('utf8');
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(files).toContain(`/dist/renderer/${script}`);
    // Jobs read installer-scripts from the app; no source maps, no sources, no tests shipped.
    expect(files).toContain('/installer-scripts/install.sh');
    expect(
      files.filter((f) => f.endsWith('.map') || f.startsWith('/electron/') || f.startsWith('/tests/')),
    ).toEqual([]);
  });

  it('the UI bridge never ships', () => {
    expect(files.filter((f) => f.includes('ui-bridge') || f.includes('__bridge'))).toEqual([]);
    const js = files.filter((f) => f.startsWith('/dist/') && f.endsWith('.js'));
    for (const f of js)
      expect(asar.extractFile(join(resources, 'app.asar'), f.slice(1)).toString('utf8')).not.toContain(
        '__bridge',
      );
  });

  it('extraResources: GRUB images and the xorriso wasm where the engine finds them', async () => {
    // The env packaged main sets (packagedResourceEnv) must land on these folders.
    const env = packagedResourceEnv(resources);
    const boot = join(resources, RESOURCE_DIRS.bootLoaders);
    expect(env.EMT_BOOT_DIR).toBe(boot);
    const loaders = bootLoaders(env.EMT_BOOT_DIR);
    expect((await readFile(loaders.efi)).subarray(0, 2).toString('latin1')).toBe('MZ'); // a PE/COFF EFI binary
    expect((await stat(loaders.biosHybridMbr)).size).toBe(512);
    const wasmDir = join(resources, RESOURCE_DIRS.xorrisoWasm);
    expect(findWasm({ EMT_XORRISO_WASM_DIR: env.EMT_XORRISO_WASM_DIR })).toBe(join(wasmDir, 'xorriso.js'));
    const wasm = await readFile(join(wasmDir, 'xorriso.wasm'));
    expect(wasm.subarray(0, 4).toString('latin1')).toBe('\0asm');
  });

  it('the deb side: our polkit policy and the writer launcher it names', async () => {
    const policy = await readFile(
      join(resources, RESOURCE_DIRS.polkit, 'org.emt.usb-installer.policy'),
      'utf8',
    );
    const execPath = /exec\.path">([^<]+)</.exec(policy)?.[1];
    expect(execPath).toBe('/usr/lib/emt-usb-installer/emt-usb-writer');
    const launcher = await readFile(
      join(resources, RESOURCE_DIRS.linuxWriterLauncher, 'emt-usb-writer'),
      'utf8',
    );
    expect(launcher).toContain('ELECTRON_RUN_AS_NODE=1');
    expect(launcher).toContain(`/${EXECUTABLE}"`);
    expect(launcher).toContain(`resources/app.asar/${BUILD_OUTPUT.writer}`);
    const postinst = await readFile(
      new URL('../../packaging/linux/after-install.sh', import.meta.url),
      'utf8',
    );
    expect(postinst).toContain(execPath!);
  });
});
