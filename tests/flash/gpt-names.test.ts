// The GPT names (ESP, EMTCONFIG) survive a per-stick flash: `emt-usb build` from the
// real sample bootkit, then `emt-usb flash --config --hostname` to a regular file.
// sgdisk reads the names and verifies both tables on the written file, and the
// stick's own EMTCONFIG (read by mtools at sgdisk's offset) carries its hostname.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../electron/cli/command.ts';
import { main } from '../../electron/cli/index.ts';
import { findConfigPartition, parseGptEntries, parseGptHeader } from '../../electron/flash/gpt.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { seededBytes } from '../iso/build-fixture.ts';
import { isRoot } from './fixture-image.ts';

function capture(): CliIo & { outs: string[]; errs: string[] } {
  const outs: string[] = [];
  const errs: string[] = [];
  return { outs, errs, out: (l) => outs.push(l), err: (l) => errs.push(l), isTty: false };
}

const sgdisk = (...args: string[]): string =>
  execFileSync('sgdisk', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Partition rows of `sgdisk -p`: number, first sector, type code, name. */
function table(file: string): [number, number, string, string][] {
  return [...sgdisk('-p', file).matchAll(/^\s+(\d+)\s+(\d+)\s+\d+\s+\S+ \S+\s+(\w{4})\s+(.*)$/gm)].map(
    (m) => [Number(m[1]), Number(m[2]), m[3]!, m[4]!.trim()],
  );
}

// The sample bootkit is made by debootstrap, as root (tests/fixtures/sample-bootkit.ts).
describe.skipIf(!isRoot)('GPT names through build and a per-stick flash', () => {
  let dir: string;
  let iso: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emt-gpt-names-flash-'));
    const kit = (await sampleBootkit('gzip')).tarball;
    const os = join(dir, 'os.img');
    await writeFile(os, seededBytes('gpt-names-os', 2 << 20));
    iso = join(dir, 'inst.iso');
    const b = capture();
    const code = await main(
      ['build', '--bootkit', kit, '--os-image', os, '--source-date-epoch', '1764115200', '--out', iso],
      b,
    );
    expect(code, b.errs.join('\n')).toBe(0);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the built ISO: ESP and EMTCONFIG by name, table verified; our reader finds EMTCONFIG by name', async () => {
    expect(table(iso).map(([n, , code, name]) => [n, code, name])).toEqual([
      [1, '0700', 'ISO9660'],
      [2, 'EF00', 'ESP'],
      [3, '0700', 'EMTCONFIG'],
    ]);
    expect(sgdisk('-v', iso)).toMatch(/No problems found/);
    const bytes = await readFile(iso);
    const h = parseGptHeader(bytes.subarray(512, 1024))!;
    const parts = parseGptEntries(bytes.subarray(h.entriesOffset), h.count, h.entrySize);
    // A boot sector that is no FAT: found by the GPT name alone.
    expect(findConfigPartition(parts, () => Buffer.alloc(512))).toMatchObject({
      number: 3,
      name: 'EMTCONFIG',
    });
  });

  it('a per-stick config flash to a file keeps the names, and both tables verify', async () => {
    const site = join(dir, 'site.yaml');
    await writeFile(site, 'user_name: edge\nhost_type: container\nhostname: site-default\n');
    const stick = join(dir, 'stick.img');
    const io = capture();
    const code = await main(
      ['flash', iso, '--device', stick, '--config', site, '--hostname', 'edge-07', '--yes', '--log-dir', dir],
      io,
    );
    expect(code, io.errs.join('\n')).toBe(0);
    const rows = table(stick);
    expect(rows.map(([n, , code, name]) => [n, code, name])).toEqual([
      [1, '0700', 'ISO9660'],
      [2, 'EF00', 'ESP'],
      [3, '0700', 'EMTCONFIG'],
    ]);
    expect(sgdisk('-v', stick)).toMatch(/No problems found/);
    // The stick carries its own EMTCONFIG, not the ISO's: the flash did rewrite partition 3.
    const p3 = rows[2]![1] * 512;
    const env = execFileSync('mtype', ['-i', `${stick}@@${p3}`, '::emt/config.env'], { encoding: 'utf8' });
    expect(env).toMatch(/^hostname=edge-07$/m);
    expect((await readFile(stick)).equals(await readFile(iso))).toBe(false);
  });
});
