// The bootkit job: from the Bootkit OS build output (emt-bootkit.tar.gz) to the
// bootkit's vmlinuz + initramfs (+ the published tar.gz with `pack`).
//   check inputs and the output folder -> derive (scan, check, append, rename)
//   -> the tarball's sha256 when one was given
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { BootkitRequest, BootkitResult, ProgressValue } from '../api.ts';
import { BootkitError } from '../bootkit/errors.ts';
import { deriveBootkit } from '../bootkit/from-os-build.ts';
import { errnoMessage, InputError, UsageError } from '../errors.ts';
import { INJECT_EPOCH, readSourceDateEpoch } from '../inputs/epoch.ts';
import { checkInputFile } from '../inputs/input-file.ts';
import { checkNotAnInput, checkOutputFile } from '../inputs/output-path.ts';
import { checkFreeSpace } from '../iso/output.ts';
import { cancellable, type JobContext } from './job.ts';
import { RequestReader } from './request.ts';

/** The kernel and the dracut initramfs beside the rootfs copy, and slack. */
const FREE_MARGIN = 256 * 2 ** 20;
const TAG_RE = /^[A-Za-z0-9._+-]{1,64}$/;
const VERSION_RE = /^[A-Za-z0-9._+~-]{1,128}$/;

export function parseBootkit(raw: unknown): BootkitRequest {
  const r = RequestReader.of('bootkit', raw);
  const from = r.path('from');
  const out = r.path('out');
  const kernelVersion = r.optString('kernelVersion');
  const dropBoot = r.bool('dropBoot', false);
  const pack = r.bool('pack', false);
  const packTag = r.optString('packTag');
  const checkWhole = r.bool('checkWhole', false);
  const sha256 = r.optString('sha256');
  const sourceDateEpoch = r.optInteger('sourceDateEpoch');
  r.done();
  const req: BootkitRequest = {
    from,
    out,
    ...(kernelVersion !== undefined ? { kernelVersion } : {}),
    ...(dropBoot ? { dropBoot } : {}),
    ...(pack ? { pack } : {}),
    ...(packTag !== undefined ? { packTag } : {}),
    ...(checkWhole ? { checkWhole } : {}),
    ...(sha256 !== undefined ? { sha256 } : {}),
    ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
  };
  checkValues(req);
  return req;
}

/** Values the CLI and a request share the rules of. */
export function checkValues(o: BootkitRequest): void {
  if (o.kernelVersion !== undefined && !VERSION_RE.test(o.kernelVersion))
    throw new UsageError(`--kernel-version '${o.kernelVersion.slice(0, 40)}' is not a kernel version`);
  if (o.packTag !== undefined && !TAG_RE.test(o.packTag))
    throw new UsageError(`--tag '${o.packTag.slice(0, 40)}': use 1 to 64 of A-Z a-z 0-9 . _ + -`);
  if (o.packTag !== undefined && !o.pack)
    throw new UsageError('--tag names the --pack output: give --pack too');
  if (o.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(o.sha256))
    throw new UsageError('--sha256 must be 64 hex digits');
  if (o.sourceDateEpoch !== undefined)
    readSourceDateEpoch({ option: o.sourceDateEpoch }, INJECT_EPOCH, 'sourceDateEpoch');
}

/** The output folder: made when missing (not its parents), else a folder we can write. */
async function prepareOutDir(out: string): Promise<void> {
  try {
    const st = await stat(out);
    if (!st.isDirectory())
      throw new InputError(
        'OUT_NO_FOLDER',
        `--out ${out}: is not a folder (give a folder for the bootkit)`,
        out,
      );
  } catch (e) {
    if (e instanceof InputError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new InputError('OUT_UNWRITABLE', `--out ${out}: ${errnoMessage(e)}`, out);
    try {
      await mkdir(out);
    } catch (e2) {
      throw new InputError(
        'OUT_NO_FOLDER',
        `--out ${out}: cannot make the folder (${errnoMessage(e2)}; does ${dirname(resolve(out))} exist?)`,
        out,
      );
    }
  }
  // A probe file proves the folder takes files (read-only mounts, /proc).
  await checkOutputFile(resolve(out, '.emt-bootkit-probe'));
}

export async function bootkit(o: BootkitRequest, ctx: JobContext<ProgressValue>): Promise<BootkitResult> {
  checkValues(o);
  const sde =
    readSourceDateEpoch({ option: o.sourceDateEpoch, env: process.env.SOURCE_DATE_EPOCH }, INJECT_EPOCH) ?? 0;
  const { size } = await checkInputFile(o.from, 'Bootkit OS build output');
  await prepareOutDir(o.out);
  const copies = 1 + (o.dropBoot ? 1 : 0) + (o.pack ? 1 : 0);
  await checkFreeSpace(resolve(o.out, 'initramfs.img'), copies * size + FREE_MARGIN);
  const started = performance.now();
  return cancellable(ctx.signal, `bootkit into ${o.out}`, async () => {
    const r = await deriveBootkit({
      from: o.from,
      outDir: o.out,
      mtime: sde,
      ...(o.kernelVersion !== undefined ? { kernelVersion: o.kernelVersion } : {}),
      ...(o.dropBoot ? { dropBoot: true } : {}),
      ...(o.pack ? { packTag: o.packTag ?? '' } : {}),
      ...(o.checkWhole ? { checkWhole: true } : {}),
      ...(o.sha256 ? { hash: true } : {}),
      beforeCommit: async (outputs, tarballSha256) => {
        await checkNotAnInput(outputs, [o.from]);
        if (o.sha256 && tarballSha256 !== o.sha256.toLowerCase())
          throw new BootkitError(
            'SHA256_MISMATCH',
            `${o.from}: sha256 ${tarballSha256} is not the ${o.sha256.toLowerCase()} given (a damaged or other file)`,
            o.from,
          );
      },
      signal: ctx.signal,
      onProgress: ctx.onProgress,
    });
    return {
      ...r,
      integrity: integrityLine(o, r.scan.readWhole),
      seconds: (performance.now() - started) / 1000,
    };
  });
}

function integrityLine(o: BootkitRequest, readWhole: boolean): string {
  if (o.sha256) return 'the tarball matches the sha256 given';
  if (o.dropBoot) return 'the whole tarball was decoded and re-encoded (--drop-boot)';
  if (readWhole) return 'the whole gzip stream was decoded';
  return 'read up to /boot only: no checksum given (--sha256) and not decoded whole (--check-whole)';
}
