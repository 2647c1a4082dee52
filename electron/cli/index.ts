// Headless CLI: the same engine as the desktop app. Each sub-command lives in
// its own module; this file only dispatches and turns errors into exit codes.
import { isEmtError } from '../errors.ts';
import { buildCommand } from './build.ts';
import type { CliIo, Command } from './command.ts';
import { drivesCommand } from './drives.ts';
import { flashCommand } from './flash.ts';
import { injectCommand } from './inject.ts';
import { inspectCommand } from './inspect.ts';
import { verifyCommand } from './verify.ts';

// Sub-commands register here (one import + one list entry each).
const commands: Command[] = [
  inspectCommand,
  injectCommand,
  drivesCommand,
  flashCommand,
  verifyCommand,
  buildCommand,
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
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`emt-usb: unknown command '${name}' (try emt-usb --help)`);
    return 2;
  }
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
