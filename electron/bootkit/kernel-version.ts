// Kernel version from an x86 bzImage setup header (Documentation/arch/x86/boot.rst):
// "HdrS" at 0x202, protocol version at 0x206, kernel_version (a pointer minus 0x200)
// at 0x20E pointing at a NUL-terminated string like "6.1.0-28-amd64 (builder) #1 SMP ...".
import { open } from 'node:fs/promises';
import { BootkitError } from './errors.ts';

export interface KernelInfo {
  /** First word of the version string, e.g. "6.1.0-28-amd64" (what `uname -r` says). */
  version: string;
  /** The whole string from the header. */
  versionString: string;
  /** Boot protocol, e.g. "2.15". */
  protocol: string;
}

/** Pure: parse the first 64 KiB (or more) of a bzImage. */
export function parseBzImage(head: Buffer, name: string): KernelInfo {
  const notBz = (why: string) =>
    new BootkitError('NOT_BZIMAGE', `${name} is not a Linux bzImage kernel (${why})`, name);
  if (head.length < 0x210) throw notBz('too short for a setup header');
  if (head.toString('latin1', 0x202, 0x206) !== 'HdrS') throw notBz('no "HdrS" setup header at 0x202');
  const proto = head.readUInt16LE(0x206);
  if (proto < 0x0200) throw notBz(`boot protocol ${proto.toString(16)} too old`);
  const ptr = head.readUInt16LE(0x20e);
  const at = ptr + 0x200;
  if (ptr === 0 || at >= head.length) throw notBz('kernel_version pointer out of range');
  const end = head.indexOf(0, at);
  const versionString = head.toString('latin1', at, end < 0 ? Math.min(head.length, at + 256) : end).trim();
  const version = versionString.split(/\s+/)[0] ?? '';
  if (!/^[0-9]+\.[0-9]+/.test(version))
    throw notBz(`version string "${versionString.slice(0, 40)}" is not a kernel version`);
  return { version, versionString, protocol: `${proto >> 8}.${proto & 0xff}` };
}

export async function readKernelVersion(path: string, displayName = path): Promise<KernelInfo> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new BootkitError(
      'OPEN',
      `cannot read ${displayName}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      displayName,
    );
  }
  try {
    const head = Buffer.alloc(0x10000);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return parseBzImage(head.subarray(0, bytesRead), displayName);
  } finally {
    await fh.close();
  }
}
