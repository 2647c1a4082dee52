// What crosses the channel between the app and the elevated writer, with
// runtime validation on both sides: neither trusts the other's bytes.
import { FlashError } from './flash-error.ts';
import type { FlashPhase, FlashProgress } from './progress-meter.ts';
import type { FlashOutcome, FlashRequest, TargetResult, TargetStatus, VerifyRequest } from './writer.ts';

export type WriterJob = { kind: 'flash'; request: FlashRequest } | { kind: 'verify'; request: VerifyRequest };

export type ParentMessage = { type: 'start'; job: WriterJob } | { type: 'cancel' } | { type: 'heartbeat' };

export type WriterMessage =
  | { type: 'hello'; token: string; pid: number }
  | { type: 'heartbeat' }
  | { type: 'progress'; event: FlashProgress }
  | { type: 'log'; line: string }
  | { type: 'flashed'; outcome: FlashOutcome }
  | { type: 'verified'; result: TargetResult }
  | { type: 'failed'; error: { code: string; message: string } };

const bad = (what: string): never => {
  throw new FlashError('CHANNEL_BAD_MESSAGE', `writer channel: invalid message (${what})`);
};

type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : bad(`${what} is not an object`);
const str = (o: Obj, k: string, optional = false): string | undefined => {
  const v = o[k];
  if (v === undefined && optional) return undefined;
  return typeof v === 'string' && v.length < 4096 ? v : bad(`${k} is not a string`);
};
const num = (o: Obj, k: string, nullable = false): number | null => {
  const v = o[k];
  if (v === null && nullable) return null;
  return typeof v === 'number' && Number.isFinite(v) ? v : bad(`${k} is not a number`);
};
const boolean = (o: Obj, k: string): boolean =>
  typeof o[k] === 'boolean' ? (o[k] as boolean) : bad(`${k} is not a boolean`);
const optional = <T>(o: Obj, k: string, f: () => T): T | undefined => (o[k] === undefined ? undefined : f());
const errorShape = (v: unknown) => {
  const e = obj(v, 'error');
  return { code: str(e, 'code')!, message: str(e, 'message')! };
};

function flashRequest(v: unknown): FlashRequest {
  const o = obj(v, 'request');
  const devices = o.devices;
  if (
    !Array.isArray(devices) ||
    devices.length === 0 ||
    devices.length > 64 ||
    !devices.every((d) => typeof d === 'string')
  )
    bad('devices');
  const r: FlashRequest = {
    imagePath: str(o, 'imagePath')!,
    devices: devices as string[],
    verify: boolean(o, 'verify'),
    yes: boolean(o, 'yes'),
    showAll: boolean(o, 'showAll'),
  };
  const cfg = str(o, 'configImagePath', true);
  if (cfg !== undefined) r.configImagePath = cfg;
  const cfgs = o.configImagePaths;
  if (cfgs !== undefined) {
    if (
      !Array.isArray(cfgs) ||
      cfgs.length !== r.devices.length ||
      !cfgs.every((c) => typeof c === 'string' && c.length < 4096)
    )
      bad('configImagePaths');
    r.configImagePaths = cfgs as string[];
  }
  const large = optional(o, 'largeDriveBytes', () => num(o, 'largeDriveBytes')!);
  if (large !== undefined) r.largeDriveBytes = large;
  const app = str(o, 'appPath', true);
  if (app !== undefined) r.appPath = app;
  const logDir = str(o, 'logDir', true);
  if (logDir !== undefined) r.logDir = logDir;
  return r;
}

function verifyRequest(v: unknown): VerifyRequest {
  const o = obj(v, 'request');
  const r: VerifyRequest = { imagePath: str(o, 'imagePath')!, device: str(o, 'device')! };
  const cfg = str(o, 'configImagePath', true);
  if (cfg !== undefined) r.configImagePath = cfg;
  const logDir = str(o, 'logDir', true);
  if (logDir !== undefined) r.logDir = logDir;
  return r;
}

const PHASES: FlashPhase[] = ['prepare', 'unmount', 'wipe', 'write', 'verify'];
const STATUSES: TargetStatus[] = ['ok', 'refused', 'failed', 'cancelled', 'mismatch'];

function progress(v: unknown): FlashProgress {
  const o = obj(v, 'event');
  const stage = str(o, 'stage') as FlashPhase;
  if (!PHASES.includes(stage)) bad('stage');
  return {
    stage,
    device: str(o, 'device')!,
    done: num(o, 'done')!,
    total: num(o, 'total', true),
    unit: 'bytes',
    bytesPerSecond: num(o, 'bytesPerSecond')!,
    etaSeconds: num(o, 'etaSeconds', true),
    detail: str(o, 'device')!,
  };
}

function targetResult(v: unknown): TargetResult {
  const o = obj(v, 'result');
  const status = str(o, 'status') as TargetStatus;
  if (!STATUSES.includes(status)) bad('status');
  const sha = o.sha256 === null ? null : str(o, 'sha256')!;
  const verified = o.verified === null ? null : boolean(o, 'verified');
  const r: TargetResult = {
    device: str(o, 'device')!,
    status,
    imageSize: num(o, 'imageSize')!,
    bytesWritten: num(o, 'bytesWritten')!,
    sha256: sha,
    verified,
    seconds: num(o, 'seconds')!,
    message: str(o, 'message')!,
  };
  const rb = str(o, 'readBackSha256', true);
  if (rb !== undefined) r.readBackSha256 = rb;
  const fd = optional(o, 'firstDifference', () => num(o, 'firstDifference')!);
  if (fd !== undefined) r.firstDifference = fd;
  if (o.error !== undefined) r.error = errorShape(o.error);
  return r;
}

export function parseParentMessage(v: unknown): ParentMessage {
  const o = obj(v, 'message');
  switch (o.type) {
    case 'start': {
      const j = obj(o.job, 'job');
      if (j.kind === 'flash')
        return { type: 'start', job: { kind: 'flash', request: flashRequest(j.request) } };
      if (j.kind === 'verify')
        return { type: 'start', job: { kind: 'verify', request: verifyRequest(j.request) } };
      return bad('job kind');
    }
    case 'cancel':
    case 'heartbeat':
      return { type: o.type };
    default:
      return bad(`type ${String(o.type)}`);
  }
}

export function parseWriterMessage(v: unknown): WriterMessage {
  const o = obj(v, 'message');
  switch (o.type) {
    case 'hello':
      return { type: 'hello', token: str(o, 'token')!, pid: num(o, 'pid')! };
    case 'heartbeat':
      return { type: 'heartbeat' };
    case 'progress':
      return { type: 'progress', event: progress(o.event) };
    case 'log':
      return { type: 'log', line: str(o, 'line')! };
    case 'flashed': {
      const out = obj(o.outcome, 'outcome');
      if (!Array.isArray(out.results)) bad('results');
      return {
        type: 'flashed',
        outcome: { results: (out.results as unknown[]).map(targetResult), logFile: str(out, 'logFile')! },
      };
    }
    case 'verified':
      return { type: 'verified', result: targetResult(o.result) };
    case 'failed':
      return { type: 'failed', error: errorShape(o.error) };
    default:
      return bad(`type ${String(o.type)}`);
  }
}
