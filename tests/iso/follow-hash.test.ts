// Hashing the ISO while xorriso writes it: the follower on files we grow by hand
// (and shrink or patch, which must make it hash the file again), then whole ISOs
// from both xorriso engines, with and without BIOS, each checked by sha256sum.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootLoaders } from '../../electron/iso/boot-loaders.ts';
import { type MasterIsoInput, masterInstallerIso } from '../../electron/iso/build.ts';
import { followHash, type StreamPatch } from '../../electron/iso/follow-hash.ts';
import { sha256File } from '../../electron/iso/manifest.ts';
import type { XorrisoEngine } from '../../electron/iso/xorriso.ts';
import { type IsoInputs, makeIsoInputs, masterInput, seededBytes } from './build-fixture.ts';

const MiB = 2 ** 20;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-followhash-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256sum = (p: string): string => execFileSync('sha256sum', [p], { encoding: 'utf8' }).slice(0, 64);

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('followHash', () => {
  it('hashes a file as it grows, each piece before the next is written', async () => {
    const f = join(dir, 'grow.bin');
    await writeFile(f, '');
    let seen = 0;
    const follower = followHash(f, { onHashed: (d) => (seen = d) });
    const fh = await open(f, 'r+');
    let pos = 0;
    // Odd sizes: pieces end mid-page and mid-chunk.
    for (let k = 0; k < 6; k++) {
      const b = seededBytes(`grow${k}`, 3 * MiB + k * 4097);
      await fh.write(b, 0, b.length, pos);
      pos += b.length;
      await until(() => seen === pos, `the follower to reach ${pos}`);
    }
    await fh.close();
    expect(await follower.finish()).toEqual({ sha256: sha256sum(f), size: pos, whileWriting: true });
  });

  it('hashes the file again when it shrank while followed', async () => {
    const f = join(dir, 'shrink.bin');
    await writeFile(f, '');
    let seen = 0;
    const follower = followHash(f, { onHashed: (d) => (seen = d) });
    await writeFile(f, seededBytes('before', 12 * MiB));
    await until(() => seen === 12 * MiB, 'the follower to read 12 MiB');
    const fh = await open(f, 'r+');
    await fh.truncate(MiB);
    const b = seededBytes('after', 5 * MiB);
    await fh.write(b, 0, b.length, MiB);
    await fh.close();
    const r = await follower.finish();
    expect(r).toEqual({ sha256: sha256sum(f), size: 6 * MiB, whileWriting: false });
  });

  it('hashes the file again when bytes it already hashed were rewritten', async () => {
    const f = join(dir, 'patched.bin');
    await writeFile(f, '');
    let seen = 0;
    const follower = followHash(f, { onHashed: (d) => (seen = d) });
    await writeFile(f, seededBytes('body', 10 * MiB + 5));
    await until(() => seen === 10 * MiB + 5, 'the follower to read the file');
    // Same size, different first sector: what a writer patching a header would do.
    const fh = await open(f, 'r+');
    await fh.write(Buffer.alloc(512, 0xee), 0, 512, 0);
    await fh.close();
    const r = await follower.finish();
    expect(r).toEqual({ sha256: sha256sum(f), size: 10 * MiB + 5, whileWriting: false });
  });

  // A patch that flips the first 4 KiB and the last 1000 bytes (tail from a
  // position the head names), like the GPT names at both ends of an ISO.
  const flip = (b: Buffer): Buffer => Buffer.from(b.map((x) => x ^ 0x5a));
  const patch = (size: number): StreamPatch => ({
    headBytes: 4096,
    head: (b) => ({
      bytes: Buffer.concat([flip(b.subarray(0, 4096)), b.subarray(4096)]),
      tailAt: size - 1000,
    }),
    tail: (b) => flip(b),
  });
  const patchedBytes = (b: Buffer): Buffer => {
    const out = Buffer.from(b);
    flip(b.subarray(0, 4096)).copy(out, 0);
    flip(b.subarray(b.length - 1000)).copy(out, b.length - 1000);
    return out;
  };

  it('with a patch: hashes the patched bytes while following, then writes them', async () => {
    const f = join(dir, 'stream-patch.bin');
    await writeFile(f, '');
    const body = seededBytes('streampatch', 9 * MiB + 77);
    let seen = 0;
    const follower = followHash(f, { patch: patch(body.length), onHashed: (d) => (seen = d) });
    const fh = await open(f, 'r+');
    // In pieces, so the head arrives before the rest is written.
    for (let at = 0; at < body.length; at += 3 * MiB) {
      const piece = body.subarray(at, at + 3 * MiB);
      await fh.write(piece, 0, piece.length, at);
      await until(() => seen === Math.min(body.length, at + 3 * MiB), 'the follower to catch up');
    }
    await fh.close();
    const r = await follower.finish();
    expect((await readFile(f)).equals(patchedBytes(body))).toBe(true);
    expect(r).toEqual({ sha256: sha256sum(f), size: body.length, whileWriting: true });
  });

  it('with a patch: when the guards make it hash again, the file is patched first', async () => {
    const f = join(dir, 'stream-patch-redo.bin');
    await writeFile(f, '');
    let seen = 0;
    const first = seededBytes('redo-before', 8 * MiB);
    const follower = followHash(f, { patch: patch(5 * MiB), onHashed: (d) => (seen = d) });
    await writeFile(f, first);
    await until(() => seen === 8 * MiB, 'the follower to read 8 MiB');
    // The writer starts over, shorter: the follower's bytes are stale.
    const body = seededBytes('redo-after', 5 * MiB);
    await writeFile(f, body);
    const r = await follower.finish();
    expect((await readFile(f)).equals(patchedBytes(body))).toBe(true);
    expect(r).toEqual({ sha256: sha256sum(f), size: 5 * MiB, whileWriting: false });
  });

  it('stops on cancel', async () => {
    const f = join(dir, 'cancel.bin');
    await writeFile(f, seededBytes('cancel', MiB));
    const ac = new AbortController();
    const follower = followHash(f, { signal: ac.signal });
    ac.abort();
    await expect(follower.finish()).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('masterInstallerIso hashes the ISO while xorriso writes it', () => {
  let inp: IsoInputs;
  let osHash: { sha256: string; size: number };
  beforeAll(async () => {
    // A 48 MiB OS image: xorriso writes long enough for the follower to trail it.
    inp = await makeIsoInputs(join(dir, 'in'), 48 * MiB + 7);
    osHash = await sha256File(inp.osImage);
  });

  function input(out: string, engine: XorrisoEngine, bios: boolean): MasterIsoInput {
    const bl = bootLoaders();
    return masterInput({ inp, osHash, workRoot: dir, out }, engine, {
      label: 'EMT_FOLLOW',
      ...(bios ? { bios: { eltorito: bl.biosEltorito, hybridMbr: bl.biosHybridMbr } } : {}),
    });
  }

  const sums = new Map<string, string>();
  for (const engine of ['native', 'wasm'] as const) {
    for (const bios of [false, true]) {
      it(`${engine}${bios ? ' --bios' : ''}: the hash is sha256sum's of the final file`, async () => {
        const d = join(dir, `out-${engine}-${bios}`);
        await mkdir(d);
        const out = join(d, 'x.iso');
        const stages: string[] = [];
        const r = await masterInstallerIso({
          ...input(out, engine, bios),
          onProgress: (e) => stages.push(e.stage),
        });
        const sum = sha256sum(out);
        expect(r.sha256).toBe(sum);
        expect(r.hashedWhileWriting).toBe(true);
        expect(await readFile(`${out}.sha256`, 'utf8')).toBe(`${sum}  x.iso\n`);
        expect(stages.at(-1)).toBe('checksum');
        // Both engines give the same bytes, so the same hash.
        const key = String(bios);
        if (sums.has(key)) expect(sum).toBe(sums.get(key));
        else sums.set(key, sum);
      });
    }
  }

  it('leaves no partial ISO when cancelled while the follower is hashing', async () => {
    const d = join(dir, 'out-cancel');
    await mkdir(d);
    const ac = new AbortController();
    const run = masterInstallerIso({ ...input(join(d, 'c.iso'), 'wasm', true), signal: ac.signal });
    // Cancel once xorriso has begun to write the temp file.
    const writing = async (): Promise<boolean> => {
      for (const n of await readdir(d)) {
        if (n.endsWith('.tmp') && (await stat(join(d, n)).catch(() => null))?.size) return true;
      }
      return false;
    };
    while (!(await writing())) await new Promise((r) => setTimeout(r, 2));
    ac.abort();
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await readdir(d)).toEqual([]);
  });
});
