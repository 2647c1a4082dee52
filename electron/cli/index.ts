// Headless CLI: the same engine as the desktop app. Each sub-command lives in
// its own module; this file only dispatches and turns errors into exit codes.
import { isEmtError } from '../errors.ts';
import type { CliIo, Command } from './command.ts';

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

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    help(io);
    return name ? 0 : 2;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    io.err(`emt-usb: unknown command '${name}' (try emt-usb --help)`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (isEmtError(e)) {
      // One line, naming the file and the problem; scripts match on exit code 2.
      io.err(`emt-usb ${name}: ${e.message}`);
      return 2;
    }
    io.err(`emt-usb ${name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

export function defaultIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    isTty: Boolean(process.stderr.isTTY),
  };
}
