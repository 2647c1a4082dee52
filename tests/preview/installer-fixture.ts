// Real installer ISOs for the preview tests: the sample bootkit, a site config
// with a secret of each kind, a pre-hashed password (a plaintext would get a new
// salt per build) and a snapshot of installer-scripts/ the caller may change.
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { sha512Crypt } from '../../electron/config/sha512-crypt.ts';
import { type BuildJobResult, buildInstaller } from '../../electron/jobs/build.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { seededBytes } from '../iso/build-fixture.ts';

export const EPOCH = 1_764_115_200;
export const PASSWORD_HASH = sha512Crypt('correct horse battery staple', 'previewSalt01234');
export const SSH_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm1Cm3nDb7LqBp1Zo4JrY4vXbmY0kzXq0zD9Xk3H0aN preview@test';
export const PROXY = 'http://proxyuser:pr0xyPa55@proxy.example:3128';

export interface InstallerFixture {
  dir: string;
  iso: string;
  build: BuildJobResult;
  osImage: string;
  scripts: string;
}

export interface FixtureOptions {
  hostname?: string;
  /** Changes the snapshot of installer-scripts/ before the build. */
  editScripts?: (dir: string) => Promise<void>;
  osImageBytes?: number;
  bios?: boolean;
}

export async function buildFixture(
  dir: string,
  name: string,
  o: FixtureOptions = {},
): Promise<InstallerFixture> {
  const kit = await sampleBootkit('gzip');
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  const osImage = join(d, 'emt-os.raw.gz');
  // A real gzip stream: the build checks the OS image's content (named .raw.gz, it must be gzip).
  await writeFile(
    osImage,
    gzipSync(seededBytes('preview-os', o.osImageBytes ?? 8 * 2 ** 20 + 5), { level: 1 }),
  );
  const config = join(d, 'site.json');
  await writeFile(
    config,
    JSON.stringify({
      user_name: 'edge',
      host_type: 'container',
      hostname: o.hostname ?? 'edge-01',
      http_proxy: PROXY,
      ssh_key: SSH_KEY,
      write_files: [{ path: '/etc/motd', content: 'top secret motd\n', permissions: '0644' }],
    }),
  );
  const pw = join(d, 'password.txt');
  await writeFile(pw, `${PASSWORD_HASH}\n`);
  const scripts = join(d, 'installer-scripts');
  await cp(fileURLToPath(new URL('../../installer-scripts/', import.meta.url)), scripts, { recursive: true });
  await o.editScripts?.(scripts);
  const iso = join(d, 'installer.iso');
  const build = await buildInstaller({
    bootkit: kit.tarball,
    osImage,
    config,
    passwordFile: pw,
    installerScripts: scripts,
    sourceDateEpoch: EPOCH,
    label: 'EMT_PREVIEW',
    engine: 'native',
    bios: o.bios ?? true,
    out: iso,
  });
  return { dir: d, iso, build, osImage, scripts };
}
