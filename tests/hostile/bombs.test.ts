// Inputs that claim to be huge (issue 13 item 12 and the rule's bounds): refused
// before the work, with the cap named; peak RSS of the CLI measured by
// /usr/bin/time and kept under 500 MB; nothing left in the temp folder.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bombBootkit, bombInitramfs, craftBootkit } from './craft.ts';
import { refused } from './rule.ts';

const bin = join(import.meta.dirname, '../../bin/emt-usb.js');
const scripts = join(import.meta.dirname, '../../installer-scripts');
let dir: string;
let bomb: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-hostile-bombs-'));
  bomb = join(dir, 'bomb.tar.gz');
  bombBootkit(bomb, 6 * 2 ** 30);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the real CLI under /usr/bin/time with its own temp folder: exit code, stderr, peak RSS (MB). */
function measured(argv: string[]) {
  const tmp = join(dir, `tmp-${Math.random().toString(36).slice(2)}`);
  mkdirSync(tmp);
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss-kb %M', process.execPath, bin, ...argv], {
    encoding: 'utf8',
    env: { ...process.env, TMPDIR: tmp },
  });
  const lines = r.stderr.trim().split('\n');
  const rss = Number(/maxrss-kb (\d+)/.exec(lines.at(-1)!)?.[1]) / 1024;
  return {
    code: r.status,
    err: lines.slice(0, -1).filter((l) => !l.startsWith('Command exited with non-zero status')),
    rssMb: rss,
    seconds: (performance.now() - t) / 1000,
    tmp: readdirSync(tmp).filter((n) => !n.startsWith('tsx-')),
  };
}

describe('12. a bootkit tar.gz whose initramfs expands to 6 GiB', () => {
  it('is a few MB on disk', () => {
    expect(statSync(bomb).size).toBeLessThan(16 * 2 ** 20);
  });

  it('inspect refuses it from the tar header: no byte unpacked, the cap said, RSS bounded', () => {
    const r = measured(['inspect', bomb]);
    expect(r.code, r.err.join('\n')).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(
      /^emt-usb inspect: .*bomb\.tar\.gz: initramfs-\S+ would unpack to 6144 MiB; a bootkit's initramfs is at most 2048 MiB \(the boot loader loads it whole into memory\)/,
    );
    expect(r.tmp).toEqual([]);
    // Writing 6 GiB would take far longer than this.
    expect(r.seconds).toBeLessThan(20);
    expect(r.rssMb).toBeLessThan(500);
    console.log(`bomb inspect: peak RSS ${r.rssMb.toFixed(0)} MB, ${r.seconds.toFixed(1)} s`);
  });

  it('inject and build refuse it the same way', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    const msg = /would unpack to 6144 MiB; a bootkit's initramfs is at most 2048 MiB/;
    await refused(
      ['inject', '--bootkit', bomb, '--installer-scripts', scripts, '--out', join(out, 'o.img')],
      msg,
      bomb,
    );
    await refused(['build', '--bootkit', bomb, '--os-image', bomb, '--out', join(out, 'o.iso')], msg, bomb);
    expect(readdirSync(out)).toEqual([]);
  });
});

const isRoot = process.getuid?.() === 0;

describe('12. free space in the temp folder is checked before a member is unpacked', () => {
  it.skipIf(!isRoot)('a 32 MiB temp folder: inspect says so, naming the member, and leaves nothing', () => {
    const kit = craftBootkit(dir, 'small-tmp');
    const tmp = join(dir, 'tiny-tmp');
    mkdirSync(tmp);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', tmp]);
    try {
      const r = spawnSync(process.execPath, [bin, 'inspect', kit], {
        encoding: 'utf8',
        env: { ...process.env, TMPDIR: tmp },
      });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(
        /not enough space in the temp folder to unpack vmlinuz-\S+ from .*small-tmp\.tar\.gz: 1 MiB needed, \d+ MiB free/,
      );
      expect(readdirSync(tmp).filter((n) => !n.startsWith('tsx-'))).toEqual([]);
    } finally {
      execFileSync('umount', [tmp]);
    }
  });
});

describe('an 8 GiB decompression bomb in the initramfs itself (50 MB on disk)', () => {
  let initrd: string;
  /** 1 GiB: inject re-encodes the main segment, so the full 8 GiB would cost a minute of gzip. */
  let small: string;
  beforeAll(() => {
    initrd = join(dir, 'bomb-initrd.img');
    bombInitramfs(initrd, [2 ** 32 - 4, 2 ** 32 - 4]);
    small = join(dir, 'bomb-initrd-1g.img');
    bombInitramfs(small, [2 ** 29, 2 ** 29]);
  });

  it('inspect streams all 8 GiB with bounded memory and no temp files', () => {
    const r = measured(['inspect', initrd, '--json']);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.tmp).toEqual([]);
    expect(r.rssMb).toBeLessThan(500);
    console.log(`8 GiB initramfs inspect: peak RSS ${r.rssMb.toFixed(0)} MB, ${r.seconds.toFixed(1)} s`);
  });

  it('inject refuses a 1 GiB one (no rootfs.tar.gz) in one line with bounded memory, nothing left', () => {
    const out = join(dir, 'bomb-out');
    mkdirSync(out);
    const r = measured([
      'inject',
      '--bootkit',
      initrd,
      '--installer-scripts',
      scripts,
      '--out',
      join(out, 'o.img'),
    ]);
    expect(r.code, r.err.join('\n')).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/rootfs\.tar\.gz/);
    expect(r.tmp).toEqual([]);
    expect(readdirSync(out)).toEqual([]);
    expect(r.rssMb).toBeLessThan(500);
    console.log(`1 GiB initramfs inject: peak RSS ${r.rssMb.toFixed(0)} MB, ${r.seconds.toFixed(1)} s`);
  });

  it('a reader that goes away (inspect | head -1) ends the CLI without a trace', async () => {
    const child = spawn(process.execPath, [bin, 'inspect', small], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(stderr).not.toMatch(/EPIPE|at .*\.ts:\d+/);
    expect(code).toBe(0);
  });
});

describe('8. a config just under the cap, of the costliest shape (many small nodes)', () => {
  it('parses within the memory bound', () => {
    const f = join(dir, 'wide.yaml');
    let text = 'user_name: edge\nhost_type: container\nwrite_files:\n';
    for (let i = 0; text.length < 2 ** 20 - 64; i++) text += `  - path: /etc/x${i}\n    content: y\n`;
    writeFileSync(f, text);
    const r = measured(['config', f]);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.rssMb).toBeLessThan(500);
    console.log(`1 MiB config of small nodes: peak RSS ${r.rssMb.toFixed(0)} MB, ${r.seconds.toFixed(1)} s`);
  });
});
