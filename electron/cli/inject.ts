// emt-usb inject: put installer-scripts/ into a bootkit's initramfs.
import { openBootkit } from '../bootkit/open.ts';
import { UsageError } from '../errors.ts';
import { isOutputCodec } from '../initramfs/codecs.ts';
import { type InjectMode, injectInitramfs } from '../initramfs/inject.ts';
import type { ProgressEvent } from '../progress.ts';
import { bool, parseArgs, required, str } from './args.ts';
import type { Command } from './command.ts';

const MODES: InjectMode[] = ['fast', 'segment', 'single'];

export function parseEpoch(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v))
    throw new UsageError(`SOURCE_DATE_EPOCH must be a non-negative integer, got '${v}'`);
  return Number(v);
}

export const injectCommand: Command = {
  name: 'inject',
  summary: 'put the installer scripts into a bootkit initramfs (rootfs.tar.gz)',
  usage: [
    'usage: emt-usb inject --bootkit <tar.gz|initramfs> [--kernel F] --installer-scripts <dir>',
    '                      --out <initramfs> [--mode fast|segment|single]',
    '                      [--codec gzip|zstd|xz|none] [--rootfs splice|recompress]',
    '                      [--source-date-epoch N] [--json]',
    '',
    'Writes a new initramfs whose rootfs.tar.gz carries installer-scripts/ under',
    '/opt/emt-installer/, its unit in /etc/systemd/system/ enabled by a',
    'multi-user.target.wants link, and /etc/emt-installer/installer.conf; owners root,',
    'modes exact, mtimes = SOURCE_DATE_EPOCH. The input is never changed.',
    '',
    '  --mode segment  (default) segments without rootfs.tar.gz kept byte for byte; the',
    '                  one with it re-encoded in its own codec without it; the new',
    '                  rootfs.tar.gz appended as an uncompressed newc segment',
    '  --mode fast     the input byte for byte + that trailing segment; the new',
    '                  rootfs.tar.gz reuses the old compressed bytes (gzip splice)',
    '  --mode single   one compressed stream holding everything (like the shell',
    '                  workflow); early segments (microcode) still kept first',
    '  --codec C       output codec for --mode single (default: the input main codec);',
    '                  in segment mode, used for a main segment in a codec we cannot',
    '                  write (lz4, bzip2, lzma; default gzip)',
    '  --rootfs splice|recompress   how rootfs.tar.gz is rebuilt: splice keeps the old',
    '                  compressed bytes and compresses only the new tail (default);',
    '                  recompress decodes and gzips it once',
    '  --source-date-epoch N   mtimes of our files (default $SOURCE_DATE_EPOCH or 0)',
    '  --kernel F      the kernel, only checked (vmlinuz + initramfs given apart)',
    '  --json          print the report as one JSON object',
    '',
    'Writes to a temp file beside --out and renames it; on any error nothing is left.',
  ].join('\n'),
  async run(args, io) {
    const p = parseArgs(args, {
      bootkit: 'string',
      kernel: 'string',
      'installer-scripts': 'string',
      out: 'string',
      mode: 'string',
      codec: 'string',
      rootfs: 'string',
      'source-date-epoch': 'string',
      json: 'bool',
    });
    if (p.positionals.length) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
    const bootkit = required(p, 'bootkit');
    const scriptsDir = required(p, 'installer-scripts');
    const out = required(p, 'out');
    const mode = (str(p, 'mode') ?? 'segment') as InjectMode;
    if (!MODES.includes(mode)) throw new UsageError(`--mode must be fast, segment or single, got '${mode}'`);
    const codec = str(p, 'codec');
    if (codec !== undefined && !isOutputCodec(codec)) {
      throw new UsageError(`--codec must be gzip, zstd, xz or none, got '${codec}'`);
    }
    const rootfsMode = str(p, 'rootfs');
    if (rootfsMode !== undefined && rootfsMode !== 'splice' && rootfsMode !== 'recompress') {
      throw new UsageError(`--rootfs must be splice or recompress, got '${rootfsMode}'`);
    }
    const sde = parseEpoch(str(p, 'source-date-epoch') ?? process.env['SOURCE_DATE_EPOCH']) ?? 0;
    const kernel = str(p, 'kernel');
    const bk = await openBootkit(kernel ? [kernel, bootkit] : [bootkit]);
    try {
      let lastDraw = 0;
      const onProgress = (e: ProgressEvent) => {
        if (!io.isTty || bool(p, 'json')) return;
        const now = Date.now();
        if (now - lastDraw < 250) return;
        lastDraw = now;
        const pct = e.total ? ` ${Math.floor((100 * e.done) / e.total)}%` : '';
        process.stderr.write(`\r${e.stage}${pct}        `);
      };
      const r = await injectInitramfs({
        initramfs: bk.initramfs,
        displayName: bk.initramfsName,
        scriptsDir,
        out,
        mode,
        ...(codec ? { codec } : {}),
        ...(rootfsMode ? { rootfsMode } : {}),
        sourceDateEpoch: sde,
        onProgress,
      });
      if (io.isTty && !bool(p, 'json')) process.stderr.write('\r\x1b[K');
      if (bool(p, 'json')) {
        io.out(JSON.stringify(r, null, 2));
        return 0;
      }
      io.out(
        `wrote ${r.out}: ${r.size} bytes, sha256 ${r.sha256} (${r.mode} mode, ${r.seconds.toFixed(2)} s)`,
      );
      for (const s of r.segments) {
        io.out(
          `  at ${String(s.offset).padEnd(10)} ${String(s.length).padEnd(10)} ${s.codec.padEnd(5)} ${s.source}`,
        );
      }
      io.out(
        `  rootfs.tar.gz: ${r.rootfs.oldSize} -> ${r.rootfs.size} bytes (${r.rootfs.mode}), added ${r.rootfs.entriesAdded.length} entries`,
      );
      if (r.note) io.out(`  note: ${r.note}`);
      return 0;
    } finally {
      await bk.cleanup();
    }
  },
};
