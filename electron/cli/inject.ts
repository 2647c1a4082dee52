// emt-usb inject: put installer-scripts/ into a bootkit's initramfs.
import type { InjectMode, OutputCodec, RootfsMode } from '../api.ts';
import { UsageError } from '../errors.ts';
import { INJECT_EPOCH, readSourceDateEpoch } from '../inputs/epoch.ts';
import { INJECT_MODES, inject, ROOTFS_MODES } from '../jobs/inject.ts';
import { parseArgs, required, str } from './args.ts';
import type { Command } from './command.ts';

const CODECS: OutputCodec[] = ['gzip', 'zstd', 'xz', 'none'];

const oneOf = <T extends string>(
  v: string | undefined,
  values: readonly T[],
  flag: string,
): T | undefined => {
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v))
    throw new UsageError(`${flag} must be ${values.slice(0, -1).join(', ')} or ${values.at(-1)}, got '${v}'`);
  return v as T;
};

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
    'modes exact, mtimes = SOURCE_DATE_EPOCH. The input is never changed (--out may not',
    'name it).',
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
    '                  compressed bytes and compresses only the new tail; recompress',
    '                  decodes and gzips it once (default: splice for fast, else recompress)',
    '  --source-date-epoch N   mtimes of our files, 0 to 4294967295 (cpio holds 8 hex',
    '                  digits; default $SOURCE_DATE_EPOCH or 0)',
    '  --kernel F      the kernel, only checked (vmlinuz + initramfs given apart)',
    '  --json          progress and the report as JSON lines (see README: --json)',
    '',
    'Writes to a temp file beside --out and renames it; on any error or Ctrl-C nothing',
    'is left.',
  ].join('\n'),
  async run(args, io, session) {
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
    const installerScripts = required(p, 'installer-scripts');
    const out = required(p, 'out');
    const mode: InjectMode = oneOf(str(p, 'mode'), INJECT_MODES, '--mode') ?? 'segment';
    const codec = oneOf(str(p, 'codec'), CODECS, '--codec');
    const rootfs: RootfsMode | undefined = oneOf(str(p, 'rootfs'), ROOTFS_MODES, '--rootfs');
    const sde = readSourceDateEpoch({ option: str(p, 'source-date-epoch') }, INJECT_EPOCH);
    const kernel = str(p, 'kernel');
    const r = await inject(
      {
        bootkit,
        installerScripts,
        out,
        mode,
        ...(kernel ? { kernel } : {}),
        ...(codec ? { codec } : {}),
        ...(rootfs ? { rootfs } : {}),
        ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
      },
      { signal: session.signal, onProgress: session.progress },
    );
    session.result(r);
    if (session.json) return 0;
    io.out(`wrote ${r.out}: ${r.size} bytes, sha256 ${r.sha256} (${r.mode} mode, ${r.seconds.toFixed(2)} s)`);
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
  },
};
