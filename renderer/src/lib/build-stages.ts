// The build's stages as the UI lists them, fed by the job's progress events.
// inspect, verify and inject run at once (one group); sub-stages (walk, rootfs;
// stage, checksum) count towards their parent. Times come from the job's result
// at the end; while running they are measured here.
import type { ProgressValue } from '../../../electron/api.ts';

export const BUILD_STAGES = ['open', 'inspect', 'verify', 'inject', 'images', 'master'] as const;
// `bootkit` (made from the Bootkit OS build output) comes first, only when asked for.
const GROUP: Record<string, number> = {
  bootkit: -1,
  open: 0,
  inspect: 1,
  verify: 1,
  inject: 1,
  images: 2,
  master: 3,
};
const PARENT: Record<string, string> = {
  scan: 'bootkit',
  append: 'bootkit',
  'drop-boot': 'bootkit',
  // Without a checksum, the OS image's whole stream is tested beside its hash.
  'os-test': 'verify',
  walk: 'inject',
  rootfs: 'inject',
  stage: 'master',
  checksum: 'master',
};

export interface StageView {
  stage: string;
  state: 'pending' | 'running' | 'done';
  done: number;
  total: number | null;
  unit: ProgressValue['unit'];
  detail: string;
  startedAt: number | null;
  seconds: number | null;
}

export const initialStages = (fromOsBuild = false): StageView[] =>
  [...(fromOsBuild ? ['bootkit'] : []), ...BUILD_STAGES].map((stage) => ({
    stage,
    state: 'pending',
    done: 0,
    total: null,
    unit: 'steps',
    detail: '',
    startedAt: null,
    seconds: null,
  }));

export function applyProgress(rows: StageView[], ev: ProgressValue, now: number): StageView[] {
  const name = PARENT[ev.stage] ?? ev.stage;
  const group = GROUP[name];
  if (group === undefined) return rows;
  return rows.map((r) => {
    const g = GROUP[r.stage]!;
    if (r.stage === name) {
      const sub = ev.stage !== name ? ev.stage : '';
      return {
        ...r,
        state: r.state === 'done' ? 'done' : 'running',
        startedAt: r.startedAt ?? now,
        done: ev.done,
        total: ev.total,
        unit: ev.unit,
        detail: sub,
      };
    }
    if (g < group && r.state !== 'done')
      return { ...r, state: 'done', seconds: r.startedAt === null ? null : (now - r.startedAt) / 1000 };
    return r;
  });
}

/** The job's own per-stage times replace the measured ones; every stage is done. */
export function finishStages(rows: StageView[], stages: { stage: string; seconds: number }[]): StageView[] {
  const secs = new Map(stages.map((s) => [s.stage, s.seconds]));
  return rows.map((r) => ({ ...r, state: 'done', seconds: secs.get(r.stage) ?? r.seconds }));
}
