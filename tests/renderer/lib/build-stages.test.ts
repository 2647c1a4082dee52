import { describe, expect, it } from 'vitest';
import { applyProgress, finishStages, initialStages } from '../../../renderer/src/lib/build-stages.ts';

describe('build stages view', () => {
  it('runs the parallel group together, folds sub-stages into their parent, ends with the job times', () => {
    let rows = initialStages();
    rows = applyProgress(rows, { stage: 'open', done: 0, total: null }, 0);
    rows = applyProgress(rows, { stage: 'verify', done: 5, total: 10, unit: 'bytes' }, 1000);
    rows = applyProgress(rows, { stage: 'rootfs', done: 1, total: 4, unit: 'bytes' }, 1500);
    const by = (s: string) => rows.find((r) => r.stage === s)!;
    expect(by('open')).toMatchObject({ state: 'done', seconds: 1 });
    expect(by('verify')).toMatchObject({ state: 'running', done: 5, total: 10 });
    // The OS image's stream test (no checksum given) is part of checking the OS image.
    expect(
      applyProgress(rows, { stage: 'os-test', done: 0, total: null }, 1200).find((r) => r.stage === 'verify'),
    ).toMatchObject({
      state: 'running',
      detail: 'os-test',
    });
    expect(by('inject')).toMatchObject({ state: 'running', detail: 'rootfs' });
    expect(by('master').state).toBe('pending');
    rows = applyProgress(rows, { stage: 'checksum', done: 1, total: 2, unit: 'bytes' }, 4000);
    expect(rows.find((r) => r.stage === 'inject')!.state).toBe('done');
    rows = finishStages(rows, [{ stage: 'master', seconds: 2.5 }]);
    expect(rows.every((r) => r.state === 'done')).toBe(true);
    expect(rows.find((r) => r.stage === 'master')!.seconds).toBe(2.5);
    // Unknown stages are ignored, not shown.
    expect(applyProgress(rows, { stage: 'mystery', done: 0, total: null }, 0)).toBe(rows);
  });
});
