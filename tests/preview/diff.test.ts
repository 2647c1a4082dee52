// preview A --against B: two real builds that differ in one config key and one
// installer script report exactly those two changes; secrets show as "changed"
// without values; an image against itself reports nothing.
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../electron/cli/index.ts';
import { compareMaps, diffPreviews } from '../../electron/preview/diff.ts';
import { previewImage } from '../../electron/preview/preview.ts';
import { buildFixture, type InstallerFixture } from './installer-fixture.ts';

let dir: string;
let a: InstallerFixture;
let b: InstallerFixture;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-preview-diff-'));
  a = await buildFixture(dir, 'a', { bios: false });
  b = await buildFixture(dir, 'b', {
    bios: false,
    hostname: 'edge-02',
    editScripts: (s) => appendFile(join(s, 'steps/30-choose-disk.sh'), '# site tweak\n'),
  });
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    args,
    { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false },
    { signals: false },
  );
  return { code, out, err };
}

describe('preview --against', () => {
  it('reports exactly the changed config key and the changed script, nothing more', async () => {
    expect(a.build.sha256).not.toBe(b.build.sha256);
    const r = await cli(['preview', a.iso, '--against', b.iso, '--json']);
    expect(r.code).toBe(0);
    const result = r.out.map((l) => JSON.parse(l)).find((l) => l.type === 'result');
    expect(result.changes).toEqual([
      {
        kind: 'installer-file',
        path: '/opt/emt-installer/steps/30-choose-disk.sh',
        change: 'changed',
        before: expect.stringMatching(/^[0-9a-f]{64}$/),
        after: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
      { kind: 'config', key: 'hostname', change: 'changed', before: 'edge-01', after: 'edge-02' },
    ]);
    const human = await cli(['preview', a.iso, '--against', b.iso]);
    expect(human.out[0]).toMatch(/2 change\(s\)$/);
    expect(human.out[2]).toMatch(/^config\s+changed\s+hostname: edge-01 -> edge-02$/);
  });

  it('reports nothing for an image against itself', async () => {
    const r = await cli(['preview', a.iso, '--against', a.iso]);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([`${a.iso} and ${a.iso}: no changes`]);
  });

  it('refuses a missing second image with one line', async () => {
    const r = await cli(['preview', a.iso, '--against', join(dir, 'nope.iso')]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`emt-usb preview: ${join(dir, 'nope.iso')}: no such file or folder`]);
  });
});

describe('compareMaps', () => {
  it('gives added, removed and changed, and a secret without its values', () => {
    const m = (o: Record<string, string>, secret = false) =>
      new Map(Object.entries(o).map(([k, v]) => [k, { value: v, secret }]));
    expect(
      compareMaps('config', 'key', m({ a: '1', b: '2', c: '3' }), m({ a: '1', b: '4', d: '5' })),
    ).toEqual([
      { kind: 'config', key: 'b', change: 'changed', before: '2', after: '4' },
      { kind: 'config', key: 'c', change: 'removed', before: '3' },
      { kind: 'config', key: 'd', change: 'added', after: '5' },
    ]);
    expect(
      compareMaps('config', 'key', m({ password_hash: 'h1' }, true), m({ password_hash: 'h2' }, true)),
    ).toEqual([{ kind: 'config', key: 'password_hash', change: 'changed' }]);
  });
});

describe('diffPreviews', () => {
  it("lists a new cmdline once (grub.cfg's new hash is explained by it), a new payload by hash, a new secret as changed", async () => {
    const pa = await previewImage(a.iso);
    const pb = structuredClone(pa);
    pb.secrets = new Map(pa.secrets);
    const rb = pb.report;
    rb.grub[0]!.entries[0]!.cmdline += ' quiet';
    const files = (rb.manifest as { files: { path: string; sha256: string }[] }).files;
    files.find((f) => f.path === '/boot/grub/grub.cfg')!.sha256 = 'ab'.repeat(32);
    files.find((f) => f.path === '/images/emt-os.raw.gz')!.sha256 = 'cd'.repeat(32);
    pb.secrets.set('password_hash', 'another digest');
    const changes = diffPreviews(pa, pb);
    expect(changes).toEqual([
      {
        kind: 'payload',
        path: '/images/emt-os.raw.gz',
        change: 'changed',
        before: expect.any(String),
        after: 'cd'.repeat(32),
      },
      { kind: 'config', key: 'password_hash', change: 'changed' },
      {
        kind: 'boot',
        key: 'boot.cmdline[/boot/grub/grub.cfg: Install Edge Microvisor Toolkit]',
        change: 'changed',
        before: pa.report.grub[0]!.entries[0]!.cmdline,
        after: `${pa.report.grub[0]!.entries[0]!.cmdline} quiet`,
      },
    ]);
  });
});
