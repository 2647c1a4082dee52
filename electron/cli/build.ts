// emt-usb build: bootkit + OS image + config -> installer ISO (+ .sha256), the
// same job the app runs. A progress bar on a terminal, JSON lines with --json.
import { UsageError } from '../errors.ts';
import type { EngineChoice } from '../iso/xorriso-engines.ts';
import { buildInstaller } from '../jobs/build.ts';
import type { ProgressEvent } from '../progress.ts';
import { bool, parseArgs, required, str } from './args.ts';
import type { Command } from './command.ts';

const ENGINES: EngineChoice[] = ['auto', 'wasm', 'native'];

export const buildCommand: Command = {
  name: 'build',
  summary: 'make the installer ISO from a bootkit, an OS image and a site config',
  usage: [
    'usage: emt-usb build --bootkit <tar.gz> | --kernel F --initramfs F',
    '                     --os-image F [--os-image-sha256 F] [--config F] [--password-file F]',
    '                     [--user-apps DIR] [--engine auto|wasm|native] [--bios] [--label L]',
    '                     [--cmdline "..."] [--source-date-epoch N] [--installer-scripts DIR]',
    '                     [--allow-missing-tools] [--recompress-rootfs] --out <iso> [--json]',
    '',
    'Runs inspect -> inject -> stage -> ESP/config images -> master and writes <iso> and',
    '<iso>.sha256. The ISO is a hybrid: write it raw to a stick (any dd-style writer) or',
    'boot it as a CD. What goes where:',
    '  /boot/vmlinuz, /boot/initrd.img   the kernel; the initramfs with installer-scripts/',
    '  /boot/grub/grub.cfg               required kernel parameters + console/USB + --cmdline',
    '  /EFI/BOOT/BOOTX64.EFI             GRUB (also in the ESP, GPT partition 2)',
    '  /images/<os image>(.sha256)       the OS image, referenced in place, never copied',
    '  /user-apps/...                    --user-apps, when given',
    '  /emt-installer.json               manifest: build id, versions, sha256 of every file',
    '  GPT partition 3 (FAT32 EMTCONFIG) the site config and the password hash',
    '',
    '  --os-image-sha256 F  sha256sum-style file: the build stops if the image differs',
    '  --password-file F    first line: a password (stored only as a SHA-512 crypt hash)',
    '                       or a $6$ hash; needs --config. A plaintext gets a random salt,',
    '                       so give the $6$ hash for byte-identical rebuilds',
    '  --engine E           xorriso engine: native (system xorriso), wasm (bundled),',
    '                       auto (native when installed); both give the same bytes',
    '  --bios               also boot on BIOS machines (GRUB El Torito + hybrid MBR)',
    '  --label L            ISO volume id, <= 32 of A-Z 0-9 _ (default EMT_INST_<date>)',
    '  --cmdline "..."      extra kernel parameters (the required ones always stay)',
    '  --source-date-epoch N  every date in the ISO (default $SOURCE_DATE_EPOCH, else now):',
    '                       the same inputs and N give the same ISO, byte for byte',
    '  --installer-scripts DIR  what runs on the edge node (default: installer-scripts/)',
    '  --allow-missing-tools    build even if the bootkit lacks a tool the installer needs',
    '  --recompress-rootfs  gzip the new rootfs.tar.gz whole (a little smaller, slower);',
    '                       by default the old compressed bytes are kept and only our',
    '                       files are deflated after them',
    '  --json               progress and the result as JSON lines on stdout',
    '',
    'Nothing is left behind on failure or Ctrl-C: the ISO is written to a temp file',
    'beside --out and renamed at the end.',
  ].join('\n'),
  async run(args, io) {
    const p = parseArgs(args, {
      bootkit: 'string',
      kernel: 'string',
      initramfs: 'string',
      'os-image': 'string',
      'os-image-sha256': 'string',
      config: 'string',
      'password-file': 'string',
      'user-apps': 'string',
      engine: 'string',
      bios: 'bool',
      label: 'string',
      cmdline: 'string',
      'source-date-epoch': 'string',
      'installer-scripts': 'string',
      'allow-missing-tools': 'bool',
      'recompress-rootfs': 'bool',
      out: 'string',
      json: 'bool',
    });
    if (p.positionals.length) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
    const engine = (str(p, 'engine') ?? 'auto') as EngineChoice;
    if (!ENGINES.includes(engine))
      throw new UsageError(`--engine must be auto, wasm or native, got '${engine}'`);
    const epoch = str(p, 'source-date-epoch');
    if (epoch !== undefined && !/^[0-9]+$/.test(epoch)) {
      throw new UsageError(`--source-date-epoch must be whole seconds since 1970, got '${epoch}'`);
    }
    const json = bool(p, 'json');
    const bar = json ? null : io.isTty ? progressBar() : null;
    const opt = (name: string) => str(p, name);

    // Ctrl-C cancels the job (which removes its temp files) instead of killing us mid-write.
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once('SIGINT', onSigint);
    try {
      const r = await buildInstaller({
        ...pick({
          bootkit: opt('bootkit'),
          kernel: opt('kernel'),
          initramfs: opt('initramfs'),
          osImageSha256: opt('os-image-sha256'),
          config: opt('config'),
          passwordFile: opt('password-file'),
          userApps: opt('user-apps'),
          label: opt('label'),
          cmdline: opt('cmdline'),
          installerScripts: opt('installer-scripts'),
        }),
        osImage: required(p, 'os-image'),
        out: required(p, 'out'),
        engine,
        bios: bool(p, 'bios'),
        allowMissingTools: bool(p, 'allow-missing-tools'),
        rootfsMode: bool(p, 'recompress-rootfs') ? 'recompress' : 'splice',
        ...(epoch !== undefined ? { sourceDateEpoch: Number(epoch) } : {}),
        onProgress: (e) => {
          if (json) io.out(JSON.stringify({ type: 'progress', ...e }));
          else bar?.(e);
        },
        signal: ac.signal,
      });
      bar?.(null);
      if (json) {
        io.out(
          JSON.stringify({
            type: 'result',
            iso: r.iso,
            sha256: r.sha256,
            size: r.size,
            sha256File: r.sha256File,
            engine: r.engine,
            seconds: r.seconds,
            stages: r.stages,
            missingTools: r.missingTools,
            manifest: r.manifest,
          }),
        );
        return 0;
      }
      if (r.missingTools.length) io.err(`warning: the bootkit lacks ${r.missingTools.join(', ')}`);
      io.out(`wrote ${r.iso} (${mib(r.size)}, label ${r.manifest.label}, build ${r.manifest.buildId})`);
      io.out(`sha256 ${r.sha256}  (${r.sha256File})`);
      io.out(
        `${r.seconds.toFixed(1)} s with ${r.engine} xorriso: ` +
          r.stages.map((s) => `${s.stage} ${s.seconds.toFixed(1)} s`).join(', '),
      );
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
      bar?.(null);
    }
  },
};

const pick = <T extends Record<string, string | undefined>>(o: T): { [K in keyof T]?: string } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: string };

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** One bar line for an event, e.g. `master  [#########-----------]  45%  120.0 MiB/s`. */
export function renderBar(e: ProgressEvent, bytesPerSecond: number | undefined, width = 24): string {
  const name = e.stage.padEnd(9);
  if (e.total === null || e.total <= 0) {
    const done = e.unit === 'bytes' ? mib(e.done) : e.done > 0 ? String(e.done) : '';
    return `${name} ${done}`.trimEnd();
  }
  const f = Math.min(1, Math.max(0, e.done / e.total));
  const fill = Math.round(f * width);
  const speed = e.unit === 'bytes' && bytesPerSecond ? `  ${mib(bytesPerSecond)}/s` : '';
  return `${name} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${String(Math.floor(f * 100)).padStart(3)}%${speed}`;
}

/** A redraw-in-place bar on stderr, at most 10 frames a second; null clears it. */
function progressBar(): (e: ProgressEvent | null) => void {
  let last = 0;
  let stage = '';
  let mark = { t: 0, done: 0 };
  let speed: number | undefined;
  return (e) => {
    if (e === null) {
      process.stderr.write('\r\x1b[K');
      return;
    }
    const now = Date.now();
    if (e.stage !== stage) {
      stage = e.stage;
      mark = { t: now, done: e.done };
      speed = undefined;
    } else if (now - mark.t >= 500) {
      speed = ((e.done - mark.done) * 1000) / (now - mark.t);
      mark = { t: now, done: e.done };
    }
    if (now - last < 100 && e.done !== e.total) return;
    last = now;
    process.stderr.write(`\r\x1b[K${renderBar(e, e.bytesPerSecond ?? speed)}`);
  };
}
