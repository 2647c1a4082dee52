// The output's all-or-nothing rules, on real file systems: a read-only and a tiny
// tmpfs mounted for the test (we run as root), and a plain temp dir.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutput, outError, prepareOutput } from '../../electron/iso/output.ts';

let dir: string;
const mounts: string[] = [];
async function tmpfs(name: string, opts: string): Promise<string> {
  const m = join(dir, name);
  await mkdir(m);
  execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', m]);
  mounts.push(m);
  return m;
}
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-output-'));
});
afterAll(async () => {
  for (const m of mounts) execFileSync('umount', [m]);
  await rm(dir, { recursive: true, force: true });
});

describe('prepareOutput', () => {
  it('writes the ISO and its .sha256 by rename, leaving no temp', async () => {
    const out = join(dir, 'ok', 'x.iso');
    await mkdir(join(dir, 'ok'));
    const p = await prepareOutput(out, 1);
    await writeFile(p.tmp, 'iso bytes');
    expect(p.tmp.startsWith(join(dir, 'ok', '.x.iso.'))).toBe(true);
    const placed = await p.commit('ab'.repeat(32));
    expect(placed).toEqual({ iso: out, sha256File: `${out}.sha256` });
    expect(await readFile(out, 'utf8')).toBe('iso bytes');
    expect(await readFile(`${out}.sha256`, 'utf8')).toBe(`${'ab'.repeat(32)}  x.iso\n`);
    expect((await readdir(join(dir, 'ok'))).sort()).toEqual(['x.iso', 'x.iso.sha256']);
  });

  it('discard removes the temp and keeps an older ISO untouched', async () => {
    await mkdir(join(dir, 'old'));
    const out = join(dir, 'old', 'x.iso');
    await writeFile(out, 'previous');
    const p = await prepareOutput(out, 1);
    await writeFile(p.tmp, 'half');
    await p.discard();
    await p.discard();
    expect(await readdir(join(dir, 'old'))).toEqual(['x.iso']);
    expect(await readFile(out, 'utf8')).toBe('previous');
  });

  it('names a missing folder and an output that is a folder', async () => {
    await expect(prepareOutput(join(dir, 'nope', 'x.iso'), 1)).rejects.toThrow(
      `output folder ${join(dir, 'nope')} does not exist`,
    );
    await expect(checkOutput(dir)).rejects.toThrow(`output ${dir} is a folder`);
  });

  it('refuses a read-only file system, before and at preparation', async () => {
    const ro = await tmpfs('ro', 'ro,size=1m');
    await expect(checkOutput(join(ro, 'x.iso'))).rejects.toThrow(
      `output folder ${ro} is on a read-only file system`,
    );
    await expect(prepareOutput(join(ro, 'x.iso'), 1)).rejects.toMatchObject({ code: 'OUT_UNWRITABLE' });
    expect(await readdir(ro)).toEqual([]);
  });

  it('refuses when the folder has less free space than the ISO needs', async () => {
    const small = await tmpfs('small', 'size=1m');
    await expect(prepareOutput(join(small, 'x.iso'), 5 * 2 ** 20)).rejects.toThrow(
      /not enough space for .*x\.iso: 5 MiB needed, 1 MiB free in/,
    );
    expect(await readdir(small)).toEqual([]);
  });

  it("maps ENOSPC and xorriso's free-space failure to NO_SPACE", () => {
    const enospc = Object.assign(new Error('write failed'), { code: 'ENOSPC' });
    expect(outError(enospc, '/o/x.iso')).toMatchObject({
      code: 'NO_SPACE',
      message: 'no space left for /o/x.iso in /o',
    });
    expect(
      outError(
        new Error('xorriso (native) failed: Image size 2625s exceeds free space on media 1024s'),
        '/o/x.iso',
      ).code,
    ).toBe('NO_SPACE');
  });
});
