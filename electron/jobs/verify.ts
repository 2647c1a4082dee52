// The verify job: does a stick (or image file) hold this image, byte for byte?
import { resolve } from 'node:path';
import type { FlashProgressValue, VerifyRequest, VerifyResult } from '../api.ts';
import { runVerifyJob } from '../flash/flash-session.ts';
import { checkInputFile, imageInput } from '../inputs/input-file.ts';
import { cancellable, type JobContext } from './job.ts';
import { RequestReader } from './request.ts';

export function parseVerify(raw: unknown): VerifyRequest {
  const r = RequestReader.of('verify', raw);
  const image = r.path('image');
  const device = r.path('device');
  const configImage = r.optPath('configImage');
  r.done();
  return { image, device, ...(configImage !== undefined ? { configImage } : {}) };
}

export async function verify(o: VerifyRequest, ctx: JobContext<FlashProgressValue>): Promise<VerifyResult> {
  await checkInputFile(o.image, imageInput(o.image));
  if (o.configImage) await checkInputFile(o.configImage, 'config image');
  return cancellable(ctx.signal, `verify of ${o.device}`, () =>
    runVerifyJob(
      {
        imagePath: resolve(o.image),
        device: o.device,
        ...(o.configImage ? { configImagePath: resolve(o.configImage) } : {}),
      },
      { signal: ctx.signal, onProgress: ctx.onProgress },
    ),
  );
}
