import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../electron/cli/command.ts';
import { main } from '../../electron/cli/index.ts';
import { parseConfigText } from '../../electron/config/load.ts';
import { makeSshPublicKey } from './ssh-key-fixture.ts';

let dir = '';
let key = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'emt-config-cli-'));
  key = makeSshPublicKey();
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false };
  const code = await main(['config', ...argv], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('emt-usb config', () => {
  it('summarises a valid config', async () => {
    const f = join(dir, 'site.yaml');
    writeFileSync(f, `user_name: edge\nssh_key: ${key}\nstatic_ip: 10.0.0.5/24\nlvm_size_ingb: 20\n`);
    const r = await cli(f);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      `${f}: valid (yaml): user edge, host type kubernetes, static IP 10.0.0.5/24, 1 SSH key(s), LVM 20 GB, 0 write_files, 0 runcmd, then reboot`,
    );
  });

  it('prints every problem on one line with exit code 2', async () => {
    const f = join(dir, 'config-file');
    writeFileSync(f, 'user_name="edge"\nhost_type="k8s"\nlvm_size_ingb="x"\n');
    const r = await cli(f);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `emt-usb config: ${f} line 2: host_type: 'k8s' is unknown: use kubernetes or container; ${f} line 3: lvm_size_ingb: 'x' is not a whole number of GB (0 for no LVM volume)`,
    );
  });

  it('converts between formats, and each reads back the same', async () => {
    const f = join(dir, 'legacy');
    writeFileSync(
      f,
      `ssh_key="${key}"\nuser_name="edge"\npasswd="plain!"\nhuge_page_config="12 * 1024"\nservices:\n  enable: [docker]\nruncmd:\n  - echo "$(id)"\n`,
    );
    const base = parseConfigText(readFileSync(f, 'utf8'), f).config;
    for (const to of ['yaml', 'json', 'legacy']) {
      const out = join(dir, `out.${to}`);
      const r = await cli(f, '--to', to, '--out', out);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain('plaintext passwd= line; it is not copied');
      const text = readFileSync(out, 'utf8');
      expect(text).not.toContain('plain!');
      const back = parseConfigText(text, out);
      expect(back.format).toBe(to);
      expect(back.config).toEqual(base);
    }
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const printed = await cli(f, '--to', 'json');
    expect(JSON.parse(printed.out).huge_page_config).toBe(12288);
  });

  it('refuses bad usage', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli(join(dir, 'x'), '--to', 'toml')).err).toContain(
      '--to must be one of legacy, yaml, json',
    );
    expect((await cli(join(dir, 'nope.yaml'))).err).toContain('cannot read the config: no such file');
  });
});
