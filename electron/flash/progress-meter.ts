// Per-target progress: speed over the current phase, an ETA, and at most four
// events a second so a terminal or IPC channel is never flooded.
import type { ProgressEvent } from '../progress.ts';

export type FlashPhase = 'prepare' | 'unmount' | 'wipe' | 'write' | 'verify';

export interface FlashProgress extends ProgressEvent {
  stage: FlashPhase;
  device: string;
  etaSeconds: number | null;
}

export type FlashProgressSink = (event: FlashProgress) => void;

export const PROGRESS_INTERVAL_MS = 250;

export class ProgressMeter {
  private phase: FlashPhase = 'prepare';
  private total: number | null = null;
  private startedAt = 0;
  private lastEmit = 0;
  private done = 0;

  constructor(
    private readonly device: string,
    private readonly sink: FlashProgressSink,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(phase: FlashPhase, total: number | null): void {
    this.phase = phase;
    this.total = total;
    this.done = 0;
    this.startedAt = this.now();
    this.emit(true);
  }

  update(done: number, force = false): void {
    this.done = done;
    this.emit(force);
  }

  private emit(force: boolean): void {
    const t = this.now();
    if (!force && t - this.lastEmit < PROGRESS_INTERVAL_MS) return;
    this.lastEmit = t;
    const secs = (t - this.startedAt) / 1000;
    const bps = secs > 0 ? this.done / secs : 0;
    const eta = this.total !== null && bps > 0 ? Math.max(0, (this.total - this.done) / bps) : null;
    this.sink({
      stage: this.phase,
      done: this.done,
      total: this.total,
      unit: 'bytes',
      bytesPerSecond: Math.round(bps),
      etaSeconds: eta === null ? null : Math.round(eta * 10) / 10,
      detail: this.device,
      device: this.device,
    });
  }
}
