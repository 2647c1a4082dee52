// Numbers as people read them: sizes in GB/MB (decimal, as drives are sold), times as m:ss.

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '?';
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

export const formatSpeed = (bps: number | undefined): string =>
  bps && bps > 0 ? `${formatBytes(bps)}/s` : '';

export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '';
  if (s < 10) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  const m = Math.floor(whole / 60);
  const r = whole % 60;
  return m > 0 ? `${m}:${String(r).padStart(2, '0')} min` : `${r} s`;
}

export const percent = (done: number, total: number | null): number =>
  total && total > 0 ? Math.min(100, Math.max(0, (done / total) * 100)) : 0;

/** The last path component, for either separator. */
export const baseName = (p: string): string => p.split(/[\\/]/).pop() ?? p;
export const dirName = (p: string): string => {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i > 0 ? p.slice(0, i) : p;
};
