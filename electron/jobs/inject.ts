// The inject job: installer-scripts/ into a bootkit's initramfs (rootfs.tar.gz).
//   check inputs and output -> open the bootkit -> inject (temp + rename) -> clean up
import { stat } from 'node:fs/promises';
import type { InjectRequest, InjectResult, ProgressValue } from '../api.ts';
import { openBootkit } from '../bootkit/open.ts';
import { OUTPUT_CODECS } from '../initramfs/codecs.ts';
import { injectInitramfs } from '../initramfs/inject.ts';
import { INJECT_EPOCH, readSourceDateEpoch } from '../inputs/epoch.ts';
import { bootkitInput, checkInputFile, checkInputFolder } from '../inputs/input-file.ts';
import { checkNotAnInput, checkOutputFile } from '../inputs/output-path.ts';
import { checkFreeSpace } from '../iso/output.ts';
import { cancellable, type JobContext } from './job.ts';
import { RequestReader } from './request.ts';

/** Room for our scripts and the file system's own overhead. */
const FREE_MARGIN = 16 * 2 ** 20;

export const INJECT_MODES = ['fast', 'segment', 'single'] as const;
export const ROOTFS_MODES = ['splice', 'recompress'] as const;

export function parseInject(raw: unknown): InjectRequest {
  const r = RequestReader.of('inject', raw);
  const bootkit = r.path('bootkit');
  const kernel = r.optPath('kernel');
  const installerScripts = r.path('installerScripts');
  const out = r.path('out');
  const mode = r.optEnum('mode', INJECT_MODES);
  const codec = r.optEnum('codec', OUTPUT_CODECS);
  const rootfs = r.optEnum('rootfs', ROOTFS_MODES);
  const sourceDateEpoch = r.optInteger('sourceDateEpoch');
  r.done();
  if (sourceDateEpoch !== undefined)
    readSourceDateEpoch({ option: sourceDateEpoch }, INJECT_EPOCH, 'sourceDateEpoch');
  return {
    bootkit,
    installerScripts,
    out,
    ...(kernel !== undefined ? { kernel } : {}),
    ...(mode !== undefined ? { mode } : {}),
    ...(codec !== undefined ? { codec } : {}),
    ...(rootfs !== undefined ? { rootfs } : {}),
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
  };
}

export async function inject(o: InjectRequest, ctx: JobContext<ProgressValue>): Promise<InjectResult> {
  const sde =
    readSourceDateEpoch({ option: o.sourceDateEpoch, env: process.env.SOURCE_DATE_EPOCH }, INJECT_EPOCH) ?? 0;
  await checkInputFile(o.bootkit, bootkitInput(o.bootkit));
  if (o.kernel) await checkInputFile(o.kernel, bootkitInput(o.kernel));
  await checkInputFolder(o.installerScripts, 'installer scripts');
  await checkNotAnInput([o.out], [o.bootkit, o.kernel]);
  await checkOutputFile(o.out);
  return cancellable(ctx.signal, `inject into ${o.out}`, async () => {
    const bk = await openBootkit(o.kernel ? [o.kernel, o.bootkit] : [o.bootkit]);
    try {
      // The new rootfs.tar.gz and the new initramfs both sit beside --out until the rename.
      await checkFreeSpace(o.out, 2 * (await stat(bk.initramfs)).size + FREE_MARGIN);
      return await injectInitramfs({
        initramfs: bk.initramfs,
        displayName: bk.initramfsName,
        scriptsDir: o.installerScripts,
        out: o.out,
        mode: o.mode ?? 'segment',
        ...(o.codec ? { codec: o.codec } : {}),
        ...(o.rootfs ? { rootfsMode: o.rootfs } : {}),
        sourceDateEpoch: sde,
        onProgress: ctx.onProgress,
        signal: ctx.signal,
      });
    } finally {
      await bk.cleanup();
    }
  });
}
