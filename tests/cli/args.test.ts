// The strict argv parser: a forgotten value never swallows the next option.
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../electron/cli/args.ts';
import { main } from '../../electron/cli/index.ts';

describe('parseArgs', () => {
  const spec = { out: 'string', json: 'bool', cmdline: 'string' } as const;

  it('--out --json is a missing value, not a file named --json', () => {
    expect(() => parseArgs(['--out', '--json'], spec)).toThrow(
      /option --out needs a value \(got the option --json/,
    );
    expect(() => parseArgs(['--out', '--'], spec)).toThrow(/needs a value/);
    // Said explicitly, a value may start with --; an unknown --word is a value.
    expect(parseArgs(['--out=--json'], spec).flags.out).toBe('--json');
    expect(parseArgs(['--cmdline', '--not-an-option'], spec).flags.cmdline).toBe('--not-an-option');
  });

  it('through the CLI: exit 2, one line, nothing written', async () => {
    const errs: string[] = [];
    const outs: string[] = [];
    const io = { out: (l: string) => outs.push(l), err: (l: string) => errs.push(l), isTty: false };
    expect(await main(['config', 'site.yaml', '--to', 'yaml', '--out', '--json'], io)).toBe(2);
    expect(errs).toEqual([
      'emt-usb config: option --out needs a value (got the option --json; write --out=VALUE for a value starting with --)',
    ]);
    const f = { out: (l: string) => outs.push(l), err: (l: string) => errs.push(l), isTty: false };
    expect(await main(['flash', 'x.iso', '--device', 'd', '--log-dir', '--json'], f)).toBe(2);
    expect(errs.at(-1)).toMatch(/option --log-dir needs a value/);
  });
});
