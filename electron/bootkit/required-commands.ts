// The installer's command list, kept with the scripts that run the commands:
// installer-scripts/required-commands.txt (format in its header). One line per
// command: `<command> <package> [optional] [indirect] [path=P,P...] [# why]`.
// Parsed here into the tools the tool check looks for, grouped by package.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BootkitError } from './errors.ts';

export const COMMAND_LIST_FILE = 'required-commands.txt';

export interface RequiredCommand {
  command: string;
  /** The Debian package that provides it, e.g. "util-linux". */
  package: string;
  /** The scripts probe for it and have a fallback: reported, never refused. */
  optional: boolean;
  /** Not run by this name in the scripts (the init, a decompressor named in a string). */
  indirect: boolean;
  /** Where to look in the rootfs instead of usr/bin, usr/sbin, bin, sbin. */
  paths?: string[];
}

/** A package the installer needs and the commands of it that must be there. */
export interface RequiredTool {
  /** The package, e.g. "lvm2"; `tools[].name` in reports. */
  name: string;
  commands: RequiredCommand[];
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
const PATH = /^[A-Za-z0-9_.+-]+(\/[A-Za-z0-9_.+-]+)*$/;

/** Parses the list; a bad line is refused naming the file and the line. */
export function parseRequiredCommands(text: string, file: string): RequiredCommand[] {
  const out: RequiredCommand[] = [];
  const seen = new Set<string>();
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const bad = (why: string) => new BootkitError('BAD_COMMAND_LIST', `${file} line ${n + 1}: ${why}`, file);
    const [command, pkg, ...flags] = line.split(/\s+/);
    if (!command || !pkg) throw bad('needs a command and its package');
    if (!NAME.test(command)) throw bad(`'${command}' is not a command name`);
    if (!NAME.test(pkg)) throw bad(`'${pkg}' is not a package name`);
    if (seen.has(command)) throw bad(`'${command}' is listed twice`);
    seen.add(command);
    const c: RequiredCommand = { command, package: pkg, optional: false, indirect: false };
    for (const f of flags) {
      if (f === 'optional') c.optional = true;
      else if (f === 'indirect') c.indirect = true;
      else if (f.startsWith('path=')) {
        const paths = f.slice(5).split(',');
        if (paths.some((p) => !PATH.test(p) || p.split('/').includes('..')))
          throw bad(`'${f}' must list relative paths in the rootfs`);
        c.paths = paths;
      } else throw bad(`unknown flag '${f}' (optional, indirect, path=...)`);
    }
    out.push(c);
  }
  if (out.length === 0) throw new BootkitError('BAD_COMMAND_LIST', `${file} lists no commands`, file);
  return out;
}

/** Commands grouped by package, packages in the order they first appear. */
export function toolsFrom(commands: readonly RequiredCommand[]): RequiredTool[] {
  const byPackage = new Map<string, RequiredCommand[]>();
  for (const c of commands) byPackage.set(c.package, [...(byPackage.get(c.package) ?? []), c]);
  return [...byPackage].map(([name, cmds]) => ({ name, commands: cmds }));
}

const defaultScriptsDir = (): string => fileURLToPath(new URL('../../installer-scripts/', import.meta.url));

let builtIn: RequiredTool[] | null = null;

/**
 * The tools for a scripts folder: its own required-commands.txt, else (a folder
 * without one, or none given) the list shipped with our installer-scripts/.
 */
export function requiredTools(scriptsDir?: string): RequiredTool[] {
  if (scriptsDir) {
    const own = join(scriptsDir, COMMAND_LIST_FILE);
    if (existsSync(own)) return toolsFrom(parseRequiredCommands(readList(own), own));
  }
  if (!builtIn) {
    const file = join(defaultScriptsDir(), COMMAND_LIST_FILE);
    builtIn = toolsFrom(parseRequiredCommands(readList(file), file));
  }
  return builtIn;
}

function readList(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new BootkitError('BAD_COMMAND_LIST', `${file}: cannot be read: ${(e as Error).message}`, file);
  }
}
