// The form's raw values go through the CLI's validator unchanged, and its issues map back to fields.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../electron/config/validate.ts';
import { configToForm, emptyForm, formToRaw, issuesByField } from '../../../renderer/src/lib/config-form.ts';

describe('config form', () => {
  it('a filled form validates as the schema expects and round-trips', () => {
    const f = emptyForm();
    f.user_name = 'edge';
    f.host_type = 'container';
    f.hostname = 'node-01';
    f.static_ip = '10.0.0.11';
    f.subnet_mask = '24';
    f.dns_name_server = '10.0.0.1, 10.0.0.2';
    f.services_enable = 'ssh.service';
    f.runcmd = 'echo one\n\necho two';
    f.write_files = [{ path: '/etc/motd', permissions: '0644', content: 'hi\n' }];
    f.huge_page_config = '12 * 1024';
    const { config, issues } = validateConfig(formToRaw(f));
    expect(issues).toEqual([]);
    expect(config).toMatchObject({
      user_name: 'edge',
      hostname: 'node-01',
      subnet_mask: 24,
      dns_name_server: ['10.0.0.1', '10.0.0.2'],
      services: { enable: ['ssh.service'], disable: [] },
      runcmd: ['echo one', 'echo two'],
      huge_page_config: 12288,
    });
    const back = configToForm(config as unknown as Record<string, unknown>);
    expect(back.dns_name_server).toBe('10.0.0.1, 10.0.0.2');
    expect(back.runcmd).toBe('echo one\necho two');
    expect(back.write_files).toEqual(f.write_files);
  });
  it('puts each validator issue at the field that shows it', () => {
    const f = emptyForm();
    f.user_name = 'root';
    f.services_disable = 'bad name!';
    f.write_files = [{ path: 'relative', permissions: '9999', content: '' }];
    const { issues } = validateConfig(formToRaw(f));
    const by = issuesByField(issues);
    expect(Object.keys(by).sort()).toEqual([
      'services_disable',
      'user_name',
      'write_files.0.path',
      'write_files.0.permissions',
    ]);
  });
});
