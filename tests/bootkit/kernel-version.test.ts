import { describe, expect, it } from 'vitest';
import { BootkitError } from '../../electron/bootkit/errors.ts';
import { parseBzImage } from '../../electron/bootkit/kernel-version.ts';
import { fakeBzImage } from '../fixtures/synthetic-bootkit.ts';

describe('bzImage header', () => {
  it('reads the version string the kernel_version pointer names', () => {
    const k = parseBzImage(fakeBzImage('6.1.0-28-amd64 (debian-kernel@lists.debian.org) #1 SMP'), 'vmlinuz');
    expect(k.version).toBe('6.1.0-28-amd64');
    expect(k.versionString).toMatch(/^6\.1\.0-28-amd64 \(debian-kernel/);
    expect(k.protocol).toBe('2.15');
  });
  it('refuses a file without HdrS, naming it', () => {
    const b = fakeBzImage('6.1.0');
    b.write('XXXX', 0x202, 'latin1');
    expect(() => parseBzImage(b, 'notes.txt')).toThrow(BootkitError);
    expect(() => parseBzImage(b, 'notes.txt')).toThrow(/notes.txt is not a Linux bzImage kernel \(no "HdrS"/);
  });
  it('refuses a pointer past the end and a non-version string', () => {
    const b = fakeBzImage('6.1.0');
    b.writeUInt16LE(0xfff0, 0x20e);
    expect(() => parseBzImage(b, 'k')).toThrow(/pointer out of range/);
    expect(() => parseBzImage(fakeBzImage('hello world'), 'k')).toThrow(/not a kernel version/);
    expect(() => parseBzImage(Buffer.alloc(100), 'k')).toThrow(/too short/);
  });
});
