// The read-back verify on REAL loop devices (needs root): several chunks are in
// flight at once and compared byte for byte, so a difference anywhere (chunk
// edges, a reused read slot, the last partial chunk, the first MiB that is
// written last) must be named at its exact offset, and the expected sha256 must
// still be whole when the device read stops early.
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK, flash, verifyTarget } from '../../electron/flash/writer.ts';
import { isRoot, testIso, withLoop } from './fixture-image.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const base = { yes: true, showAll: false };

/** Changes one byte of a loop device's backing file (what a failing stick would do). */
function poke(file: string, at: number, value: number): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.from([value]), 0, 1, at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(!isRoot)('read-back verify', () => {
  let dir: string;
  let iso: { path: string; size: number };
  let isoBytes: Buffer;

  beforeAll(() => {
    iso = testIso();
    isoBytes = readFileSync(iso.path);
    dir = mkdtempSync(join(tmpdir(), 'emt-readback-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the exact first differing offset wherever it falls, and passes again once restored', async () => {
    // sanity: the fixture ends in a partial chunk and spans more chunks than are in flight
    expect(iso.size % CHUNK).not.toBe(0);
    expect(iso.size).toBeGreaterThan(5 * CHUNK);
    const file = join(dir, 'stick.img');
    writeFileSync(file, Buffer.alloc(48 << 20, 0x5a));
    const lastChunk = Math.floor(iso.size / CHUNK) * CHUNK;
    const offsets = [0, 4095, CHUNK - 1, CHUNK, 2 * CHUNK + 1, 4 * CHUNK + 7, lastChunk, iso.size - 1];
    await withLoop(file, async (dev) => {
      const out = await flash({ ...base, verify: true, imagePath: iso.path, devices: [dev], logDir: dir });
      expect(out.results[0]!.status, out.results[0]!.message).toBe('ok');
      for (const at of offsets) {
        poke(file, at, isoBytes[at]! ^ 0x80);
        const bad = await verifyTarget({ imagePath: iso.path, device: dev, logDir: dir });
        expect([at, bad.status, bad.firstDifference]).toEqual([at, 'mismatch', at]);
        // the device read stopped at the difference; the expected hash is still the whole image's
        expect(bad.sha256).toBe(sha(isoBytes));
        expect(bad.readBackSha256).toBeUndefined();
        poke(file, at, isoBytes[at]!);
        const good = await verifyTarget({ imagePath: iso.path, device: dev, logDir: dir });
        expect([at, good.status, good.readBackSha256]).toEqual([at, 'ok', sha(isoBytes)]);
      }
      // Two differences: the first one is named.
      poke(file, 3 * CHUNK + 3, isoBytes[3 * CHUNK + 3]! ^ 1);
      poke(file, CHUNK + 9, isoBytes[CHUNK + 9]! ^ 1);
      expect((await verifyTarget({ imagePath: iso.path, device: dev, logDir: dir })).firstDifference).toBe(
        CHUNK + 9,
      );
    });
  });

  it("flash's verify reports the image's sha256 on a mismatch too; without verify the write pass hashes", async () => {
    const file = join(dir, 'flip.img');
    writeFileSync(file, Buffer.alloc(48 << 20, 0x5a));
    const at = 2 * CHUNK - 1;
    await withLoop(file, async (dev) => {
      let flipped = false;
      const out = await flash(
        { ...base, verify: true, imagePath: iso.path, devices: [dev], logDir: dir },
        {
          onProgress: (p) => {
            if (p.stage !== 'verify' || flipped) return;
            flipped = true;
            poke(file, at, isoBytes[at]! ^ 0xff);
          },
        },
      );
      const r = out.results[0]!;
      expect([r.status, r.verified, r.firstDifference]).toEqual(['mismatch', false, at]);
      expect(r.sha256).toBe(sha(isoBytes));
      expect(r.readBackSha256).toBeUndefined();

      const plain = await flash({ ...base, verify: false, imagePath: iso.path, devices: [dev], logDir: dir });
      const p = plain.results[0]!;
      expect([p.status, p.verified, p.sha256]).toEqual(['ok', null, sha(isoBytes)]);
      expect(p.readBackSha256).toBeUndefined();
    });
    expect(sha(readFileSync(file).subarray(0, iso.size))).toBe(sha(isoBytes));
  });

  it('cancel while verifying drains the reads in flight and says the stick was written but not checked', async () => {
    const file = join(dir, 'cancel.img');
    writeFileSync(file, Buffer.alloc(48 << 20, 0x5a));
    await withLoop(file, async (dev) => {
      const abort = new AbortController();
      const out = await flash(
        { ...base, verify: true, imagePath: iso.path, devices: [dev], logDir: dir },
        { signal: abort.signal, onProgress: (p) => p.stage === 'verify' && abort.abort() },
      );
      const r = out.results[0]!;
      expect([r.status, r.verified, r.error?.code]).toEqual(['cancelled', null, 'CANCELLED']);
      expect(r.message).toBe(
        `${dev}: cancelled while verifying; all ${iso.size} bytes were written but not checked`,
      );
      // the standalone verify stops the same way, as a typed error
      const stop = new AbortController();
      stop.abort();
      await expect(
        verifyTarget({ imagePath: iso.path, device: dev, logDir: dir }, { signal: stop.signal }),
      ).rejects.toMatchObject({
        code: 'CANCELLED',
        message: `${dev}: verification cancelled`,
      });
      // and nothing was left half-open: a full verify runs again
      expect((await verifyTarget({ imagePath: iso.path, device: dev, logDir: dir })).status).toBe('ok');
    });
    expect(sha(readFileSync(file).subarray(0, iso.size))).toBe(sha(isoBytes));
  });
});
