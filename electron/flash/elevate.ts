// Starting the writer with administrator rights, per OS: pkexec + our polkit
// action on Linux, UAC on Windows, the authorization prompt on macOS. Building
// the command is pure (and unit-tested for all three); spawning is the edge.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlashError } from './flash-error.ts';

export const POLKIT_ACTION = 'org.emt.usb-installer.write-drive';
/** Where the Linux package installs the launcher our polkit action names. */
export const INSTALLED_WRITER = '/usr/lib/emt-usb-installer/emt-usb-writer';

export interface WriterLaunch {
  command: string;
  args: string[];
  /** How the one-time token reaches the writer: its stdin, or a 0600 file. */
  tokenVia: 'stdin' | 'file';
  /** Environment to add when spawning `command` itself (unelevated launches). */
  env?: Record<string, string>;
}

/** The writer's own argv and the environment it needs (the packaged app runs its executable as Node). */
export interface WriterProgram {
  argv: string[];
  env: Record<string, string>;
}

/** How to run writer-process.ts from a source checkout: node + the tsx loader. */
export function writerProgram(): string[] {
  const script = fileURLToPath(new URL('./writer-process.ts', import.meta.url));
  return [process.execPath, '--import', import.meta.resolve('tsx'), script];
}

/**
 * The packaged app has no tsx and no sources: the writer is one bundled file,
 * run by the app's own executable in Node mode (ELECTRON_RUN_AS_NODE=1).
 */
export const packagedWriterProgram = (executable: string, writerScript: string): WriterProgram => ({
  argv: [executable, writerScript],
  env: { ELECTRON_RUN_AS_NODE: '1' },
});

let chosen: WriterProgram | null = null;

/** Electron main calls this once when packaged; a checkout keeps the tsx launch. */
export function useWriterProgram(p: WriterProgram | null): void {
  chosen = p;
}

export const currentWriterProgram = (): WriterProgram => chosen ?? { argv: writerProgram(), env: {} };

/** Windows command-line quoting (CommandLineToArgvW rules). */
export function quoteWindowsArg(a: string): string {
  if (a !== '' && !/[\s"]/.test(a)) return a;
  return `"${a.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

const quoteSh = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
const quotePs = (a: string): string => `'${a.replace(/'/g, "''")}'`;
const quoteAppleScript = (a: string): string => `"${a.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * The command that starts the writer. `program` is the writer's own argv
 * (interpreter + script), `channelArgs` says where to connect (never the token).
 */
export function buildWriterLaunch(
  platform: NodeJS.Platform,
  elevate: boolean,
  program: string[],
  channelArgs: string[],
  opts: { installedWriter?: string | null; tokenFile?: string; env?: Record<string, string> } = {},
): WriterLaunch {
  const env = Object.entries(opts.env ?? {});
  for (const [k, v] of env)
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k) || /["%&|<>^\r\n]/.test(v))
      throw new FlashError('ELEVATE_ARGS', `writer environment ${k} cannot be passed on safely`);
  if (!elevate)
    return {
      command: program[0]!,
      args: [...program.slice(1), ...channelArgs, '--token-stdin'],
      tokenVia: 'stdin',
      ...(env.length > 0 ? { env: Object.fromEntries(env) } : {}),
    };
  if (platform === 'linux') {
    // pkexec keeps stdin, so the token never touches the disk; it clears the
    // environment, so what the writer needs goes in through env(1).
    const prog = opts.installedWriter
      ? [opts.installedWriter]
      : env.length > 0
        ? ['/usr/bin/env', ...env.map(([k, v]) => `${k}=${v}`), ...program]
        : program;
    return { command: 'pkexec', args: [...prog, ...channelArgs, '--token-stdin'], tokenVia: 'stdin' };
  }
  if (!opts.tokenFile) throw new FlashError('ELEVATE_ARGS', 'a token file is needed to elevate on this OS');
  const argv = [...program, ...channelArgs, '--token-file', opts.tokenFile];
  if (platform === 'win32') {
    if (env.length > 0) {
      // An elevated process does not inherit our environment: an elevated cmd sets it
      // first (/s: the quoted rest is kept as it is), then starts the writer.
      const inner = `${env.map(([k, v]) => `set ${k}=${v}&& `).join('')}${argv.map((a) => `"${a}"`).join(' ')}`;
      if (argv.some((a) => /["%\r\n]/.test(a)))
        throw new FlashError('ELEVATE_ARGS', 'a writer argument cannot be passed through cmd safely');
      const ps = [
        `$p = Start-Process -FilePath 'cmd.exe' -ArgumentList ${quotePs(`/d /s /c "${inner}"`)} -Verb RunAs -WindowStyle Hidden -Wait -PassThru`,
        'exit $p.ExitCode',
      ].join('; ');
      return {
        command: 'powershell.exe',
        args: ['-NoProfile', '-NonInteractive', '-Command', ps],
        tokenVia: 'file',
      };
    }
    const argList = argv.slice(1).map(quoteWindowsArg).join(' ');
    const ps = [
      `$p = Start-Process -FilePath ${quotePs(argv[0]!)} -ArgumentList ${quotePs(argList)} -Verb RunAs -WindowStyle Hidden -Wait -PassThru`,
      'exit $p.ExitCode',
    ].join('; ');
    return {
      command: 'powershell.exe',
      args: ['-NoProfile', '-NonInteractive', '-Command', ps],
      tokenVia: 'file',
    };
  }
  if (platform === 'darwin') {
    const sh = [...env.map(([k, v]) => `${k}=${quoteSh(v)}`), ...argv.map(quoteSh)].join(' ');
    return {
      command: '/usr/bin/osascript',
      args: ['-e', `do shell script ${quoteAppleScript(sh)} with administrator privileges`],
      tokenVia: 'file',
    };
  }
  throw new FlashError('ELEVATE_UNSUPPORTED', `cannot ask for administrator rights on ${platform}`);
}

export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

export function installedWriter(): string | null {
  return existsSync(INSTALLED_WRITER) ? INSTALLED_WRITER : null;
}

/** Checks before spawning: a missing pkexec is a clear message, not ENOENT. */
export function checkElevationAvailable(platform: NodeJS.Platform): void {
  if (platform === 'linux' && !findOnPath('pkexec'))
    throw new FlashError(
      'NO_PKEXEC',
      'writing drives needs administrator rights, but pkexec (polkit) is not installed: install polkit (pkexec) and a polkit agent, or run emt-usb with sudo',
    );
}

/** Turns a launcher's exit into the message a person can act on, or null when it is not about elevation. */
export function explainElevationFailure(
  platform: NodeJS.Platform,
  exitCode: number | null,
  stderr: string,
): FlashError | null {
  if (platform === 'linux') {
    if (/no authentication agent/i.test(stderr) || (exitCode === 127 && /polkit|authenticat/i.test(stderr)))
      return new FlashError(
        'NO_POLKIT_AGENT',
        'no polkit authentication agent is running, so nobody can be asked for the password (common on minimal or some Wayland sessions): start one (e.g. polkit-gnome, lxpolkit) or run emt-usb with sudo',
      );
    if (exitCode === 126 || /not authorized|dismissed/i.test(stderr))
      return new FlashError(
        'ELEVATION_DENIED',
        'administrator authorization was dismissed or refused; nothing was written',
      );
    if (exitCode === 127)
      return new FlashError('ELEVATION_FAILED', `pkexec could not start the writer: ${stderr.trim()}`);
  }
  if (
    platform === 'win32' &&
    (/canceled by the user|cancelled by the user/i.test(stderr) || exitCode === 1223)
  )
    return new FlashError('ELEVATION_DENIED', 'the Windows UAC prompt was declined; nothing was written');
  if (platform === 'darwin' && /User canceled|-128/.test(stderr))
    return new FlashError(
      'ELEVATION_DENIED',
      'the macOS authorization prompt was cancelled; nothing was written',
    );
  return null;
}
