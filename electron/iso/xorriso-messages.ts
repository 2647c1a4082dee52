// Pure readers of xorriso's text output: progress ("pacifier") lines, problem
// lines and the version banner. Formats from libisoburn 1.5.4 xorriso/write_run.c
// (Xorriso_pacifier_loop) and its message queue ("<origin> : <SEVERITY> : text").
import type { ProgressEvent } from '../progress.ts';

const SECTOR = 2048;

/** Severities at which xorriso (or a library under it) reports that something went wrong. */
export const PROBLEM_SEVERITIES = ['SORRY', 'FAILURE', 'MISHAP', 'FATAL', 'ABORT'] as const;

// "xorriso : UPDATE : text", "libisofs: FAILURE : text", "libburn : SORRY : text"
const MESSAGE = /^(xorriso|libisofs|libburn|libisoburn|libisoburn)\s*: ([A-Z]+) : (.*)$/;

export interface XorrisoMessage {
  origin: string;
  severity: string;
  text: string;
}

export function parseMessage(line: string): XorrisoMessage | null {
  const m = MESSAGE.exec(line.trimEnd());
  if (!m) return null;
  return { origin: m[1]!, severity: m[2]!, text: m[3]!.trim() };
}

/**
 * One pacifier line as a progress event, or null when it is not one. Three styles:
 *  xorriso:  "Writing:      16384s   25.0%   fifo 100%  buf  50%   12.3xD"
 *  mkisofs:  " 25.00% done, estimate finish Thu Nov 26 12:00:00 2026"
 *  cdrecord: "  32 of  128 MB written (fifo 100%) [buf  50%]   4.0x."
 */
export function parseProgressLine(line: string, stage = 'master'): ProgressEvent | null {
  const msg = parseMessage(line);
  if (msg?.severity !== 'UPDATE') return null;
  const text = msg.text;

  let m = /^Writing:\s+(\d+)s\s+([\d.]+)%/.exec(text);
  if (m) {
    const done = Number(m[1]) * SECTOR;
    const pct = Number(m[2]);
    // The sector total is not printed; derive it from the percentage, whole sectors.
    const total = pct > 0 ? Math.max(done, Math.round(done / (pct / 100) / SECTOR) * SECTOR) : null;
    return { stage, done, total, unit: 'bytes', detail: text };
  }
  m = /^Writing:\s+(\d+)s\b/.exec(text);
  if (m) return { stage, done: Number(m[1]) * SECTOR, total: null, unit: 'bytes', detail: text };

  m = /^([\d.]+)% done/.exec(text);
  if (m) {
    // Percent only: report basis points of 10000.
    return { stage, done: Math.round(Number(m[1]) * 100), total: 10_000, unit: 'steps', detail: text };
  }

  m = /^(\d+) of\s+(\d+) MB written/.exec(text);
  if (m)
    return {
      stage,
      done: Number(m[1]) * 2 ** 20,
      total: Number(m[2]) * 2 ** 20,
      unit: 'bytes',
      detail: text,
    };
  m = /^(\d+) MB written/.exec(text);
  if (m) return { stage, done: Number(m[1]) * 2 ** 20, total: null, unit: 'bytes', detail: text };

  // While the tree is built: "    1234 files added in 1 seconds"
  m = /^(\d+) files added in/.exec(text);
  if (m) return { stage, done: Number(m[1]), total: null, unit: 'files', detail: text };
  return null;
}

/** xorriso's own words for what went wrong: every SORRY/FAILURE/FATAL/... line, in order, de-duplicated. */
export function problemLines(output: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of output.split('\n')) {
    const msg = parseMessage(line);
    if (!msg || !(PROBLEM_SEVERITIES as readonly string[]).includes(msg.severity)) continue;
    const text = `${msg.origin} : ${msg.severity} : ${msg.text}`;
    if (seen.has(text)) continue;
    seen.add(text);
    out.push(text);
  }
  return out;
}

/** "xorriso 1.5.4 : RockRidge filesystem manipulator, ..." -> "1.5.4". */
export function parseVersion(output: string): string | null {
  const m = /^xorriso (\d+\.\d+\.\d+\S*)/m.exec(output);
  return m ? m[1]! : null;
}

/** Splits a growing text stream into whole lines; returns the unfinished rest. */
export function splitLines(pending: string, chunk: string): { lines: string[]; rest: string } {
  const text = pending + chunk;
  // xorriso redraws some pacifier lines with \r on a terminal; treat it as a line end.
  const parts = text.split(/\r\n|\n|\r/);
  const rest = parts.pop() ?? '';
  return { lines: parts, rest };
}
