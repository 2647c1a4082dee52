// `emt-usb flash --config` on real loop devices: an ISO from `emt-usb build`
// (sample bootkit), two sticks written at once with different hostnames. Each
// stick's EMTCONFIG partition is read back with mtools at its GPT offset (sgdisk),
// the plaintext password is nowhere on either stick, verify covers the per-stick
// partition, and a bad per-stick value writes nothing to any device.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../electron/cli/command.ts';
import { main } from '../../electron/cli/index.ts';
import { sha512Crypt } from '../../electron/config/sha512-crypt.ts';
import { runFlashJob } from '../../electron/flash/flash-session.ts';
import { parseParentMessage } from '../../electron/flash/messages.ts';
import { planStickConfigs, stageStickConfigs } from '../../electron/flash/stick-config.ts';
import { jsonResult } from '../cli/json-lines.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { seededBytes } from '../iso/build-fixture.ts';
import { isRoot } from './fixture-image.ts';

const PLAIN = 'Pl41n-Loop-Secret';
const SITE = `user_name: edge
host_type: container
hostname: site-default
dns_name_server: [10.0.0.1]
`;

function capture(): CliIo & { outs: string[]; errs: string[] } {
  const outs: string[] = [];
  const errs: string[] = [];
  return { outs, errs, out: (l) => outs.push(l), err: (l) => errs.push(l), isTty: false };
}

/** Byte offset of GPT partition 3 (EMTCONFIG), as sgdisk reads the device. */
function p3Offset(dev: string): number {
  const info = execFileSync('sgdisk', ['-p', dev], { encoding: 'utf8' });
  const m = /^\s+3\s+(\d+)\s+\d+\s/m.exec(info);
  if (!m) throw new Error(`no partition 3 on ${dev}:\n${info}`);
  return Number(m[1]) * 512;
}

const mtype = (dev: string, off: number, file: string): string =>
  execFileSync('mtype', ['-i', `${dev}@@${off}`, `::${file}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'], // mtools warns that a loop device has no geometry
  });

/** Reads the whole device with O_DIRECT-free plain reads after a cache drop, looking for `needle`. */
async function deviceContains(dev: string, needle: Buffer): Promise<boolean> {
  execFileSync('blockdev', ['--flushbufs', dev]);
  const fh = await open(dev, 'r');
  try {
    const chunk = Buffer.alloc(4 << 20);
    let pos = 0;
    let carry = Buffer.alloc(0);
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) return false;
      const window = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      if (window.includes(needle)) return true;
      carry = window.subarray(window.length - needle.length + 1);
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

const sha = async (f: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

describe.skipIf(!isRoot)('emt-usb flash --config: per-stick EMTCONFIG on loop devices', () => {
  let dir: string;
  let iso: string;
  let site: string;
  let pw: string;
  const backing: string[] = [];
  const loops: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emt-stick-loop-'));
    const kit = (await sampleBootkit('gzip')).tarball;
    const os = join(dir, 'os.img');
    await writeFile(os, seededBytes('stick-os', 2 << 20));
    iso = join(dir, 'inst.iso');
    const b = capture();
    const code = await main(
      ['build', '--bootkit', kit, '--os-image', os, '--source-date-epoch', '1764115200', '--out', iso],
      b,
    );
    expect(code, b.errs.join('\n')).toBe(0);
    site = join(dir, 'site.yaml');
    await writeFile(site, SITE);
    pw = join(dir, 'pw.txt');
    await writeFile(pw, `${PLAIN}\n`);
    const isoSize = (await readFile(iso)).length;
    for (const n of [1, 2]) {
      const f = join(dir, `stick${n}.img`);
      // Old contents that must be replaced (or, on refusal, kept).
      await writeFile(f, seededBytes(`old-stick-${n}`, isoSize + (1 << 20)));
      backing.push(f);
      loops.push(execFileSync('losetup', ['-f', '--show', f], { encoding: 'utf8' }).trim());
    }
  });
  afterAll(async () => {
    for (const l of loops) execFileSync('losetup', ['-d', l]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a bad per-stick value on one stick writes nothing to any device', async () => {
    const before = await Promise.all(backing.map(sha));
    const io = capture();
    const code = await main(
      [
        'flash',
        iso,
        '--config',
        site,
        '--password-file',
        pw,
        '--device',
        loops[0]!,
        '--hostname',
        'node-01',
        '--device',
        loops[1]!,
        '--static-ip',
        '10.0.0.256/24',
        '--yes',
        '--log-dir',
        dir,
      ],
      io,
    );
    expect(code).toBe(2);
    expect(io.errs).toEqual([
      `emt-usb flash: --device ${loops[1]}: --static-ip: '10.0.0.256' is not an IPv4 address like 192.168.1.24`,
    ]);
    expect(io.outs).toEqual([]);
    expect(await Promise.all(backing.map(sha))).toEqual(before);
  });

  it('writes two sticks at once, each with its own hostname; verify covers the partition', async () => {
    const io = capture();
    const args = [
      'flash',
      iso,
      '--config',
      site,
      '--password-file',
      pw,
      '--device',
      loops[0]!,
      '--hostname',
      'node-01',
      '--static-ip',
      '10.0.0.11/24',
      '--device',
      loops[1]!,
      '--hostname',
      'node-02',
      '--yes',
      '--json',
      '--log-dir',
      dir,
    ];
    const staged = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('emt-stick-config-'));
    const before = await staged();
    expect(await main(args, io), io.errs.join('\n')).toBe(0);
    // The per-stick images were staged for the writer and are gone again.
    expect((await staged()).filter((n) => !before.includes(n))).toEqual([]);
    // With --json, stdout holds only the protocol's lines; the per-stick configs are in the result.
    expect(io.errs).toEqual([]);
    const out = jsonResult(io.outs);
    expect(out.results.map((r: { status: string; verified: boolean }) => [r.status, r.verified])).toEqual([
      ['ok', true],
      ['ok', true],
    ]);
    // Each stick's expected hash is the image with its own partition laid over.
    expect(out.results[0].sha256).not.toBe(out.results[1].sha256);
    expect(out.stickConfigs).toEqual([
      {
        device: loops[0],
        serial: expect.stringMatching(/^[0-9a-f]{8}$/),
        override: { hostname: 'node-01', static_ip: '10.0.0.11', subnet_mask: 24 },
      },
      { device: loops[1], serial: expect.stringMatching(/^[0-9a-f]{8}$/), override: { hostname: 'node-02' } },
    ]);
    expect(out.results[0].sha256).not.toBe(await sha(iso));

    const hashes: string[] = [];
    for (const [i, dev] of loops.entries()) {
      const off = p3Offset(dev);
      const env = mtype(dev, off, '/emt/config.env');
      expect(env).toContain(`hostname=node-0${i + 1}\n`);
      expect(env).toContain('user_name=edge\n');
      expect(env).toContain(i === 0 ? 'static_ip=10.0.0.11\nsubnet_mask=24\n' : 'static_ip=\n');
      const hash = mtype(dev, off, '/emt/password.hash').trim();
      const salt = /^\$6\$([^$]+)\$/.exec(hash)?.[1];
      expect(sha512Crypt(PLAIN, salt!)).toBe(hash);
      hashes.push(hash);
      expect(await deviceContains(dev, Buffer.from(PLAIN))).toBe(false);
      expect(await deviceContains(dev, Buffer.from(hash))).toBe(true); // the search does find what is there
    }
    expect(hashes[0]).not.toBe(hashes[1]);

    // The same inputs rebuild each stick's image byte for byte: verify with it passes;
    // against the bare ISO (its build-time partition) it fails inside the partition.
    // A plaintext password got a random salt, so the rebuild takes each stick's hash.
    const stickOptions = [{ hostname: 'node-01', 'static-ip': '10.0.0.11/24' }, { hostname: 'node-02' }];
    for (const [i, dev] of loops.entries()) {
      const hashFile = join(dir, `hash-${i}.txt`);
      await writeFile(hashFile, `${hashes[i]}\n`);
      const plan = await planStickConfigs({
        imagePath: iso,
        configFile: site,
        passwordFile: hashFile,
        sticks: [{ device: dev, options: stickOptions[i]! }],
      });
      const img = join(dir, `expected-${i}.img`);
      await writeFile(img, plan.images[0]!.bytes);
      const ok = capture();
      expect(
        await main(['verify', iso, '--device', dev, '--config-image', img], ok),
        ok.errs.join('\n'),
      ).toBe(0);
      expect(ok.outs[0]).toContain('byte for byte');
      const bare = capture();
      expect(await main(['verify', iso, '--device', dev, '--json'], bare)).toBe(2);
      const r = jsonResult(bare.outs);
      const off = p3Offset(dev);
      expect(r.status).toBe('mismatch');
      expect(r.firstDifference).toBeGreaterThanOrEqual(off);
      expect(r.firstDifference).toBeLessThan(off + (64 << 20));
    }
  });

  it('the writer process gets one config image per device over the channel', async () => {
    const plan = await planStickConfigs({
      imagePath: iso,
      configFile: site,
      sticks: [
        { device: 'x', options: { hostname: 'proc-1' } },
        { device: 'y', options: { hostname: 'proc-2' } },
      ],
    });
    const staged = await stageStickConfigs(plan);
    const targets = [join(dir, 'proc-1.img'), join(dir, 'proc-2.img')];
    try {
      const request = {
        imagePath: iso,
        devices: targets,
        configImagePaths: staged.paths,
        verify: true,
        yes: true,
        showAll: false,
        logDir: dir,
      };
      // A count that does not match the devices is refused at the channel.
      expect(() =>
        parseParentMessage({
          type: 'start',
          job: { kind: 'flash', request: { ...request, configImagePaths: [staged.paths[0]] } },
        }),
      ).toThrow(/configImagePaths/);
      const out = await runFlashJob(request, { mode: 'process' });
      expect(out.results.map((r) => r.status)).toEqual(['ok', 'ok']);
    } finally {
      await staged.cleanup();
    }
    for (const [i, f] of targets.entries()) {
      const off = p3Offset(f);
      const written = (await readFile(f)).subarray(off, off + plan.images[i]!.bytes.length);
      expect(written.equals(plan.images[i]!.bytes)).toBe(true);
      expect(mtype(f, off, '/emt/config.env')).toContain(`hostname=proc-${i + 1}\n`);
    }
  });
});
