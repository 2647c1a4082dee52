import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../electron/cli/command.ts';
import { commands, main } from '../../electron/cli/index.ts';

const capture = (): CliIo & { lines: string[]; errs: string[] } => {
  const lines: string[] = [];
  const errs: string[] = [];
  return { lines, errs, out: (l) => lines.push(l), err: (l) => errs.push(l), isTty: false };
};

describe('cli dispatcher', () => {
  it('lazy registry entries match the command modules they load', async () => {
    for (const entry of commands) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(command.summary).toBe(entry.summary);
    }
  });

  it('unknown command and no command are usage errors (exit 2)', async () => {
    const io = capture();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(io.errs.join('\n')).toContain("unknown command 'frobnicate'");
    expect(await main([], capture())).toBe(2);
  });

  it('an unknown option is one line and exit 2', async () => {
    const io = capture();
    expect(await main(['inspect', '--frobnicate', 'x'], io)).toBe(2);
    expect(io.errs).toHaveLength(1);
    expect(io.errs[0]).toMatch(/^emt-usb inspect: unknown option --frobnicate/);
  });
});
