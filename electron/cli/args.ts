// A small strict argv parser: known flags only, so a typo is an error, not a no-op.
import { UsageError } from '../errors.ts';

export interface FlagSpec {
  /** 'bool' flags take no value; 'string' take one; 'list' may repeat. */
  [flag: string]: 'bool' | 'string' | 'list';
}

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** `--name` or `--name=...` of a known flag, or the `--` separator. */
export function isOptionName(arg: string, spec: FlagSpec): boolean {
  if (arg === '--') return true;
  if (!arg.startsWith('--')) return false;
  const eq = arg.indexOf('=');
  return Object.hasOwn(spec, eq >= 0 ? arg.slice(2, eq) : arg.slice(2)) || arg === '--help';
}

export function parseArgs(argv: string[], spec: FlagSpec): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'bool') {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
      // `--out --json` is a forgotten value, not a file named --json (say --out=--json to mean it).
      if (value !== undefined && isOptionName(value, spec))
        throw new UsageError(
          `option --${name} needs a value (got the option ${value}; write --${name}=VALUE for a value starting with --)`,
        );
    }
    if (value === undefined) throw new UsageError(`option --${name} needs a value`);
    if (kind === 'list') {
      const prev = flags[name];
      flags[name] = [...(Array.isArray(prev) ? prev : []), value];
    } else flags[name] = value;
  }
  return { flags, positionals };
}

export const str = (p: ParsedArgs, name: string): string | undefined => {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
};

export const bool = (p: ParsedArgs, name: string): boolean => p.flags[name] === true;

export const list = (p: ParsedArgs, name: string): string[] => {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
};

export function required(p: ParsedArgs, name: string): string {
  const v = str(p, name);
  if (v === undefined) throw new UsageError(`missing required option --${name}`);
  return v;
}
