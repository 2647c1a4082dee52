// The terminal's progress bar for any job: one line redrawn in place on stderr.
import type { ProgressValue } from '../api.ts';

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** One bar line for an event, e.g. `master  [#########-----------]  45%  120.0 MiB/s`. */
export function renderBar(e: ProgressValue, bytesPerSecond: number | undefined, width = 24): string {
  const name = e.stage.padEnd(9);
  if (e.total === null || e.total <= 0) {
    const done = e.unit === 'bytes' ? mib(e.done) : e.done > 0 ? String(e.done) : '';
    return `${name} ${done}`.trimEnd();
  }
  const f = Math.min(1, Math.max(0, e.done / e.total));
  const fill = Math.round(f * width);
  const speed = e.unit === 'bytes' && bytesPerSecond ? `  ${mib(bytesPerSecond)}/s` : '';
  return `${name} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${String(Math.floor(f * 100)).padStart(3)}%${speed}`;
}

/** A redraw-in-place bar, at most 10 frames a second; null clears it. */
export function progressBar(
  write: (s: string) => void,
  render: (e: ProgressValue, speed: number | undefined) => string = renderBar,
): (e: ProgressValue | null) => void {
  let last = 0;
  let stage = '';
  let mark = { t: 0, done: 0 };
  let speed: number | undefined;
  let drawn = false;
  return (e) => {
    if (e === null) {
      if (drawn) write('\r\x1b[K');
      drawn = false;
      return;
    }
    const now = Date.now();
    if (e.stage !== stage) {
      stage = e.stage;
      mark = { t: now, done: e.done };
      speed = undefined;
    } else if (now - mark.t >= 500) {
      speed = ((e.done - mark.done) * 1000) / (now - mark.t);
      mark = { t: now, done: e.done };
    }
    if (now - last < 100 && e.done !== e.total) return;
    last = now;
    drawn = true;
    write(`\r\x1b[K${render(e, e.bytesPerSecond ?? speed)}`);
  };
}
