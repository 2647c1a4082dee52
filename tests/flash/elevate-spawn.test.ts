// The elevated launch path, spawned for real. There is no polkit daemon or
// pkexec on this machine, so a stand-in `pkexec` script on PATH plays the OS
// part: once as a working pkexec (it just runs its arguments, as we are root),
// once as pkexec without an authentication agent. Everything else is real.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../../electron/flash/elevate.ts';
import { runFlashJob } from '../../electron/flash/flash-session.ts';
import { isRoot, testIso } from './fixture-image.ts';

describe.skipIf(!isRoot || process.platform !== 'linux')('elevated writer launch (pkexec path)', () => {
  let dir: string;
  let iso: { path: string };
  const savedPath = process.env.PATH;
  /** Puts a stand-in pkexec running `script` first on PATH. */
  const withPkexec = (script: string) => {
    const bin = mkdtempSync(join(dir, 'bin-'));
    writeFileSync(join(bin, 'pkexec'), `#!/bin/sh\n${script}\n`);
    chmodSync(join(bin, 'pkexec'), 0o755);
    process.env.PATH = `${bin}:${savedPath}`;
  };

  beforeAll(() => {
    iso = testIso();
    dir = mkdtempSync(join(tmpdir(), 'emt-elevate-'));
  });
  afterAll(() => {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  it('without pkexec: a clear message, nothing started', async () => {
    process.env.PATH = '/nonexistent';
    try {
      expect(findOnPath('pkexec')).toBeNull();
      await expect(
        runFlashJob(
          { imagePath: iso.path, devices: [join(dir, 'x.img')], verify: true, yes: true, showAll: false },
          { mode: 'elevated' },
        ),
      ).rejects.toThrow(/pkexec \(polkit\) is not installed/);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('pkexec without an authentication agent: says so and how to fix it', async () => {
    withPkexec(
      'echo "Error executing command as another user: No authentication agent found." >&2\nexit 127',
    );
    try {
      await expect(
        runFlashJob(
          { imagePath: iso.path, devices: [join(dir, 'y.img')], verify: true, yes: true, showAll: false },
          { mode: 'elevated' },
        ),
      ).rejects.toThrow(/no polkit authentication agent is running/);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('a working pkexec: the writer runs through it, gets the token on stdin, and writes', async () => {
    withPkexec('exec "$@"');
    try {
      const out = await runFlashJob(
        {
          imagePath: iso.path,
          devices: [join(dir, 'z.img')],
          verify: true,
          yes: true,
          showAll: false,
          logDir: dir,
        },
        { mode: 'elevated' },
      );
      expect(out.results[0]!.status, out.results[0]!.message).toBe('ok');
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
