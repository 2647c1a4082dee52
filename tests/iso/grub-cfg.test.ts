import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../electron/config/config-error.ts';
import { DEFAULT_PARAMS, grubCfg, kernelCmdline, REQUIRED_PARAMS } from '../../electron/iso/grub-cfg.ts';

// grub-script-check (grub-common) parses a config with GRUB's own script parser.
function grubParses(cfg: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'grubcfg-'));
  try {
    const file = join(dir, 'grub.cfg');
    writeFileSync(file, cfg);
    execFileSync('grub-script-check', [file], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const linuxLine = (cfg: string): string[] => {
  const line = cfg.split('\n').find((l) => l.trim().startsWith('linux '));
  if (!line) throw new Error('no linux line');
  return line.trim().split(/\s+/).slice(2);
};

describe('kernelCmdline', () => {
  it('always carries the required and default parameters', () => {
    const params = kernelCmdline().split(' ');
    expect(params).toEqual([...REQUIRED_PARAMS, ...DEFAULT_PARAMS]);
  });

  it('appends user extras after the required ones, dropping duplicates', () => {
    const line = kernelCmdline('  quiet  noresume loglevel=7\tmodules-load=nvme ');
    expect(line).toBe(
      `${[...REQUIRED_PARAMS, ...DEFAULT_PARAMS].join(' ')} quiet loglevel=7 modules-load=nvme`,
    );
  });

  it('lets the user replace defaults and widen rootflags, not drop mode=0755', () => {
    const line = kernelCmdline('console=ttyS1,9600 usbcore.delay_ms=5000 rootflags=size=1G,mode=0755').split(
      ' ',
    );
    expect(line).toContain('rootflags=size=1G,mode=0755');
    expect(line).not.toContain('rootflags=mode=0755');
    expect(line).not.toContain('console=tty0');
    expect(line).not.toContain('usbcore.delay_ms=2000');
    expect(line).toContain('usbcore.autosuspend=-1');
    expect(line.filter((p) => p.startsWith('console='))).toEqual(['console=ttyS1,9600']);
    for (const p of REQUIRED_PARAMS.filter((r) => !r.startsWith('rootflags='))) expect(line).toContain(p);
  });

  it.each([
    ['root=/dev/sda1', /contradicts the required root=tmpfs/],
    ['rootflags=size=1G', /drops the required mode=0755/],
    ['resume=/dev/sda2', /contradicts the required noresume/],
    ['init=/bin/sh', /bypass/],
    ['quiet\nset root=(hd1)', /control character 0x0a/],
    ['a="b c"', /must not contain '"'/],
    ["a='b'", /must not contain '''/],
    ['x=$root', /must not contain '\$'/],
    ['quiet; reboot', /must not contain ';'/],
    ['a}', /must not contain '}'/],
    ['a\\b', /must not contain '\\'/],
  ])('refuses %j with a ConfigError', (extra, msg) => {
    let err: unknown;
    try {
      kernelCmdline(extra);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^--cmdline: /);
    expect((err as ConfigError).message).toMatch(msg);
  });

  it('refuses a command line the kernel would truncate', () => {
    expect(() => kernelCmdline(Array.from({ length: 300 }, (_, i) => `p${i}=xxxx`).join(' '))).toThrow(
      /at most 2047/,
    );
  });
});

describe('grubCfg', () => {
  it('has one menu entry booting the kernel with the full cmdline, timeout 0', () => {
    const cfg = grubCfg({ label: 'EMT_INST_20261126', cmdlineExtra: 'quiet' });
    expect(cfg.match(/^menuentry /gm)).toHaveLength(1);
    expect(cfg).toContain("menuentry 'Install Edge Microvisor Toolkit'");
    expect(cfg).toMatch(/^set timeout=0$/m);
    expect(cfg).toMatch(/^\s+initrd \/boot\/initrd\.img$/m);
    expect(cfg).toMatch(/^\s+linux \/boot\/vmlinuz /m);
    expect(linuxLine(cfg).join(' ')).toBe(kernelCmdline('quiet'));
    expect(cfg).toMatch(/^terminal_output console serial$/m);
    expect(cfg).toMatch(/^serial --unit=0 --speed=115200/m);
    grubParses(cfg);
  });

  it('honours timeout, serial and bios options and still parses', () => {
    const cfg = grubCfg({ label: 'X', timeoutSec: 5, serial: false, bios: true });
    expect(cfg).toMatch(/^set timeout=5$/m);
    expect(cfg).not.toContain('timeout_style=hidden');
    expect(cfg).not.toContain('serial');
    expect(cfg).toContain('gfxpayload=text');
    grubParses(cfg);
  });

  it('is deterministic', () => {
    const o = { label: 'EMT_A', cmdlineExtra: 'a=1 b' };
    expect(grubCfg(o)).toBe(grubCfg({ ...o }));
  });

  it.each([
    [{ label: 'bad label' }, /ISO label 'bad label'/],
    [{ label: 'A'.repeat(33) }, /ISO label/],
    [{ label: 'OK', timeoutSec: -1 }, /menu timeout -1/],
    [{ label: 'OK', timeoutSec: 1.5 }, /menu timeout 1.5/],
    [{ label: 'OK', cmdlineExtra: 'root=LABEL=x' }, /contradicts/],
  ])('refuses %j', (o, msg) => {
    expect(() => grubCfg(o)).toThrow(msg);
  });

  it('grub-script-check catches a broken config (the check can fail)', () => {
    expect(() => grubParses('menuentry x {\n linux /a\n')).toThrow();
  });
});
