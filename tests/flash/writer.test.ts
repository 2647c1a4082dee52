// Write + verify on REAL loop devices (needs root): the bytes are checked on the
// backing files, independently of our own read-back.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDrives } from '../../electron/flash/drive-list.ts';
import { CHUNK, flash, HEAD, verifyTarget } from '../../electron/flash/writer.ts';
import { isRoot, makeFat, pseudoRandom, testIso, withLoop } from './fixture-image.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const base = { verify: true, yes: true, showAll: false };

describe.skipIf(!isRoot)('flash to loop devices', () => {
  let dir: string;
  let iso: { path: string; size: number };
  let isoBytes: Buffer;
  const backing = (name: string, size: number, fill = 0x5a) => {
    const p = join(dir, name);
    writeFileSync(p, Buffer.alloc(size, fill));
    return p;
  };

  beforeAll(() => {
    iso = testIso();
    isoBytes = readFileSync(iso.path);
    dir = mkdtempSync(join(tmpdir(), 'emt-flash-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes and verifies; the backing file holds the image and a GPT the tools accept', async () => {
    const file = backing('one.img', 48 << 20);
    let readBack: string | undefined;
    await withLoop(file, async (dev) => {
      const out = await flash({ ...base, imagePath: iso.path, devices: [dev], logDir: dir });
      const r = out.results[0]!;
      expect(r.status, r.message).toBe('ok');
      expect(r.verified).toBe(true);
      expect(r.sha256).toBe(sha(isoBytes));
      readBack = r.readBackSha256;
      expect(readFileSync(out.logFile, 'utf8')).toContain('read back with O_DIRECT');
      // sgdisk reads the device itself (the backup GPT sits at the image's end, not the stick's)
      expect(execFileSync('sgdisk', ['-p', dev], { encoding: 'utf8' })).toMatch(/3 +\d+ +\d+ .* Appended3/);
    });
    const back = readFileSync(file);
    expect(sha(back.subarray(0, iso.size))).toBe(sha(isoBytes));
    // The read-back hash is of the device's bytes: it matches the backing file, read apart.
    expect(readBack).toBe(sha(back.subarray(0, iso.size)));
    // past the image the stick keeps its old bytes, except the wiped last MiB (old backup GPT)
    expect(back.subarray(back.length - HEAD).every((x) => x === 0)).toBe(true);
    expect(back[iso.size]).toBe(0x5a);
  });

  it('writes two loop devices and an image file at once', async () => {
    const a = backing('a.img', 40 << 20);
    const b = backing('b.img', 64 << 20);
    const f = join(dir, 'stick.img');
    await withLoop(a, (da) =>
      withLoop(b, async (db) => {
        const out = await flash({ ...base, imagePath: iso.path, devices: [da, db, f], logDir: dir });
        expect(out.results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
        expect(out.results.map((r) => r.device)).toEqual([da, db, f]);
      }),
    );
    for (const p of [a, b]) expect(sha(readFileSync(p).subarray(0, iso.size))).toBe(sha(isoBytes));
    expect(statSync(f).size).toBe(iso.size);
    expect(sha(readFileSync(f))).toBe(sha(isoBytes));
  });

  it('refuses a too-small target before writing a single byte, and still writes the others', async () => {
    const small = backing('small.img', 16 << 20, 0x33);
    const good = backing('good.img', 40 << 20);
    const before = sha(readFileSync(small));
    const mtime = statSync(small).mtimeMs;
    await withLoop(small, (ds) =>
      withLoop(good, async (dg) => {
        const out = await flash({ ...base, imagePath: iso.path, devices: [ds, dg], logDir: dir });
        const [rs, rg] = out.results;
        expect(rs!.status).toBe('refused');
        expect(rs!.error?.code).toBe('TOO_SMALL');
        expect(rs!.message).toContain(`${16 << 20} bytes, the image needs ${iso.size} bytes`);
        expect(rs!.bytesWritten).toBe(0);
        expect(rg!.status).toBe('ok');
      }),
    );
    expect(sha(readFileSync(small))).toBe(before);
    expect(statSync(small).mtimeMs).toBe(mtime);
  });

  it('refuses explicit targets without --yes, a mounted loop device, and the image itself', async () => {
    const file = backing('noyes.img', 40 << 20, 0x11);
    const before = sha(readFileSync(file));
    await withLoop(file, async (dev) => {
      const out = await flash({ ...base, yes: false, imagePath: iso.path, devices: [dev], logDir: dir });
      expect(out.results[0]!.error?.code).toBe('NEEDS_CONFIRMATION');
    });
    expect(sha(readFileSync(file))).toBe(before);

    const fat = join(dir, 'mounted.img');
    backing('mounted.img', 40 << 20, 0);
    execFileSync('mkfs.ext4', ['-q', '-F', fat]);
    const mnt = mkdtempSync(join(tmpdir(), 'emt-mnt-'));
    await withLoop(fat, async (dev) => {
      execFileSync('mount', [dev, mnt]);
      try {
        const out = await flash({ ...base, imagePath: iso.path, devices: [dev], logDir: dir });
        expect(out.results[0]!.error?.code).toBe('MOUNTED');
      } finally {
        execFileSync('umount', [mnt]);
        rmSync(mnt, { recursive: true });
      }
    });

    const self = await flash({ ...base, imagePath: iso.path, devices: [iso.path], logDir: dir });
    expect(self.results[0]!.error?.code).toBe('TARGET_IS_IMAGE');
    await withLoop(iso.path, async (dev) => {
      const out = await flash({ ...base, imagePath: iso.path, devices: [dev], logDir: dir });
      expect(out.results[0]!.error?.code).toBe('TARGET_IS_IMAGE');
    });
    expect(sha(readFileSync(iso.path))).toBe(sha(isoBytes));
  });

  it('refuses a real listed drive the policy refuses (zram: virtual, no size)', async (ctx) => {
    const drives = await listDrives();
    const zram = drives.find((d) => d.device.startsWith('/dev/zram'));
    if (!zram) return ctx.skip('this machine has no zram device to be refused');
    const out = await flash({
      ...base,
      showAll: true,
      imagePath: iso.path,
      devices: [zram.device],
      logDir: dir,
    });
    expect(out.results[0]!.status).toBe('refused');
    expect(out.results[0]!.error?.code).toBe('VIRTUAL');
  });

  it('verify reads past the page cache: corruption put into the backing FILE is found, with its offset', async () => {
    const file = backing('corrupt.img', 40 << 20);
    await withLoop(file, async (dev) => {
      const out = await flash({ ...base, imagePath: iso.path, devices: [dev], logDir: dir });
      expect(out.results[0]!.status).toBe('ok');
      // Fill the loop device's page cache with a plain buffered read, holding the
      // device open (the kernel drops a block device's cache on its last close)...
      const at = 20 * 1024 * 1024 + 12345;
      const holder = openSync(dev, 'r');
      try {
        const cached = Buffer.alloc(3);
        readSync(holder, cached, 0, 3, at);
        expect(cached.equals(isoBytes.subarray(at, at + 3))).toBe(true);
        // ...then change the bytes underneath it, on the backing file.
        const fd = openSync(file, 'r+');
        writeSync(fd, Buffer.from(isoBytes.subarray(at, at + 3).map((x) => x ^ 0xff)), 0, 3, at);
        fsyncSync(fd);
        closeSync(fd);
        // A buffered read still shows the old bytes: the cache is stale, so only a
        // read past it can see the corruption.
        const again = Buffer.alloc(3);
        readSync(holder, again, 0, 3, at);
        expect(again.equals(cached)).toBe(true);
        const r = await verifyTarget({ imagePath: iso.path, device: dev, logDir: dir });
        expect(r.status).toBe('mismatch');
        expect(r.firstDifference).toBe(at);
        expect(r.message).toContain(`at byte ${at}`);
      } finally {
        closeSync(holder);
      }
    });
  });

  it("flash's own verify catches bytes that changed on the stick after writing, with the offset", async () => {
    const file = backing('flipped.img', 40 << 20);
    const at = 3 * 1024 * 1024 + 777;
    let flipped = false;
    await withLoop(file, async (dev) => {
      const out = await flash(
        { ...base, imagePath: iso.path, devices: [dev], logDir: dir },
        {
          // The verify phase announces itself before its first read: change the
          // stick underneath, as a failing or fake-capacity stick would.
          onProgress: (p) => {
            if (p.stage !== 'verify' || flipped) return;
            flipped = true;
            const fd = openSync(file, 'r+');
            writeSync(fd, Buffer.from([isoBytes[at]! ^ 0x01]), 0, 1, at);
            fsyncSync(fd);
            closeSync(fd);
          },
        },
      );
      const r = out.results[0]!;
      expect(flipped).toBe(true);
      expect(r.status).toBe('mismatch');
      expect(r.verified).toBe(false);
      expect(r.firstDifference).toBe(at);
      expect(r.message).toContain(`first difference at byte ${at}; the stick is not usable`);
    });
  });

  it('writes the per-stick EMTCONFIG image at its GPT offset, and verify covers it', async () => {
    const cfg = join(dir, 'stick-cfg.img');
    makeFat(cfg, 'EMTCONFIG', 4096, { 'HOST.TXT': 'hostname=edge-07\n' });
    const file = backing('cfg.img', 40 << 20);
    const offset =
      Number(
        /First sector: (\d+)/.exec(execFileSync('sgdisk', ['-i', '3', iso.path], { encoding: 'utf8' }))![1],
      ) * 512;
    await withLoop(file, async (dev) => {
      const out = await flash({
        ...base,
        imagePath: iso.path,
        devices: [dev],
        configImagePath: cfg,
        logDir: dir,
      });
      expect(out.results[0]!.status, out.results[0]!.message).toBe('ok');
      expect(readFileSync(out.logFile, 'utf8')).toContain(`EMTCONFIG overlay at ${offset}`);
      expect(execFileSync('mtype', ['-i', `${dev}@@${offset}`, '::HOST.TXT'], { encoding: 'utf8' })).toBe(
        'hostname=edge-07\n',
      );
      const withCfg = await verifyTarget({ imagePath: iso.path, device: dev, configImagePath: cfg });
      expect(withCfg.status).toBe('ok');
      // Without the config, the stick differs from the plain image inside p3.
      const plain = await verifyTarget({ imagePath: iso.path, device: dev });
      expect(plain.status).toBe('mismatch');
      expect(plain.firstDifference).toBeGreaterThanOrEqual(offset);
      expect(plain.firstDifference).toBeLessThan(offset + (4 << 20));
    });
    const back = readFileSync(file);
    expect(back.subarray(offset, offset + statSync(cfg).size).equals(readFileSync(cfg))).toBe(true);
    expect(back.subarray(0, offset).equals(isoBytes.subarray(0, offset))).toBe(true);
  });

  it('cancel midway stops at a buffer boundary, says how far, and leaves no partition table', async () => {
    const big = join(dir, 'big.iso');
    const bigSize = 384 << 20;
    writeFileSync(big, Buffer.concat([isoBytes.subarray(0, HEAD), pseudoRandom('big', 8 << 20)]));
    execFileSync('truncate', ['-s', String(bigSize), big]);
    const file = backing('cancel.img', bigSize);
    // the stick had a valid partition table before: it must not survive half-overwritten
    execFileSync('sgdisk', ['-o', '-n', '1:2048:+8M', file], { stdio: 'ignore' });
    await withLoop(file, async (dev) => {
      const abort = new AbortController();
      const out = await flash(
        { ...base, verify: false, imagePath: big, devices: [dev], logDir: dir },
        {
          signal: abort.signal,
          onProgress: (p) => {
            if (p.stage === 'write' && p.done >= 16 << 20) abort.abort();
          },
        },
      );
      const r = out.results[0]!;
      expect(r.status).toBe('cancelled');
      expect(r.bytesWritten).toBeGreaterThanOrEqual(16 << 20);
      expect(r.bytesWritten).toBeLessThan(bigSize - HEAD);
      expect(r.bytesWritten % CHUNK).toBe(0);
      expect(r.message).toContain(`after writing ${r.bytesWritten} of ${bigSize} bytes`);
      expect(r.message).toContain('not usable');
      // neither the old table nor a half-written new one is left to auto-mount
      expect(() => execFileSync('sfdisk', ['-d', dev], { stdio: 'pipe' })).toThrow();
      expect(() => execFileSync('blkid', ['-p', dev], { stdio: 'pipe' })).toThrow();
    });
    const back = readFileSync(file);
    expect(back.subarray(0, HEAD).every((x) => x === 0)).toBe(true);
    expect(existsSync(file)).toBe(true);
  });

  it('a cancelled or failed image-file target leaves no file behind', async () => {
    const f = join(dir, 'never.img');
    const abort = new AbortController();
    abort.abort();
    const out = await flash(
      { ...base, imagePath: iso.path, devices: [f], logDir: dir },
      { signal: abort.signal },
    );
    expect(out.results[0]!.status).toBe('cancelled');
    expect(existsSync(f)).toBe(false);
    expect(execFileSync('ls', ['-a', dir], { encoding: 'utf8' })).not.toContain('never.img.emt-');
  });
});
