// The os-image job: the OS image's size and the checksum file published beside it
// (`<image>.sha256` or `<image>.sha256sum`), read and matched to the image's name.
// The bytes are hashed by build (while the other stages run), not here.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { OsImageRequest, OsImageResult, ProgressValue } from '../api.ts';
import { checkInputFile } from '../inputs/input-file.ts';
import { readSha256File } from '../iso/os-image.ts';
import type { JobContext } from './job.ts';
import { RequestReader } from './request.ts';

export function parseOsImage(raw: unknown): OsImageRequest {
  const r = RequestReader.of('os-image', raw);
  const path = r.path('path');
  r.done();
  return { path };
}

export const CHECKSUM_SUFFIXES = ['.sha256', '.sha256sum'] as const;

export async function osImage(o: OsImageRequest, _ctx: JobContext<ProgressValue>): Promise<OsImageResult> {
  const { size } = await checkInputFile(o.path, 'OS image');
  for (const suffix of CHECKSUM_SUFFIXES) {
    const file = `${o.path}${suffix}`;
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) continue;
    return {
      path: o.path,
      size,
      checksumFile: file,
      expectedSha256: await readSha256File(file, basename(o.path)),
    };
  }
  return { path: o.path, size, checksumFile: null, expectedSha256: null };
}
