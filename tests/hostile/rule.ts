// The rule for bad input, as the hostile suites check it: exit 2, one stderr line
// `emt-usb <command>: ...` matching the problem and naming the file.
import { expect } from 'vitest';
import { main } from '../../electron/cli/index.ts';

export async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false });
  return { code, out, err };
}

export async function refused(argv: string[], msg: RegExp, file?: string) {
  const r = await cli(argv);
  expect(r.code, r.err.join('\n')).toBe(2);
  expect(r.err, r.err.join('\n')).toHaveLength(1);
  expect(r.err[0]).toMatch(new RegExp(`^emt-usb ${argv[0]}: `));
  expect(r.err[0]).toMatch(msg);
  if (file) expect(r.err[0]).toContain(file);
  return r;
}
