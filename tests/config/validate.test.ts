import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../electron/config/config-error.ts';
import { parseConfigText } from '../../electron/config/load.ts';
import {
  isIPv4,
  isValidHostname,
  isValidUserName,
  parseNetmask,
  sshKeyProblem,
  validateConfig,
} from '../../electron/config/validate.ts';
import { makeSshPublicKey } from './ssh-key-fixture.ts';

let key = '';
beforeAll(() => {
  key = makeSshPublicKey();
});

const messages = (raw: unknown): string[] =>
  validateConfig(raw).issues.map((i) => `${i.path.join('.')}: ${i.message}`);

function errorOf(text: string, file = 'site.yaml'): ConfigError {
  try {
    parseConfigText(text, file);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('field checks', () => {
  it('IPv4 and netmasks', () => {
    expect(isIPv4('192.168.1.24')).toBe(true);
    for (const bad of ['192.168.1.300', '192.168.1', '01.2.3.4', '1.2.3.4.5', 'a.b.c.d', ''])
      expect(isIPv4(bad), bad).toBe(false);
    expect(parseNetmask('24')).toBe(24);
    expect(parseNetmask('/16')).toBe(16);
    expect(parseNetmask('255.255.255.0')).toBe(24);
    expect(parseNetmask('255.255.255.255')).toBe(32);
    expect(parseNetmask('0.0.0.0')).toBe(0);
    expect(parseNetmask('255.0.255.0')).toBeUndefined();
    expect(parseNetmask('33')).toBeUndefined();
  });

  it('user names and host names', () => {
    expect(isValidUserName('edge_user-1')).toBe(true);
    for (const bad of ['Edge', '1user', 'user name', 'a'.repeat(33), 'us;er', ''])
      expect(isValidUserName(bad), bad).toBe(false);
    expect(isValidHostname('node-01.plant.example')).toBe(true);
    for (const bad of ['-node', 'node-', 'no_de', 'a'.repeat(65), 'x..y', ''])
      expect(isValidHostname(bad), bad).toBe(false);
  });

  it('SSH public keys: type and blob checked', () => {
    expect(sshKeyProblem(key)).toBeUndefined();
    expect(sshKeyProblem(makeSshPublicKey('rsa'))).toBeUndefined();
    expect(sshKeyProblem(makeSshPublicKey('ecdsa'))).toBeUndefined();
    expect(sshKeyProblem('ssh-ed25519')).toMatch(/not an SSH public key/);
    expect(sshKeyProblem(key.replace('ssh-ed25519', 'ssh-foo'))).toMatch(/unknown key type 'ssh-foo'/);
    expect(sshKeyProblem(key.replace('ssh-ed25519', 'ssh-rsa'))).toMatch(/does not match its type 'ssh-rsa'/);
    const [t, blob] = key.split(' ');
    expect(sshKeyProblem(`${t} ${blob!.slice(0, 30)}`)).toMatch(/not valid base64|does not match/);
    expect(sshKeyProblem(`${t} ${blob!.slice(0, -4)}`)).toMatch(/does not match/);
    expect(sshKeyProblem('-----BEGIN OPENSSH PRIVATE KEY----- abc')).toMatch(/PRIVATE/);
  });
});

describe('validateConfig', () => {
  it('fills defaults for a minimal config', () => {
    const { config } = validateConfig({ user_name: 'edge' });
    expect(config).toMatchObject({
      user_name: 'edge',
      host_type: 'kubernetes',
      lvm_size_ingb: 0,
      after_install: 'reboot',
      dns_name_server: [],
      services: { enable: [], disable: [] },
      write_files: [],
      runcmd: [],
      sticks: [],
    });
  });

  it('normalises today’s value forms', () => {
    const { config, issues } = validateConfig({
      user_name: 'edge',
      static_ip: '10.1.2.3/24',
      default_gate_way: '10.1.2.1',
      dns_name_server: '8.8.8.8,4.4.4.4',
      USER_CUSTOM_NTP_SERVERS: 'pool1.ntp.org, pool2.ntp.org',
      huge_page_config: '12 * 1024',
      lvm_size_ingb: '20',
      write_files: [{ path: '/etc/x.conf', permissions: 644, content: 'a' }],
    });
    expect(issues).toEqual([]);
    expect(config).toMatchObject({
      static_ip: '10.1.2.3',
      subnet_mask: 24,
      dns_name_server: ['8.8.8.8', '4.4.4.4'],
      USER_CUSTOM_NTP_SERVERS: ['pool1.ntp.org', 'pool2.ntp.org'],
      huge_page_config: 12288,
      lvm_size_ingb: 20,
      write_files: [{ path: '/etc/x.conf', permissions: '0644', content: 'a' }],
    });
    expect(
      validateConfig({ user_name: 'e', static_ip: '10.0.0.2', subnet_mask: '255.255.0.0' }).config
        ?.subnet_mask,
    ).toBe(16);
  });

  it('says what is wrong, in words a technician understands', () => {
    const m = messages({
      user_name: 'Bad User',
      host_type: 'vm',
      static_ip: '10.0.0.300',
      subnet_mask: '255.0.255.0',
      default_gate_way: 'gateway',
      lvm_size_ingb: 'twenty',
      huge_page_config: '$(reboot)',
      ssh_key: 'ssh-ed25519 notbase64!!',
      hostname: '-bad-',
      http_proxy: 'proxy.example.com:911',
      services: { enable: ['docker; rm -rf /'] },
      write_files: [{ path: '../etc/passwd', permissions: '999', content: '' }],
      after_install: 'halt',
      user_nmae: 'x',
    }).join('\n');
    expect(m).toContain("user_name: 'Bad User' is not a valid Linux user name");
    expect(m).toContain("host_type: 'vm' is unknown: use kubernetes or container");
    expect(m).toContain("static_ip: '10.0.0.300' is not an IPv4 address");
    expect(m).toContain("subnet_mask: '255.0.255.0' is not a prefix length");
    expect(m).toContain("default_gate_way: 'gateway' is not an IPv4 address");
    expect(m).toContain("lvm_size_ingb: 'twenty' is not a whole number of GB");
    expect(m).toContain("huge_page_config: '$(reboot)' is not a number of huge pages");
    expect(m).toContain('ssh_key: key data for ssh-ed25519 is not valid base64');
    expect(m).toContain("hostname: '-bad-' is not a valid host name");
    expect(m).toContain("http_proxy: 'proxy.example.com:911' is not a proxy URL");
    expect(m).toContain("services.enable: 'docker; rm -rf /' is not a systemd unit name");
    expect(m).toContain("write_files.0.path: '../etc/passwd' must be an absolute path");
    expect(m).toContain("write_files.0.permissions: '999' is not an octal mode");
    expect(m).toContain("after_install: 'halt' is unknown: use reboot or poweroff");
    expect(m).toContain('user_nmae: unknown setting (misspelt?)');
    expect(messages({})).toContain('user_name: is required (the Linux user to create)');
    expect(messages({ user_name: 'root' })[0]).toMatch(/must not be 'root'/);
    expect(messages({ user_name: 'e', static_ip: '10.0.0.2' })[0]).toMatch(
      /subnet_mask: is needed with static_ip/,
    );
  });

  it('checks per-stick overrides and refuses fields that cannot vary per stick', () => {
    const m = messages({
      user_name: 'e',
      sticks: [
        { name: 'a', hostname: 'ok-1' },
        { static_ip: '1.2.3', user_name: 'x' },
      ],
    });
    expect(m).toContain("sticks.1.static_ip: '1.2.3' is not an IPv4 address like 192.168.1.24");
    expect(m.some((s) => s.startsWith('sticks.1.user_name: cannot be set per stick'))).toBe(true);
    const ok = validateConfig({
      user_name: 'e',
      sticks: [{ name: 'a', hostname: 'n1', target_disk: 'S3EVNX0' }],
    });
    expect(ok.config?.sticks).toEqual([{ name: 'a', hostname: 'n1', target_disk: { serial: 'S3EVNX0' } }]);
  });
});

describe('errors name the file, the line and the field', () => {
  it('YAML syntax errors carry the line number', () => {
    const e = errorOf('user_name: edge\nservices:\n  enable: [docker\nruncmd: []\n');
    expect(e.message).toMatch(/^site\.yaml line \d+: YAML syntax error/);
    expect(e.code).toBe('YAML_SYNTAX');
  });

  it('validation errors point at the line of the field', () => {
    const e = errorOf(
      `user_name: edge\nhost_type: container\nstatic_ip: 10.0.0.1\nsubnet_mask: 24\nwrite_files:\n  - path: /etc/a\n    permissions: '0644'\n  - path: relative/b\n`,
    );
    expect(e.message).toBe(
      "site.yaml line 8: write_files[1].path: 'relative/b' must be an absolute path of letters, digits and . _ - @ + / (no '..', no spaces)",
    );
    expect(e.file).toBe('site.yaml');
    expect(errorOf('{"user_name": "edge",\n "lvm_size_ingb": -3}', 'site.json').message).toBe(
      "site.json line 2: lvm_size_ingb: '-3' is not a whole number of GB (0 for no LVM volume)",
    );
  });

  it('JSON and YAML give the same config', () => {
    const y = parseConfigText(`user_name: edge\nssh_key: ${key}\nruncmd: [echo hi]\n`, 'a.yaml');
    const j = parseConfigText(
      JSON.stringify({ user_name: 'edge', ssh_key: key, runcmd: ['echo hi'] }),
      'a.json',
    );
    expect(y.format).toBe('yaml');
    expect(j.format).toBe('json');
    expect(y.config).toEqual(j.config);
  });
});
