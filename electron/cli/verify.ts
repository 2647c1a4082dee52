// emt-usb verify: does a stick (or image file) hold this image, byte for byte?
import { UsageError } from '../errors.ts';
import { verify } from '../jobs/verify.ts';
import { bool, parseArgs, required, str } from './args.ts';
import type { Command } from './command.ts';
import { flashProgress } from './flash.ts';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check that a stick holds an image byte for byte',
  usage: `usage: emt-usb verify <image.iso> --device D [--config-image FILE] [--json]

Reads the device (or image file) back past the page cache (O_DIRECT, else after
dropping caches) and compares it with the image; prints the first differing
offset on a mismatch. Never writes.
  --config-image FILE  the per-stick EMTCONFIG partition image that was written with it
  --json               progress and the result as JSON lines (see README: --json)`,
  async run(args, io, session) {
    const p = parseArgs(args, { device: 'string', 'config-image': 'string', json: 'bool' });
    const [image, extra] = p.positionals;
    if (!image) throw new UsageError('missing the image (emt-usb verify <image.iso> --device D)');
    if (extra) throw new UsageError(`unexpected argument ${extra}`);
    const configImage = str(p, 'config-image');
    const result = await verify(
      { image, device: required(p, 'device'), ...(configImage ? { configImage } : {}) },
      { signal: session.signal, onProgress: flashProgress(io, session) },
    );
    if (io.isTty && !bool(p, 'json')) process.stderr.write('\n');
    session.result(result);
    if (!session.json) (result.status === 'ok' ? io.out : io.err)(result.message);
    return result.status === 'ok' ? 0 : 2;
  },
};
