// Every command with --json speaks the one protocol (README "--json"): stdout is
// JSON lines, progress events then exactly one result line, or one error line
// {type:"error", error:{area, code, message, file}} with exit 2. Real inputs:
// the sample bootkit, a built ISO flashed to an image file and verified.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../electron/cli/index.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { seededBytes } from '../iso/build-fixture.ts';
import { parseJsonLines } from './json-lines.ts';

let dir: string;
let kit: string;
let os: string;
let site: string;
const scripts = join(import.meta.dirname, '../../installer-scripts');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-json-'));
  kit = (await sampleBootkit('gzip')).tarball;
  os = join(dir, 'os.img');
  await writeFile(os, seededBytes('json-os', 2 * 2 ** 20));
  site = join(dir, 'site.yaml');
  await writeFile(site, 'user_name: edge\nhost_type: container\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...argv, '--json'], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTty: false,
  });
  return { code, out, err, lines: parseJsonLines(out) };
}

describe('--json: one protocol for every command', () => {
  it('succeeds: progress lines, then one result line, exit 0', async () => {
    const iso = join(dir, 'k.iso');
    const stick = join(dir, 'stick.img');
    const runs: [string, string[], (r: Record<string, unknown>) => void][] = [
      ['inspect', ['inspect', kit], (r) => expect(r.rootfs).toMatchObject({ present: true })],
      [
        'inject',
        ['inject', '--bootkit', kit, '--installer-scripts', scripts, '--out', join(dir, 'initrd.img')],
        (r) => expect(r.out).toBe(join(dir, 'initrd.img')),
      ],
      [
        'build',
        ['build', '--bootkit', kit, '--os-image', os, '--source-date-epoch', '1764115200', '--out', iso],
        (r) => expect(r.iso).toBe(iso),
      ],
      ['drives', ['drives', '--all'], (r) => expect(Array.isArray(r.drives)).toBe(true)],
      [
        'flash',
        ['flash', iso, '--config', site, '--device', stick, '--hostname', 'n1', '--yes', '--log-dir', dir],
        (r) => expect((r.results as { status: string }[])[0]!.status).toBe('ok'),
      ],
      ['verify', ['verify', iso, '--device', iso], (r) => expect(r.status).toBe('ok')],
      ['config check', ['config', site], (r) => expect(r.valid).toBe(true)],
      ['config convert', ['config', site, '--to', 'json'], (r) => expect(r.text).toContain('"user_name"')],
    ];
    const withProgress = new Set<string>();
    for (const [name, argv, check] of runs) {
      const r = await run(argv);
      expect(r.code, `${name}: ${r.err.join('\n')}`).toBe(0);
      expect(r.lines.result, name).not.toBeNull();
      check(r.lines.result!);
      if (r.lines.progress.length > 0) withProgress.add(name);
    }
    // The long jobs report progress on the same stream.
    for (const name of ['inspect', 'inject', 'build', 'flash', 'verify'])
      expect(withProgress).toContain(name);
  });

  it('fails: one error line with code and file, the same message on stderr, exit 2', async () => {
    const missing = join(dir, 'nope.tar.gz');
    const runs: string[][] = [
      ['inspect', missing],
      ['inject', '--bootkit', missing, '--installer-scripts', scripts, '--out', join(dir, 'x.img')],
      ['build', '--bootkit', missing, '--os-image', os, '--out', join(dir, 'x.iso')],
      ['drives', '--image', missing],
      ['flash', missing, '--device', join(dir, 'y.img'), '--yes'],
      ['verify', missing, '--device', join(dir, 'y.img')],
      ['config', missing],
      ['config', missing, '--to', 'yaml'],
    ];
    for (const argv of runs) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.lines.error, argv.join(' ')).toMatchObject({ file: missing });
      expect(r.err).toEqual([`emt-usb ${argv[0]}: ${r.lines.error!.message}`]);
    }
  });

  it('a usage error is in the protocol too', async () => {
    const r = await run(['inspect', kit, '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.lines.error).toMatchObject({ area: 'usage', code: 'USAGE' });
  });
});
