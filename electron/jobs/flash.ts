// The flash job: one image to one or many sticks, each with its own EMTCONFIG
// partition when a site config is given, written and verified.
//   check inputs -> plan every stick's config (all values checked, nothing
//   written yet) -> stage them -> write + verify (in-process or elevated) -> clean up
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { FlashProgressValue, FlashRequest, FlashResult, FlashTarget } from '../api.ts';
import { checkPassword } from '../config/password-file.ts';
import { UsageError } from '../errors.ts';
import { listDrives } from '../flash/drive-list.ts';
import { judgeDrive } from '../flash/drive-policy.ts';
import { FlashError } from '../flash/flash-error.ts';
import { runFlashJob } from '../flash/flash-session.ts';
import {
  describeStick,
  planStickConfigs,
  type StickConfigPlan,
  type StickSpec,
  stageStickConfigs,
} from '../flash/stick-config.ts';
import { resolveTarget } from '../flash/targets.ts';
import { checkInputFile, imageInput } from '../inputs/input-file.ts';
import { checkConfigPartitionImage, checkConfigPartitionImageSize } from '../iso/config-partition-image.ts';
import { loadConfigSource } from './config-source.ts';
import { appPath } from './drives.ts';
import { cancellable, type JobContext } from './job.ts';
import { RequestReader } from './request.ts';

export const MAX_TARGETS = 32;

export function parseFlash(raw: unknown): FlashRequest {
  const r = RequestReader.of('flash', raw);
  const image = r.path('image');
  const targets = r.list('targets', 1, MAX_TARGETS, (t): FlashTarget => {
    const device = t.path('device');
    const stick = t.optString('stick');
    const hostname = t.optString('hostname');
    const staticIp = t.optString('staticIp');
    const gateway = t.optString('gateway');
    const dns = t.optStringList('dns', 8);
    return {
      device,
      ...(stick !== undefined ? { stick } : {}),
      ...(hostname !== undefined ? { hostname } : {}),
      ...(staticIp !== undefined ? { staticIp } : {}),
      ...(gateway !== undefined ? { gateway } : {}),
      ...(dns !== undefined ? { dns } : {}),
    };
  });
  const config = r.optPath('config');
  const siteConfig = r.optJsonObject('siteConfig');
  const passwordFile = r.optPath('passwordFile');
  const password = r.optString('password');
  const configImage = r.optPath('configImage');
  const verify = r.requiredBool('verify');
  const yes = r.requiredBool('yes');
  const showAll = r.requiredBool('showAll');
  const logDir = r.optPath('logDir');
  r.done();
  if (password !== undefined) checkPassword(password, 'flash: password');
  return {
    image,
    targets,
    verify,
    yes,
    showAll,
    ...(config !== undefined ? { config } : {}),
    ...(siteConfig !== undefined ? { siteConfig } : {}),
    ...(passwordFile !== undefined ? { passwordFile } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(configImage !== undefined ? { configImage } : {}),
    ...(logDir !== undefined ? { logDir } : {}),
  };
}

const stickSpec = (t: FlashTarget): StickSpec => ({
  device: t.device,
  options: {
    ...(t.stick !== undefined ? { stick: t.stick } : {}),
    ...(t.hostname !== undefined ? { hostname: t.hostname } : {}),
    ...(t.staticIp !== undefined ? { 'static-ip': t.staticIp } : {}),
    ...(t.gateway !== undefined ? { gateway: t.gateway } : {}),
    ...(t.dns !== undefined && t.dns.length > 0 ? { dns: t.dns.join(',') } : {}),
  },
});

/** A ready EMTCONFIG image is checked whole before anything is written; its size first. */
async function checkConfigImage(file: string): Promise<void> {
  const { size } = await checkInputFile(file, 'config image');
  checkConfigPartitionImageSize(size, file);
  await checkConfigPartitionImage(await readFile(file), file);
}

/** Checks the inputs and builds every stick's EMTCONFIG image (nothing is written yet). */
export async function planFlash(o: FlashRequest): Promise<StickConfigPlan> {
  if (o.config !== undefined && o.siteConfig !== undefined)
    throw new UsageError('give a config file or the config values, not both');
  if ((o.config !== undefined || o.siteConfig !== undefined) && o.configImage !== undefined)
    throw new FlashError(
      'USAGE',
      'give --config (a site config) or --config-image (a ready image), not both',
    );
  if (o.passwordFile !== undefined && o.password !== undefined)
    throw new UsageError('give a password file or a password, not both');
  await checkInputFile(o.image, imageInput(o.image));
  if (o.configImage) await checkConfigImage(o.configImage);
  const loaded = o.siteConfig ? await loadConfigSource({ values: o.siteConfig }) : undefined;
  return planStickConfigs({
    imagePath: resolve(o.image),
    ...(o.config ? { configFile: resolve(o.config) } : {}),
    ...(loaded ? { loaded } : {}),
    ...(o.passwordFile ? { passwordFile: resolve(o.passwordFile) } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    sticks: o.targets.map(stickSpec),
  });
}

export async function flash(
  o: FlashRequest,
  ctx: JobContext<FlashProgressValue>,
  planned?: StickConfigPlan,
): Promise<FlashResult> {
  const plan = planned ?? (await planFlash(o));
  for (const img of plan.images)
    ctx.onProgress({
      stage: 'prepare',
      device: img.device,
      done: 0,
      total: null,
      etaSeconds: null,
      detail: describeStick(img),
    });
  const staged = plan.images.length > 0 ? await stageStickConfigs(plan) : null;
  try {
    const outcome = await cancellable(ctx.signal, 'flash', () =>
      runFlashJob(
        {
          imagePath: resolve(o.image),
          devices: o.targets.map((t) => t.device),
          verify: o.verify,
          yes: o.yes,
          showAll: o.showAll,
          appPath: appPath(),
          ...(o.configImage ? { configImagePath: resolve(o.configImage) } : {}),
          ...(staged ? { configImagePaths: staged.paths } : {}),
          ...(o.logDir ? { logDir: resolve(o.logDir) } : {}),
        },
        { signal: ctx.signal, onProgress: ctx.onProgress },
      ),
    );
    return {
      ...outcome,
      stickConfigs: plan.images.map((i) => ({
        device: i.device,
        serial: i.serial.toString(16).padStart(8, '0'),
        ...(i.override ? { override: i.override } : {}),
      })),
    };
  } finally {
    await staged?.cleanup();
  }
}

/**
 * The app's gate (main and the UI test bridge): every target is judged by the
 * drive policy before anything starts, so a crafted request naming a refused
 * drive, or an unconfirmed one, ends as an error and writes nothing.
 */
export async function checkTargetsAllowed(
  o: FlashRequest,
  list: () => Promise<import('../flash/drive-list.ts').Drive[]> = listDrives,
): Promise<void> {
  const { size: imageSize } = await checkInputFile(o.image, imageInput(o.image));
  for (const t of o.targets) {
    const target = await resolveTarget(t.device, list);
    const verdict = judgeDrive(target.drive, {
      imagePath: resolve(o.image),
      imageSize,
      showAll: o.showAll,
      appPath: appPath(),
    });
    if (!verdict.allowed) throw new FlashError('REFUSED', verdict.reason.message, t.device);
    if (verdict.needsConfirmation && !o.yes)
      throw new FlashError('NOT_CONFIRMED', `${verdict.needsConfirmation.message} (not confirmed)`, t.device);
  }
}
