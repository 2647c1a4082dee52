// The flash, verify and drives commands through the CLI dispatcher: exit codes,
// one-line errors, JSON output.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../electron/cli/command.ts';
import { main } from '../../electron/cli/index.ts';
import { jsonResult, parseJsonLines } from '../cli/json-lines.ts';
import { isRoot, testIso, withLoop } from './fixture-image.ts';

function capture(): CliIo & { outs: string[]; errs: string[] } {
  const outs: string[] = [];
  const errs: string[] = [];
  return { outs, errs, out: (l) => outs.push(l), err: (l) => errs.push(l), isTty: false };
}

describe('emt-usb flash / verify / drives', () => {
  let dir: string;
  let iso: { path: string; size: number };
  beforeAll(() => {
    iso = testIso();
    dir = mkdtempSync(join(tmpdir(), 'emt-flash-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('usage errors are one line, exit 2', async () => {
    for (const argv of [
      ['flash'],
      ['flash', iso.path],
      ['flash', iso.path, '--device', 'x', '--bogus'],
      ['verify', iso.path],
    ]) {
      const io = capture();
      expect(await main(argv, io)).toBe(2);
      expect(io.errs).toHaveLength(1);
      expect(io.errs[0]).toMatch(/^emt-usb (flash|verify): /);
    }
  });

  it('a missing image names the file', async () => {
    const io = capture();
    expect(await main(['flash', join(dir, 'nope.iso'), '--device', join(dir, 'o.img'), '--yes'], io)).toBe(2);
    expect(io.errs[0]).toContain('nope.iso: cannot open the image');
  });

  it('writes an image file with --json, and verify finds it identical; without --yes it is refused', async () => {
    const out = join(dir, 'stick.img');
    const refused = capture();
    expect(await main(['flash', iso.path, '--device', out], refused)).toBe(2);
    // REFUSED lines go to stderr (errors never on stdout).
    expect(refused.errs[0]).toContain('confirm with --yes');

    const io = capture();
    expect(await main(['flash', iso.path, '--device', out, '--yes', '--json', '--log-dir', dir], io)).toBe(0);
    const lines = parseJsonLines(io.outs);
    expect(lines.result!.results[0]).toMatchObject({ status: 'ok', verified: true, imageSize: iso.size });
    expect(lines.progress.some((p) => p.stage === 'verify')).toBe(true);
    expect(readFileSync(out).equals(readFileSync(iso.path))).toBe(true);

    const v = capture();
    expect(await main(['verify', iso.path, '--device', out], v)).toBe(0);
    expect(v.outs[0]).toContain('byte for byte');
    const bytes = readFileSync(out);
    bytes[1000] = bytes[1000]! ^ 1;
    writeFileSync(out, bytes);
    const bad = capture();
    expect(await main(['verify', iso.path, '--device', out, '--json'], bad)).toBe(2);
    expect(jsonResult(bad.outs)).toMatchObject({ status: 'mismatch', firstDifference: 1000 });
  });

  it.skipIf(!isRoot)('refuses a too-small loop device with exit 2 and leaves it untouched', async () => {
    const back = join(dir, 'small.img');
    writeFileSync(back, Buffer.alloc(8 << 20, 7));
    await withLoop(back, async (dev) => {
      const io = capture();
      expect(await main(['flash', iso.path, '--device', dev, '--yes', '--log-dir', dir], io)).toBe(2);
      expect(io.errs[0]).toMatch(/^REFUSED .*is too small: 8388608 bytes/);
    });
    expect(readFileSync(back).every((x) => x === 7)).toBe(true);
  });

  it('drives --json lists drives with verdicts', async () => {
    const io = capture();
    expect(await main(['drives', '--all', '--json'], io)).toBe(0);
    const rows = jsonResult<{ drives: unknown }>(io.outs).drives as {
      drive: { device: string };
      verdict: { allowed: boolean };
    }[];
    expect(Array.isArray(rows)).toBe(true);
    // the machine's root drive is always listed with --all, and always refused
    const sys = rows.find((r) => (r.verdict as { reason?: { code: string } }).reason?.code === 'SYSTEM');
    expect(sys?.verdict.allowed).toBe(false);
  });
});
