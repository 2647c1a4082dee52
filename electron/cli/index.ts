// Headless CLI: the same engine as the desktop app. Each sub-command lives in
// its own module; this file only dispatches and turns errors into exit codes.
import { AppLog } from '../app-log.ts';
import { errorValue, escapeControl, isCancelled } from '../errors.ts';
import type { CliIo, CliSession, Command } from './command.ts';
import { progressBar } from './progress-bar.ts';

// Sub-commands register here: name, one-line summary, and a lazy loader, so
// `emt-usb --help` or one command does not load every other command's engine.
interface Entry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}
export const commands: Entry[] = [
  {
    name: 'inspect',
    summary: 'report kernel, initramfs segments, rootfs.tar.gz and required tools of a bootkit',
    load: async () => (await import('./inspect.ts')).inspectCommand,
  },
  {
    name: 'inject',
    summary: 'put the installer scripts into a bootkit initramfs (rootfs.tar.gz)',
    load: async () => (await import('./inject.ts')).injectCommand,
  },
  {
    name: 'bootkit',
    summary: 'make a bootkit (vmlinuz + initramfs) from the Bootkit OS build output',
    load: async () => (await import('./bootkit.ts')).bootkitCommand,
  },
  {
    name: 'build',
    summary: 'make the installer ISO from a bootkit, an OS image and a site config',
    load: async () => (await import('./build.ts')).buildCommand,
  },
  {
    name: 'drives',
    summary: 'list drives and whether each may be written',
    load: async () => (await import('./drives.ts')).drivesCommand,
  },
  {
    name: 'flash',
    summary: 'write an installer image to USB sticks and verify them',
    load: async () => (await import('./flash.ts')).flashCommand,
  },
  {
    name: 'verify',
    summary: 'check that a stick holds an image byte for byte',
    load: async () => (await import('./verify.ts')).verifyCommand,
  },
  {
    name: 'preview',
    summary: 'show what an installer ISO, stick image or stick holds; diff two; boot one in a VM',
    load: async () => (await import('./preview.ts')).previewCommand,
  },
  {
    name: 'config',
    summary: 'check a site config (JSON, YAML or config-file) and convert between formats',
    load: async () => (await import('./config.ts')).configCommand,
  },
];

function help(io: CliIo): void {
  io.out('emt-usb: build Edge Microvisor Toolkit Standalone Node USB installers');
  io.out('');
  io.out('usage: emt-usb <command> [options]   (emt-usb <command> --help for details)');
  io.out('');
  for (const c of commands) io.out(`  ${c.name.padEnd(10)} ${c.summary}`);
}

export interface MainOptions {
  /** Where a bug's stack goes (default: the CLI log in the state folder). */
  log?: AppLog;
  /** Listen for SIGINT/SIGTERM (the real process; tests may send them too). */
  signals?: boolean;
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
type CliSignal = keyof typeof SIGNAL_EXIT;

/** --json anywhere before a `--` separator. */
const wantsJson = (args: string[]): boolean => {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
};

export async function main(argv: string[], io: CliIo = defaultIo(), opts: MainOptions = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    help(io);
    return name ? 0 : 2;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    io.err(`emt-usb: unknown command '${escapeControl(name)}' (try emt-usb --help)`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  const json = wantsJson(rest);
  // Ctrl-C or SIGTERM aborts the job's signal: it stops at its next check and
  // removes its temp files; we then exit 130/143. A second one stops at once.
  const ac = new AbortController();
  let caught: CliSignal | null = null;
  const onSignal = (sig: CliSignal) => {
    if (caught) process.exit(SIGNAL_EXIT[sig]);
    caught = sig;
    if (!json) io.err(`\nemt-usb ${name}: ${sig}: stopping and cleaning up...`);
    ac.abort();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  if (opts.signals !== false) {
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  }
  const bar = !json && io.isTty ? progressBar((s) => process.stderr.write(s)) : null;
  const session: CliSession = {
    signal: ac.signal,
    json,
    progress: (e) => {
      if (json) io.out(JSON.stringify({ type: 'progress', ...e }));
      else bar?.(e);
    },
    result: (value) => {
      bar?.(null);
      if (json) io.out(JSON.stringify({ type: 'result', ...value }));
    },
  };
  try {
    const code = await command.run(rest, io, session);
    bar?.(null);
    return caught ? SIGNAL_EXIT[caught as CliSignal] : code;
  } catch (e) {
    bar?.(null);
    const log = opts.log ?? AppLog.for('cli');
    const v = errorValue(e, (x) => log.internalError(x, `emt-usb ${name} ${rest.join(' ')}`));
    if (json) io.out(JSON.stringify({ type: 'error', error: v }));
    // One line, naming the file and the problem; scripts match on the exit code.
    io.err(`emt-usb ${name}: ${v.message}`);
    if (caught && isCancelled(e)) return SIGNAL_EXIT[caught as CliSignal];
    if (isCancelled(e)) return 130;
    return v.area === 'internal' ? 1 : 2;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

/** Streams whose reader has gone (`emt-usb inspect x | head`): further lines are dropped, not a crash. */
const gone = new WeakSet<NodeJS.WriteStream>();
const guarded = new WeakSet<NodeJS.WriteStream>();
function guardPipe(s: NodeJS.WriteStream): NodeJS.WriteStream {
  if (!guarded.has(s)) {
    guarded.add(s);
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      gone.add(s);
    });
  }
  return s;
}
const writeLine = (s: NodeJS.WriteStream, line: string) => {
  if (!gone.has(s)) s.write(`${line}\n`);
};

export function defaultIo(): CliIo {
  const stdout = guardPipe(process.stdout);
  const stderr = guardPipe(process.stderr);
  return {
    out: (line) => writeLine(stdout, line),
    err: (line) => writeLine(stderr, line),
    isTty: Boolean(process.stderr.isTTY),
  };
}
