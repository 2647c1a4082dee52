// emt-usb flash: write an installer image to one or many sticks and verify them.
import type { FlashProgressValue, ProgressValue } from '../api.ts';
import { escapeControl, UsageError } from '../errors.ts';
import { flash } from '../jobs/flash.ts';
import { bool, type FlagSpec, isOptionName, list, parseArgs, str } from './args.ts';
import type { CliIo, CliSession, Command } from './command.ts';
import { formatProgress } from './flash-progress.ts';
import { bindStickOptions, flashTarget } from './stick-args.ts';

/** Flash progress for people: a redrawn line on a terminal, phase changes otherwise. */
export function flashProgress(io: CliIo, session: CliSession): (p: ProgressValue) => void {
  const lastStage = new Map<string, string>();
  return (e) => {
    const p = e as FlashProgressValue;
    if (session.json) return session.progress(p);
    // The per-stick config lines, before anything is written.
    if (p.stage === 'prepare' && p.detail) return io.err(escapeControl(p.detail));
    if (io.isTty) return process.stderr.write(`\r\x1b[K${escapeControl(formatProgress(p))}`);
    if (lastStage.get(p.device) !== p.stage || p.done === p.total) {
      lastStage.set(p.device, p.stage);
      io.err(escapeControl(formatProgress(p)));
    }
  };
}

const SPEC: FlagSpec = {
  device: 'list',
  config: 'string',
  'config-image': 'string',
  'password-file': 'string',
  yes: 'bool',
  'no-verify': 'bool',
  all: 'bool',
  json: 'bool',
  'log-dir': 'string',
  hostname: 'string',
  'static-ip': 'string',
  gateway: 'string',
  dns: 'string',
  stick: 'string',
};

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
  --password-file FILE  the user's password, one line of at most 256 characters
                 (plaintext or a $6$ hash); only its SHA-512 crypt hash is written
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
  --json         progress and the result as JSON lines on stdout (see README)
One line per device at the end: OK lines on stdout, REFUSED/FAILED/CANCELLED/MISMATCH
on stderr. Ctrl-C stops at the next 4 MiB boundary: a stick is then not usable; an
image file target is left as it was (it is written to a temp file and renamed).`,
  async run(args, io, session) {
    const valueFlags = new Set(Object.keys(SPEC).filter((k) => SPEC[k] !== 'bool'));
    // `--log-dir --json` is a forgotten value, not a folder named --json.
    for (const [i, a] of args.entries()) {
      if (a === '--') break;
      const next = args[i + 1];
      if (
        a.startsWith('--') &&
        !a.includes('=') &&
        valueFlags.has(a.slice(2)) &&
        next &&
        isOptionName(next, SPEC)
      )
        throw new UsageError(
          `option ${a} needs a value (got the option ${next}; write ${a}=VALUE for a value starting with --)`,
        );
    }
    const bound = bindStickOptions(args, valueFlags);
    const p = parseArgs(bound.rest, SPEC);
    const [image, extra] = p.positionals;
    if (!image) throw new UsageError('missing the image to write (emt-usb flash <image.iso> --device D)');
    if (extra) throw new UsageError(`unexpected argument ${extra}`);
    if (list(p, 'device').length === 0) throw new UsageError('missing --device (see emt-usb drives)');
    const configFile = str(p, 'config');
    const configImage = str(p, 'config-image');
    const passwordFile = str(p, 'password-file');
    const logDir = str(p, 'log-dir');
    const outcome = await flash(
      {
        image,
        targets: bound.sticks.map(flashTarget),
        verify: !bool(p, 'no-verify'),
        yes: bool(p, 'yes'),
        showAll: bool(p, 'all'),
        ...(configFile ? { config: configFile } : {}),
        ...(configImage ? { configImage } : {}),
        ...(passwordFile ? { passwordFile } : {}),
        ...(logDir ? { logDir } : {}),
      },
      { signal: session.signal, onProgress: flashProgress(io, session) },
    );
    if (io.isTty && !session.json) process.stderr.write('\n');
    session.result(outcome);
    if (!session.json) {
      // Errors go to stderr, so `2>/dev/null` leaves the successes and a script sees the rest.
      for (const r of outcome.results) {
        const line = `${r.status.toUpperCase().padEnd(9)} ${escapeControl(r.message)}`;
        if (r.status === 'ok') io.out(line);
        else io.err(line);
      }
      io.out(`log: ${outcome.logFile}`);
    }
    if (outcome.results.some((r) => r.status === 'cancelled')) return 130;
    return outcome.results.every((r) => r.status === 'ok') ? 0 : 2;
  },
};
