// emt-usb drives: the drives this machine has and whether each may be written.
import { UsageError } from '../errors.ts';
import { drives } from '../jobs/drives.ts';
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
  --json         the result as JSON lines: {type: "result", drives: [{drive, verdict}]}`,
  async run(args, io, session) {
    const p = parseArgs(args, { all: 'bool', image: 'string', json: 'bool' });
    if (p.positionals.length > 0) throw new UsageError(`unexpected argument ${p.positionals[0]}`);
    const showAll = bool(p, 'all');
    const image = str(p, 'image');
    const r = await drives(
      { showAll, ...(image ? { image } : {}) },
      { signal: session.signal, onProgress: session.progress },
    );
    const shown = showAll ? r.drives : r.drives.filter((d) => d.verdict.allowed);
    session.result({ drives: shown });
    if (session.json) return 0;
    for (const { drive, verdict } of shown) {
      const state = verdict.allowed
        ? verdict.needsConfirmation
          ? `ok, asks first: ${verdict.needsConfirmation.message}`
          : 'ok'
        : `refused: ${verdict.reasons.map((x) => x.code.toLowerCase()).join(', ')} (${verdict.reason.message})`;
      io.out(
        `${drive.device.padEnd(22)} ${gb(drive.size).padStart(9)}  ${drive.busType.padEnd(6)} ${drive.description || '-'}  [${state}]`,
      );
    }
    const hidden = r.drives.length - shown.length;
    if (shown.length === 0) io.out('no drive that may be written was found');
    if (hidden > 0)
      io.out(
        `(${hidden} more not shown: system, virtual, fixed or unusable drives; --all lists them with the reasons)`,
      );
    return 0;
  },
};
