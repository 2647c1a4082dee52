import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configArtifacts } from '../../electron/config/artifacts.ts';
import { decodeEnvValue, encodeEnvValue, parseEnvFile } from '../../electron/config/env-file.ts';
import type { SiteConfig } from '../../electron/config/schema.ts';
import { hashPassword } from '../../electron/config/sha512-crypt.ts';
import { validateConfig } from '../../electron/config/validate.ts';
import { makeSshPublicKey } from './ssh-key-fixture.ts';

const SCRIPTS = resolve(import.meta.dirname, '../../installer-scripts');
let dir = '';
let key = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'emt-artifacts-'));
  key = makeSshPublicKey();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOSTILE = [
  '$(touch CANARY)',
  '`touch CANARY`',
  'a"b\'c',
  'line1\nline2\n',
  'x; touch CANARY',
  '  spaced  ',
  ['100% \\ $HOME $', '{X} %41'].join(''),
  'grüße € \t tab',
  '=starts=with=equals',
  '\r\n',
];

function writeArtifacts(root: string, files: ReturnType<typeof configArtifacts>): void {
  for (const f of files) {
    const p = join(root, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.data, { mode: f.mode });
  }
}

/** Runs the node-side bash library on a file: prints key NUL value NUL for every key. */
function bashDecode(file: string): Map<string, string> {
  const script = `set -euo pipefail
. "${SCRIPTS}/lib/log.sh"; . "${SCRIPTS}/lib/config.sh"
cfg_load "$1"
for k in "\${!CFG[@]}"; do printf '%s\\0%s\\0' "$k" "\${CFG[$k]}"; done`;
  const out = execFileSync('bash', ['-c', script, 'bash', file], {
    env: { PATH: process.env.PATH, EMT_LOG: join(dir, 'log'), EMT_RUN_DIR: dir },
  });
  const parts = out.toString('utf8').split('\0');
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) m.set(parts[i]!, parts[i + 1]!);
  return m;
}

function baseConfig(over: Partial<SiteConfig> = {}): SiteConfig {
  const { config } = validateConfig({ user_name: 'edge' });
  return { ...config!, ...over };
}

describe('config.env encoding', () => {
  it('leaves no unsafe byte raw', () => {
    for (const v of HOSTILE) {
      const e = encodeEnvValue(v);
      expect(e).toMatch(/^[A-Za-z0-9._~:/,@+=%-]*$/);
      expect(decodeEnvValue(e)).toBe(v);
    }
    expect(encodeEnvValue('a b$')).toBe('a%20b%24');
    expect(() => decodeEnvValue('a b')).toThrow();
  });

  it('TS encode -> bash decode (the real lib/config.sh) gives the same text, and runs nothing', () => {
    const canary = join(dir, 'canary');
    const values = HOSTILE.map((v) => v.replaceAll('CANARY', canary));
    const text = values.map((v, i) => `k${i}=${encodeEnvValue(v)}`).join('\n');
    const file = join(dir, 'hostile.env');
    writeFileSync(file, `# test\n${text}\n`);
    const back = bashDecode(file);
    for (const [i, v] of values.entries()) expect(back.get(`k${i}`), JSON.stringify(v)).toBe(v);
    expect(() => readFileSync(canary)).toThrow();
  });
});

describe('configArtifacts', () => {
  it('writes the documented files, and only the hash of the password', () => {
    const hash = hashPassword('Sup3r$ecret "pw"');
    const config = baseConfig({
      ssh_key: key,
      hostname: 'node-1',
      static_ip: '10.0.0.5',
      subnet_mask: 24,
      dns_name_server: ['8.8.8.8', '1.1.1.1'],
      USER_CUSTOM_NTP_SERVERS: ['pool.ntp.org'],
      services: { enable: ['docker'], disable: ['apache2', 'ssh@x.service'] },
      write_files: [{ path: '/etc/a.conf', permissions: '0600', content: 'x="$(reboot)"\n' }],
      runcmd: ['echo `id` > /tmp/x'],
      lvm_size_ingb: 20,
    });
    const files = configArtifacts(config, { passwordHash: hash });
    const byPath = new Map(files.map((f) => [f.path, f]));
    expect([...byPath.keys()].sort()).toEqual([
      'emt/config.env',
      'emt/password.hash',
      'emt/runcmd/001.sh',
      'emt/services.disable',
      'emt/services.enable',
      'emt/ssh_authorized_keys',
      'emt/write_files/001.content',
      'emt/write_files/001.meta',
    ]);
    const env = parseEnvFile(byPath.get('emt/config.env')!.data.toString());
    expect(Object.fromEntries(env)).toMatchObject({
      format_version: '1',
      user_name: 'edge',
      hostname: 'node-1',
      static_ip: '10.0.0.5',
      subnet_mask: '24',
      dns_name_server: '8.8.8.8,1.1.1.1',
      ntp_servers: 'pool.ntp.org',
      lvm_size_ingb: '20',
      password_hash: '1',
      write_files_count: '1',
      runcmd_count: '1',
      after_install: 'reboot',
    });
    expect(byPath.get('emt/password.hash')!.data.toString()).toBe(`${hash}\n`);
    expect(byPath.get('emt/password.hash')!.mode).toBe(0o600);
    expect(byPath.get('emt/ssh_authorized_keys')!.data.toString()).toBe(`${key}\n`);
    expect(byPath.get('emt/services.disable')!.data.toString()).toBe('apache2\nssh@x.service\n');
    for (const f of files) expect(f.data.toString('latin1')).not.toContain('Sup3r');
  });

  it('applies a per-stick override and checks it', () => {
    const config = baseConfig({ hostname: 'base', sticks: [{ name: 's2', hostname: 'node-2' }] });
    const files = configArtifacts(config, {
      perStick: { name: 's2', hostname: 'node-2', static_ip: '10.1.1.2', subnet_mask: 16 },
    });
    const env = parseEnvFile(files[0]!.data.toString());
    expect(env.get('hostname')).toBe('node-2');
    expect(env.get('static_ip')).toBe('10.1.1.2');
    expect(env.get('stick_name')).toBe('s2');
    expect(() => configArtifacts(config, { perStick: { name: 'bad', hostname: 'bad host' } })).toThrow(
      /per-stick override bad: hostname: 'bad host' is not a valid host name/,
    );
    expect(() => configArtifacts(config, { passwordHash: 'plain' })).toThrow(/not a SHA-512 crypt hash/);
  });

  it('write_files and runcmd reach cloud-init byte for byte through the node script', () => {
    const canary = join(dir, 'canary2');
    const content = `#!/bin/sh\necho "$(touch ${canary})" \`touch ${canary}\` 'q' \\ %41\n\tgrüße\n`;
    const config = baseConfig({
      write_files: [
        { path: '/etc/cloud/test.sh', permissions: '0755', content },
        { path: '/etc/empty', permissions: '0644', content: '' },
      ],
      runcmd: [`touch ${canary}; echo "$HOME"`, 'printf "%s\\n" a\nsecond line'],
      services: { enable: ['docker', 'k3s.service'], disable: ['apache2'] },
    });
    const stick = join(dir, 'stick');
    const target = join(dir, 'target');
    writeArtifacts(stick, configArtifacts(config));
    mkdirSync(target, { recursive: true });
    const script = `set -Eeuo pipefail
. "${SCRIPTS}/lib/log.sh"; . "${SCRIPTS}/lib/config.sh"; . "${SCRIPTS}/steps/50-configure-os.sh"
CONFIG_MNT="$1"; TARGET_MNT="$2"
cfg_load "$CONFIG_MNT/emt/config.env"
configure_cloud_init`;
    execFileSync('bash', ['-c', script, 'bash', stick, target], {
      env: { PATH: process.env.PATH, EMT_LOG: join(dir, 'log'), EMT_RUN_DIR: dir },
    });
    const cfgText = readFileSync(join(target, 'etc/cloud/cloud.cfg.d/99-emt-installer.cfg'), 'utf8');
    expect(cfgText.startsWith('#cloud-config\n')).toBe(true);
    const cfg = parse(cfgText) as {
      write_files: { path: string; permissions: string; encoding?: string; content: string }[];
      runcmd: string[][];
    };
    const files = cfg.write_files.map((f) => ({
      path: f.path,
      permissions: f.permissions,
      content: f.encoding === 'b64' ? Buffer.from(f.content, 'base64').toString('utf8') : f.content,
    }));
    expect(files).toEqual([
      { path: '/etc/cloud/test.sh', permissions: '0755', content },
      { path: '/etc/empty', permissions: '0644', content: '' },
      {
        path: '/var/lib/emt-installer/runcmd/001.sh',
        permissions: '0700',
        content: `touch ${canary}; echo "$HOME"\n`,
      },
      {
        path: '/var/lib/emt-installer/runcmd/002.sh',
        permissions: '0700',
        content: 'printf "%s\\n" a\nsecond line\n',
      },
    ]);
    expect(cfg.runcmd).toEqual([
      ['sh', '/var/lib/emt-installer/runcmd/001.sh'],
      ['sh', '/var/lib/emt-installer/runcmd/002.sh'],
      ['systemctl', 'enable', 'docker'],
      ['systemctl', 'enable', 'k3s.service'],
      ['systemctl', 'disable', 'apache2'],
    ]);
    expect(() => readFileSync(canary)).toThrow();
  });
});
