import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../electron/config/config-error.ts';
import { looksLegacy, parseLegacyConfig, toLegacyConfigFile } from '../../electron/config/legacy.ts';
import { loadConfig, parseConfigText } from '../../electron/config/load.ts';
import { makeSshPublicKey } from './ssh-key-fixture.ts';

let key = '';
beforeAll(() => {
  key = makeSshPublicKey();
});

// The layout of today's config-file: commented shell assignments, then YAML.
const todays = (sshKey: string) => `# Configuration File
# -------------------- Proxy Configuration --------------------
# Example: http_proxy="http://proxy-org.com:port-number"

http_proxy="http://proxy.example.com:911"
https_proxy="http://proxy.example.com:912"
no_proxy="localhost,127.0.0.1,.example.com"
HTTP_PROXY="http://proxy.example.com:911"
HTTPS_PROXY="http://proxy.example.com:912"
NO_PROXY="localhost,127.0.0.1,.example.com"

ssh_key="${sshKey}"

user_name="edge"

host_type="container"

# static_ip="192.168.1.24"
static_ip="192.168.1.24"
subnet_mask="24"
default_gate_way="192.168.1.1"
dns_name_server="8.8.8.8,4.4.4.4"

lvm_size_ingb="20"

#   huge_page_config="12 * 1024"
huge_page_config="12 * 1024"

USER_CUSTOM_NTP_SERVERS="pool1.ntp.org,pool2.ntp.org"

# === Enable or disable systemd services ===
services:
    enable: [docker, ssh]
    disable: []

write_files:
  - path: /etc/cloud/test.sh
    permissions: '0755'
    content: |
      #!/bin/sh
      echo "This is Example"
runcmd: 
  - systemctl restart myservice
  - bash /etc/cloud/test.sh
`;

function errorOf(text: string): ConfigError {
  try {
    parseConfigText(text, 'config-file');
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe("today's config-file", () => {
  it('is detected and parsed into the model', () => {
    expect(looksLegacy(todays(key))).toBe(true);
    const { config, format } = parseConfigText(todays(key), 'config-file');
    expect(format).toBe('legacy');
    expect(config).toMatchObject({
      http_proxy: 'http://proxy.example.com:911',
      NO_PROXY: 'localhost,127.0.0.1,.example.com',
      ssh_key: key,
      user_name: 'edge',
      host_type: 'container',
      static_ip: '192.168.1.24',
      subnet_mask: 24,
      default_gate_way: '192.168.1.1',
      dns_name_server: ['8.8.8.8', '4.4.4.4'],
      lvm_size_ingb: 20,
      huge_page_config: 12 * 1024,
      USER_CUSTOM_NTP_SERVERS: ['pool1.ntp.org', 'pool2.ntp.org'],
      services: { enable: ['docker', 'ssh'], disable: [] },
      write_files: [
        { path: '/etc/cloud/test.sh', permissions: '0755', content: '#!/bin/sh\necho "This is Example"\n' },
      ],
      runcmd: ['systemctl restart myservice', 'bash /etc/cloud/test.sh'],
    });
  });

  it('an empty template (all "") gives defaults, and empty runcmd is allowed', () => {
    const t =
      'http_proxy=""\nssh_key=""\nuser_name="u"\nhost_type=""\nlvm_size_ingb="0"\nhuge_page_config=""\nservices:\n    enable: []\n    disable: []\nwrite_files: []\nruncmd: \n';
    const { config } = parseConfigText(t, 'config-file');
    expect(config).toMatchObject({ user_name: 'u', host_type: 'kubernetes', lvm_size_ingb: 0, runcmd: [] });
    expect(config.huge_page_config).toBeUndefined();
  });

  it('round-trips through toLegacyConfigFile', async () => {
    const { config } = parseConfigText(todays(key), 'config-file');
    const withExtras = {
      ...config,
      hostname: 'node-7',
      after_install: 'poweroff' as const,
      target_disk: { serial: 'NVME123' },
      runcmd: [...config.runcmd, 'echo "$HOME" `date` \\ $(id) \'q\'', 'printf "a\\nb"\nsecond line'],
      write_files: [
        ...config.write_files,
        { path: '/etc/a', permissions: '0600', content: 'x="$(reboot)"\n\ttab `y`\n' },
      ],
      sticks: [{ name: 's1', hostname: 'node-8', static_ip: '192.168.1.25', subnet_mask: 24 }],
    };
    const text = toLegacyConfigFile(withExtras);
    const dir = mkdtempSync(join(tmpdir(), 'emt-legacy-'));
    writeFileSync(join(dir, 'config-file'), text);
    const back = await loadConfig(join(dir, 'config-file'));
    expect(back.format).toBe('legacy');
    expect(back.config).toEqual(withExtras);
  });

  it('reads quotes the way a shell delimits them, without expanding anything', () => {
    const { raw } = parseLegacyConfig(
      [
        "user_name='ed\"ge'",
        'http_proxy=http://p.example.com:80 # comment',
        'hostname="a\\"b\\\\c\\$d\\`e\\x" # trailing',
        'static_ip="$(touch /tmp/emt-canary)"\'`id`\'',
        'export NO_PROXY=a\\ b',
        'ssh_key="line1',
        'line2"',
        'no_proxy=',
      ].join('\n'),
      'config-file',
    );
    expect(raw).toEqual({
      user_name: 'ed"ge',
      http_proxy: 'http://p.example.com:80',
      hostname: 'a"b\\c$d`e\\x',
      static_ip: '$(touch /tmp/emt-canary)`id`',
      NO_PROXY: 'a b',
      ssh_key: 'line1\nline2',
    });
    // $(...) stays text, and then fails validation: it is never run.
    const e = errorOf('user_name="$(touch /tmp/emt-canary)"\n');
    expect(e.message).toBe(
      "config-file line 1: user_name: '$(touch /tmp/emt-canary)' is not a valid Linux user name (start with a-z or _, then a-z 0-9 _ -, at most 32)",
    );
  });

  it('keeps a legacy passwd apart for hashing, never in the model', () => {
    const r = parseConfigText('user_name="edge"\npasswd="s3cret!"\n', 'config-file');
    expect(r.legacyPassword).toBe('s3cret!');
    expect(JSON.stringify(r.config)).not.toContain('s3cret');
  });

  it('names the line of every mistake', () => {
    expect(errorOf('user_name="edge"\n\nuser_nmae="x"\n').message).toBe(
      'config-file line 3: user_nmae: unknown setting (misspelt?)',
    );
    expect(errorOf('user_name="edge"\nuser_name="x"\n').message).toBe(
      'config-file line 2: user_name: set twice (first on line 1)',
    );
    expect(errorOf('user_name="edge"\nssh_key="abc\n').message).toBe(
      'config-file line 2: ssh_key: the double quote opened here is never closed',
    );
    expect(errorOf('user_name="edge"\nlvm_size_ingb="20GB"\n').message).toBe(
      "config-file line 2: lvm_size_ingb: '20GB' is not a whole number of GB (0 for no LVM volume)",
    );
    expect(errorOf('user_name="edge"\nhost_type="k8s"\nservices:\n  enable: [a]\n').message).toBe(
      "config-file line 2: host_type: 'k8s' is unknown: use kubernetes or container",
    );
    expect(errorOf('user_name="edge"\n\nservices:\n  enable: [a\nruncmd: []\n').message).toMatch(
      /^config-file line 5: YAML syntax error/,
    );
    expect(errorOf('user_name="edge"\nwrite_files:\n  - path: /a\n    permissions: rw\n').message).toBe(
      "config-file line 4: write_files[0].permissions: 'rw' is not an octal mode like '0644'",
    );
    expect(errorOf('user_name="edge"\necho hi\n').message).toBe(
      'config-file line 2: expected key="value" or a YAML section, found \'echo hi\'',
    );
    expect(errorOf('user_name=edge; touch /tmp/x\n').message).toMatch(
      /line 1: user_name: unexpected text after the value/,
    );
  });

  it('loadConfig names a missing file', async () => {
    await expect(loadConfig('/nonexistent/site.yaml')).rejects.toThrow(
      '/nonexistent/site.yaml: cannot read the config: no such file',
    );
  });
});
