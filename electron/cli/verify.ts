// emt-usb verify: does a stick (or image file) hold this image, byte for byte?
import { resolve } from 'node:path';
import { FlashError } from '../flash/flash-error.ts';
import { runVerifyJob } from '../flash/flash-session.ts';
import { bool, parseArgs, required, str } from './args.ts';
import type { Command } from './command.ts';
import { progressPrinter } from './flash.ts';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check that a stick holds an image byte for byte',
  usage: `usage: emt-usb verify <image.iso> --device D [--config-image FILE] [--json]

Reads the device (or image file) back past the page cache (O_DIRECT, else after
dropping caches) and compares it with the image; prints the first differing
offset on a mismatch. Never writes.
  --config-image FILE  the per-stick EMTCONFIG partition image that was written with it
  --json               print the result as JSON`,
  async run(args, io) {
    const p = parseArgs(args, { device: 'string', 'config-image': 'string', json: 'bool' });
    const [image, extra] = p.positionals;
    if (!image) throw new FlashError('USAGE', 'missing the image (emt-usb verify <image.iso> --device D)');
    if (extra) throw new FlashError('USAGE', `unexpected argument ${extra}`);
    const config = str(p, 'config-image');
    const json = bool(p, 'json');
    const result = await runVerifyJob(
      {
        imagePath: resolve(image),
        device: required(p, 'device'),
        ...(config ? { configImagePath: resolve(config) } : {}),
      },
      { onProgress: progressPrinter(io, json) },
    );
    if (io.isTty && !json) process.stderr.write('\n');
    io.out(json ? JSON.stringify(result, null, 2) : result.message);
    return result.status === 'ok' ? 0 : 2;
  },
};
