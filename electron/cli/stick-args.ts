// Per-stick flags of `emt-usb flash`: each --hostname, --static-ip, --gateway,
// --dns, --stick binds to the --device before it.
import type { FlashTarget } from '../api.ts';
import { UsageError } from '../errors.ts';
import type { StickOption, StickSpec } from '../flash/stick-config.ts';

const STICK_FLAGS: readonly StickOption[] = ['stick', 'hostname', 'static-ip', 'gateway', 'dns'];
const isStickOption = (name: string): name is StickOption =>
  (STICK_FLAGS as readonly string[]).includes(name);

/** A bound --device and its values as the flash job takes them. */
export function flashTarget(s: StickSpec): FlashTarget {
  const o = s.options;
  return {
    device: s.device,
    ...(o.stick !== undefined ? { stick: o.stick } : {}),
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    ...(o['static-ip'] !== undefined ? { staticIp: o['static-ip'] } : {}),
    ...(o.gateway !== undefined ? { gateway: o.gateway } : {}),
    ...(o.dns !== undefined ? { dns: o.dns.split(',') } : {}),
  };
}

/**
 * Pulls the per-stick options out of argv: each binds to the `--device` before it.
 * `valueFlags` are the other options that take a value (their values are skipped).
 * Returns the rest of argv (for parseArgs) and one spec per `--device`, in order.
 */
export function bindStickOptions(
  argv: readonly string[],
  valueFlags: ReadonlySet<string>,
): { rest: string[]; sticks: StickSpec[] } {
  const rest: string[] = [];
  const sticks: StickSpec[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!m) {
      rest.push(arg);
      continue;
    }
    const name = m[1]!;
    const inline = m[2];
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[i + 1];
      if (v === undefined) throw new UsageError(`option --${name} needs a value`);
      i++;
      return v;
    };
    if (name === 'device') {
      const device = takeValue();
      sticks.push({ device, options: {} });
      rest.push(`--device=${device}`);
    } else if (isStickOption(name)) {
      const value = takeValue();
      const stick = sticks.at(-1);
      if (!stick)
        throw new UsageError(`--${name} ${value}: per-stick options follow the --device they are for`);
      const prev = stick.options[name];
      // Several DNS servers: repeat --dns (a bare comma list splits into words in PowerShell).
      if (prev !== undefined && name === 'dns') stick.options.dns = `${prev},${value}`;
      else if (prev !== undefined) throw new UsageError(`--${name} given twice for --device ${stick.device}`);
      else stick.options[name] = value;
    } else if (valueFlags.has(name)) {
      rest.push(`--${name}=${takeValue()}`);
    } else rest.push(arg);
  }
  return { rest, sticks };
}
