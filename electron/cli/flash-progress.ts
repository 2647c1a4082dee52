// How flash progress reads on a terminal: one line per target, bytes, speed, ETA.
import type { FlashProgressValue as FlashProgress } from '../api.ts';

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

export function formatProgress(p: FlashProgress): string {
  const pct = p.total ? ` ${((100 * p.done) / p.total).toFixed(0).padStart(3)}%` : '';
  const speed = p.bytesPerSecond ? ` ${mb(p.bytesPerSecond)}/s` : '';
  const eta = p.etaSeconds !== null && p.done !== p.total ? ` ETA ${Math.ceil(p.etaSeconds)}s` : '';
  return `${p.device}: ${p.stage}${pct} ${mb(p.done)}${p.total ? ` of ${mb(p.total)}` : ''}${speed}${eta}`;
}
