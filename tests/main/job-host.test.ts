// The job host main and the UI test bridge share: request checks, progress per
// job id, cancel by id, errors as values, and the drive policy re-checked for
// every flash target so a crafted request cannot write a refused drive.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressMessage } from '../../electron/api.ts';
import { listDrives } from '../../electron/flash/drive-list.ts';
import { JobHost } from '../../electron/jobs/job-host.ts';
import { jobs } from '../../electron/jobs/registry.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { testIso } from '../flash/fixture-image.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'emt-host-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const flashRequest = (image: string, device: string, extra: Record<string, unknown> = {}) => ({
  image,
  targets: [{ device }],
  verify: true,
  yes: true,
  showAll: true,
  logDir: dir,
  ...extra,
});

describe('JobHost', () => {
  it('a malformed call or request is a BAD_REQUEST value, never a throw', async () => {
    const host = new JobHost();
    const send = () => {};
    expect(await host.run({ job: 'format-c', jobId: 'a', request: {} }, send)).toMatchObject({
      error: { code: 'BAD_REQUEST' },
    });
    expect(await host.run({ job: 'inspect', jobId: 'a', request: { inputs: 'x' } }, send)).toMatchObject({
      error: { code: 'BAD_REQUEST', message: expect.stringMatching(/inputs/) },
    });
    expect(
      await host.run(
        { job: 'flash', jobId: 'a', request: { ...flashRequest('/x', '/y'), __proto__x: 1 } },
        send,
      ),
    ).toMatchObject({ error: { code: 'BAD_REQUEST', message: expect.stringMatching(/unknown field/) } });
    expect(host.size).toBe(0);
  });

  it('runs a real job: progress tagged with its job id, then the typed result', async () => {
    const kit = (await sampleBootkit('gzip')).tarball;
    const host = new JobHost();
    const seen: ProgressMessage[] = [];
    const reply = await host.run({ job: 'inspect', jobId: 'job-1', request: { inputs: [kit] } }, (m) =>
      seen.push(m),
    );
    expect('result' in reply && reply.result).toMatchObject({ rootfs: { present: true } });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((m) => m.jobId === 'job-1' && m.job === 'inspect')).toBe(true);
  });

  it('cancel by id ends the job with the one CANCELLED error and removes its output', async () => {
    const kit = (await sampleBootkit('gzip')).tarball;
    const host = new JobHost();
    const out = join(dir, 'cancel.img');
    const scripts = join(import.meta.dirname, '../../installer-scripts');
    const running = host.run(
      {
        job: 'inject',
        jobId: 'c1',
        request: { bootkit: kit, installerScripts: scripts, out, mode: 'single' },
      },
      (m) => {
        if (m.event.done > 0) host.cancel('c1');
      },
    );
    expect(host.cancel('nope')).toBe(false);
    const reply = await running;
    expect(reply).toMatchObject({ error: { area: 'cancelled', code: 'CANCELLED' } });
    expect(() => readFileSync(out)).toThrow();
    expect(host.size).toBe(0);
  });

  it('a bug inside a job is an INTERNAL value naming the log', async () => {
    const host = new JobHost({ logInternal: () => '/var/log/emt.log' });
    const saved = jobs['config-check'].run;
    jobs['config-check'].run = async () => {
      throw new TypeError('boom');
    };
    try {
      const r = await host.run({ job: 'config-check', jobId: 'b', request: { text: 'x: 1' } }, () => {});
      expect(r).toEqual({
        error: {
          area: 'internal',
          code: 'INTERNAL',
          message: 'internal error: boom (details: /var/log/emt.log)',
          file: null,
          log: '/var/log/emt.log',
        },
      });
    } finally {
      jobs['config-check'].run = saved;
    }
  });
});

describe('the drive policy, re-checked for every flash request from the app', () => {
  it('refuses the image itself, an unconfirmed file and a missing device, writing nothing', async () => {
    const iso = testIso();
    const host = new JobHost();
    const target = join(dir, 'stick.img');
    writeFileSync(target, 'keep\n');
    const cases: [Record<string, unknown>, RegExp][] = [
      [flashRequest(iso.path, iso.path), /is the image itself/],
      [flashRequest(iso.path, target, { yes: false }), /named explicitly .* \(not confirmed\)/],
      [flashRequest(iso.path, '/dev/emt-no-such-disk'), /no such device/],
    ];
    for (const [request, msg] of cases) {
      const r = await host.run({ job: 'flash', jobId: 'f', request }, () => {});
      expect(r).toMatchObject({ error: { area: 'flash', message: expect.stringMatching(msg) } });
    }
    expect(readFileSync(target, 'utf8')).toBe('keep\n');
  });

  it('refuses the system drive even with "show all drives" and --yes', async (ctx) => {
    const system = (await listDrives()).find((d) => d.isSystem);
    if (!system) return ctx.skip('drivelist reports no system drive on this machine');
    const iso = testIso();
    const r = await new JobHost().run(
      { job: 'flash', jobId: 's', request: flashRequest(iso.path, system.device) },
      () => {},
    );
    expect(r).toMatchObject({ error: { code: 'REFUSED', file: system.device } });
  });
});
