// The preview jobs: what an installer image holds (preview), what changed from
// another one (preview-diff), and booting it in a VM (preview-vm). The input is
// only ever read; a VM gets it as a snapshot or a read-only CD.
import { stat } from 'node:fs/promises';
import type {
  PreviewDiffRequest,
  PreviewDiffResult,
  PreviewRequest,
  PreviewResult,
  PreviewVmRequest,
  PreviewVmResult,
  ProgressValue,
} from '../api.ts';
import { BadRequestError, errnoMessage, InputError } from '../errors.ts';
import { kindOf } from '../inputs/input-file.ts';
import { diffPreviews } from '../preview/diff.ts';
import { looksLikeIso, previewImage } from '../preview/preview.ts';
import { runVm } from '../preview/vm.ts';
import { cancellable, type JobContext } from './job.ts';
import { RequestReader } from './request.ts';

/** An image file or a block device (a stick), nothing else. */
async function checkImageInput(path: string): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'ENOENT' || code === 'ENOTDIR' ? 'NOT_FOUND' : 'READ_FAILED',
      `${path}: ${errnoMessage(e)}`,
      path,
    );
  }
  if (!st.isFile() && !st.isBlockDevice())
    throw new InputError(
      'NOT_A_FILE',
      `${path}: is ${kindOf(st)}, not an image file or a block device`,
      path,
    );
}

export function parsePreview(raw: unknown): PreviewRequest {
  const r = RequestReader.of('preview', raw);
  const input = r.path('input');
  const verify = r.bool('verify', false);
  r.done();
  return { input, verify };
}

export async function preview(o: PreviewRequest, ctx: JobContext<ProgressValue>): Promise<PreviewResult> {
  await checkImageInput(o.input);
  return cancellable(ctx.signal, `preview of ${o.input}`, async () => {
    const p = await previewImage(o.input, {
      verify: o.verify ?? false,
      signal: ctx.signal,
      onProgress: ctx.onProgress,
    });
    return p.report;
  });
}

export function parsePreviewDiff(raw: unknown): PreviewDiffRequest {
  const r = RequestReader.of('preview-diff', raw);
  const input = r.path('input');
  const against = r.path('against');
  r.done();
  return { input, against };
}

export async function previewDiff(
  o: PreviewDiffRequest,
  ctx: JobContext<ProgressValue>,
): Promise<PreviewDiffResult> {
  await checkImageInput(o.input);
  await checkImageInput(o.against);
  return cancellable(ctx.signal, `preview of ${o.input} against ${o.against}`, async () => {
    const a = await previewImage(o.input, { signal: ctx.signal, onProgress: ctx.onProgress });
    const b = await previewImage(o.against, { signal: ctx.signal, onProgress: ctx.onProgress });
    return { a: o.input, b: o.against, changes: diffPreviews(a, b) };
  });
}

export function parsePreviewVm(raw: unknown): PreviewVmRequest {
  const r = RequestReader.of('preview-vm', raw);
  const input = r.path('input');
  const bios = r.bool('bios', false);
  const cdrom = r.bool('cdrom', false);
  const diskSizeGiB = r.optInteger('diskSizeGiB');
  const keep = r.bool('keep', false);
  r.done();
  if (diskSizeGiB !== undefined && (diskSizeGiB < 1 || diskSizeGiB > 4096))
    throw new BadRequestError(`preview-vm: diskSizeGiB must be 1 to 4096 (got ${diskSizeGiB})`);
  return { input, bios, cdrom, keep, ...(diskSizeGiB !== undefined ? { diskSizeGiB } : {}) };
}

export async function previewVm(
  o: PreviewVmRequest,
  ctx: JobContext<ProgressValue>,
): Promise<PreviewVmResult> {
  await checkImageInput(o.input);
  return runVm({
    image: o.input,
    bios: o.bios ?? false,
    cdrom: o.cdrom ?? false,
    keep: o.keep ?? false,
    ...(o.diskSizeGiB !== undefined ? { diskSizeGiB: o.diskSizeGiB } : {}),
    signal: ctx.signal,
    onSerial: (chunk) =>
      ctx.onProgress({ stage: 'serial', done: 0, total: null, detail: chunk.toString('utf8') }),
    onInfo: (line) => ctx.onProgress({ stage: 'vm', done: 0, total: null, detail: line }),
  });
}

/** `inspect` answers with a preview when given an ISO (or a stick holding one). */
export async function isInstallerImage(inputs: string[]): Promise<boolean> {
  return inputs.length === 1 && (await looksLikeIso(inputs[0]!));
}
