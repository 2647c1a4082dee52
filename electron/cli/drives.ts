// emt-usb drives: the drives this machine has and whether each may be written.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { listDrives } from '../flash/drive-list.ts';
import { judgeDrives } from '../flash/drive-policy.ts';
import { FlashError } from '../flash/flash-error.ts';
import { bool, parseArgs, str } from './args.ts';
import type { Command } from './command.ts';

const gb = (n: number | null): string => (n === null ? 'size ?' : `${(n / 1e9).toFixed(1)} GB`);

export const drivesCommand: Command = {
  name: 'drives',
  summary: 'list drives and whether each may be written',
  usage: `usage: emt-usb drives [--all] [--image FILE] [--json]

Lists drives (via drivelist) and the verdict of the drive policy for each:
system, virtual, read-only, size-less drives and the drive holding the image or
this program are never written. Without --all only removable/USB drives that may
be written are shown.
  --all          also show (and allow) fixed, non-USB drives, with every refusal reason
  --image FILE   judge sizes against this image (exact bytes)
  --json         one JSON document: [{drive, verdict}]`,
  async run(args, io) {
    const p = parseArgs(args, { all: 'bool', image: 'string', json: 'bool' });
    if (p.positionals.length > 0) throw new FlashError('USAGE', `unexpected argument ${p.positionals[0]}`);
    const showAll = bool(p, 'all');
    const image = str(p, 'image');
    let imageSize = 0;
    if (image) {
      try {
        imageSize = statSync(image).size;
      } catch {
        throw new FlashError('IMAGE_UNREADABLE', `${image}: cannot read the image`, image);
      }
    }
    const drives = await listDrives();
    const verdicts = judgeDrives(drives, {
      imageSize,
      showAll,
      ...(image ? { imagePath: resolve(image) } : {}),
      appPath: process.argv[1] ?? process.execPath,
    });
    const rows = drives.map((drive, i) => ({ drive, verdict: verdicts[i]! }));
    if (bool(p, 'json')) {
      io.out(JSON.stringify(showAll ? rows : rows.filter((r) => r.verdict.allowed), null, 2));
      return 0;
    }
    const shown = showAll ? rows : rows.filter((r) => r.verdict.allowed);
    for (const { drive, verdict } of shown) {
      const state = verdict.allowed
        ? verdict.needsConfirmation
          ? `ok, asks first: ${verdict.needsConfirmation.message}`
          : 'ok'
        : `refused: ${verdict.reasons.map((r) => r.code.toLowerCase()).join(', ')} (${verdict.reason.message})`;
      io.out(
        `${drive.device.padEnd(22)} ${gb(drive.size).padStart(9)}  ${drive.busType.padEnd(6)} ${drive.description || '-'}  [${state}]`,
      );
    }
    const hidden = rows.length - shown.length;
    if (shown.length === 0) io.out('no drive that may be written was found');
    if (hidden > 0)
      io.out(
        `(${hidden} more not shown: system, virtual, fixed or unusable drives; --all lists them with the reasons)`,
      );
    return 0;
  },
};
