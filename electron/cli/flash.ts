// emt-usb flash: write an installer image to one or many sticks and verify them.
import { resolve } from 'node:path';
import { FlashError } from '../flash/flash-error.ts';
import { runFlashJob } from '../flash/flash-session.ts';
import { formatProgress } from '../flash/progress-line.ts';
import type { FlashProgress } from '../flash/progress-meter.ts';
import {
  bindStickOptions,
  describeStick,
  planStickConfigs,
  stageStickConfigs,
} from '../flash/stick-config.ts';
import { bool, type FlagSpec, list, parseArgs, str } from './args.ts';
import type { CliIo, Command } from './command.ts';

/** Progress for people: a redrawn line on a terminal, phase changes otherwise. */
export function progressPrinter(io: CliIo, json: boolean): (p: FlashProgress) => void {
  const lastStage = new Map<string, string>();
  return (p) => {
    if (json) return io.err(JSON.stringify({ progress: p }));
    if (io.isTty) return process.stderr.write(`\r\x1b[K${formatProgress(p)}`);
    if (lastStage.get(p.device) !== p.stage || p.done === p.total) {
      lastStage.set(p.device, p.stage);
      io.err(formatProgress(p));
    }
  };
}

export const flashCommand: Command = {
  name: 'flash',
  summary: 'write an installer image to USB sticks and verify them',
  usage: `usage: emt-usb flash <image.iso> --device D [per-stick values] [--device D2 [...]]
                     [--config FILE [--password-file FILE] | --config-image FILE]
                     [--yes] [--no-verify] [--all] [--json]

Writes the image to every device at once (one failing does not stop the others),
then reads each back past the page cache and compares it byte for byte (sha256).
Order: unmount, wipe the old partition tables, write from 1 MiB on, write the first
MiB last, fsync, verify. Needs administrator rights for devices: asks via pkexec
(Linux), UAC (Windows) or the authorization prompt (macOS) unless already root.
  --device D     a listed drive (see emt-usb drives), a loop device, or an image
                 file path (created or replaced); repeat for many sticks
  --config FILE  site config (JSON, YAML or a config-file): each stick gets its own
                 EMTCONFIG partition built from it (as build does), written at that
                 partition's GPT offset and covered by verify
  --password-file FILE  the user's password, one line (plaintext or a $6$ hash);
                 only its SHA-512 crypt hash is written to the sticks
  --config-image FILE  a ready EMTCONFIG partition image for every stick instead
Per-stick values (need --config) go right after the --device they are for:
  --hostname NAME       --static-ip A.B.C.D/PREFIX   --gateway A.B.C.D
  --dns A.B.C.D (repeat for more)   --stick NAME (an entry of the config's sticks list)
  e.g. emt-usb flash emt.iso --config site.yaml --password-file pw.txt
         --device \\\\.\\PhysicalDrive2 --hostname node-01 --static-ip 10.0.0.11/24
         --device \\\\.\\PhysicalDrive3 --hostname node-02 --static-ip 10.0.0.12/24
  Every value is checked before anything is written; a bad one writes nothing.
  --yes          confirm: loop devices and image files, and drives over 128 GB
  --all          WARNING: allows fixed, non-USB drives (internal disks!); the system
                 drive, virtual/read-only drives and the image's drive stay refused
  --no-verify    skip the read-back check
  --log-dir DIR  where the run's log goes (default ~/.cache/emt-usb/logs)
  --json         print the results as JSON; progress as JSON lines on stderr
Ctrl-C stops at the next 4 MiB boundary; the stick is then not usable.`,
  async run(args, io) {
    const spec: FlagSpec = {
      device: 'list',
      config: 'string',
      'config-image': 'string',
      'password-file': 'string',
      yes: 'bool',
      'no-verify': 'bool',
      all: 'bool',
      json: 'bool',
      'log-dir': 'string',
    };
    const valueFlags = new Set(Object.keys(spec).filter((k) => spec[k] !== 'bool'));
    const bound = bindStickOptions(args, valueFlags);
    const p = parseArgs(bound.rest, spec);
    const [image, extra] = p.positionals;
    if (!image)
      throw new FlashError('USAGE', 'missing the image to write (emt-usb flash <image.iso> --device D)');
    if (extra) throw new FlashError('USAGE', `unexpected argument ${extra}`);
    const devices = list(p, 'device');
    if (devices.length === 0) throw new FlashError('USAGE', 'missing --device (see emt-usb drives)');
    const json = bool(p, 'json');
    const configFile = str(p, 'config');
    const configImage = str(p, 'config-image');
    const passwordFile = str(p, 'password-file');
    if (configFile && configImage)
      throw new FlashError(
        'USAGE',
        'give --config (a site config) or --config-image (a ready image), not both',
      );
    const logDir = str(p, 'log-dir');
    // Every stick's EMTCONFIG image is built (and every value checked) before any write.
    const plan = await planStickConfigs({
      imagePath: resolve(image),
      ...(configFile ? { configFile: resolve(configFile) } : {}),
      ...(passwordFile ? { passwordFile: resolve(passwordFile) } : {}),
      sticks: bound.sticks,
    });
    if (!json) for (const img of plan.images) io.err(describeStick(img));
    const staged = plan.images.length > 0 ? await stageStickConfigs(plan) : null;
    const abort = new AbortController();
    const onSigint = () => {
      io.err('\ncancelling at the next buffer boundary...');
      abort.abort();
    };
    process.once('SIGINT', onSigint);
    try {
      const outcome = await runFlashJob(
        {
          imagePath: resolve(image),
          devices,
          verify: !bool(p, 'no-verify'),
          yes: bool(p, 'yes'),
          showAll: bool(p, 'all'),
          appPath: process.argv[1] ?? process.execPath,
          ...(configImage ? { configImagePath: resolve(configImage) } : {}),
          ...(staged ? { configImagePaths: staged.paths } : {}),
          ...(logDir ? { logDir: resolve(logDir) } : {}),
        },
        { signal: abort.signal, onProgress: progressPrinter(io, json) },
      );
      if (io.isTty && !json) process.stderr.write('\n');
      if (json) {
        const stickConfigs = plan.images.map((i) => ({
          device: i.device,
          serial: i.serial.toString(16).padStart(8, '0'),
          ...(i.override ? { override: i.override } : {}),
        }));
        io.out(JSON.stringify(stickConfigs.length > 0 ? { ...outcome, stickConfigs } : outcome, null, 2));
      } else {
        for (const r of outcome.results) io.out(`${r.status.toUpperCase().padEnd(9)} ${r.message}`);
        io.out(`log: ${outcome.logFile}`);
      }
      if (outcome.results.some((r) => r.status === 'cancelled')) return 130;
      return outcome.results.every((r) => r.status === 'ok') ? 0 : 2;
    } finally {
      process.off('SIGINT', onSigint);
      await staged?.cleanup();
    }
  },
};
