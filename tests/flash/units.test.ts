// Pure pieces of flashing: GPT lookup, the config overlay, elevation argv per
// OS, unmount commands, progress pacing.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { unmountCommands } from '../../electron/flash/block-device.ts';
import {
  buildWriterLaunch,
  explainElevationFailure,
  INSTALLED_WRITER,
  POLKIT_ACTION,
  quoteWindowsArg,
} from '../../electron/flash/elevate.ts';
import { fatLabel, findConfigPartition, parseGptEntries, parseGptHeader } from '../../electron/flash/gpt.ts';
import { applyOverlay, openExpectedImage } from '../../electron/flash/image-source.ts';
import { type FlashProgress, ProgressMeter } from '../../electron/flash/progress-meter.ts';
import { testIso } from './fixture-image.ts';

describe('GPT', () => {
  it('finds the partitions xorriso wrote, as sgdisk reports them, and EMTCONFIG by FAT label', () => {
    const iso = testIso();
    const bytes = readFileSync(iso.path);
    const h = parseGptHeader(bytes.subarray(512, 1024))!;
    const parts = parseGptEntries(
      bytes.subarray(h.entriesOffset, h.entriesOffset + h.count * h.entrySize),
      h.count,
      h.entrySize,
    );
    const sg = execFileSync('sgdisk', ['-p', iso.path], { encoding: 'utf8' });
    for (const p of parts) {
      const row = new RegExp(`^\\s+${p.number}\\s+(\\d+)\\s+(\\d+)\\s.*\\s${p.name}$`, 'm').exec(sg);
      expect(row, p.name).not.toBeNull();
      expect(Number(row![1]) * 512).toBe(p.offset);
      expect((Number(row![2]) + 1) * 512).toBe(p.offset + p.size);
    }
    const cfg = findConfigPartition(parts, (p) => bytes.subarray(p.offset, p.offset + 512));
    expect(cfg?.name).toBe('Appended3');
    expect(fatLabel(bytes.subarray(cfg!.offset, cfg!.offset + 512))).toBe('EMTCONFIG');
  });
  it('prefers a partition named EMTCONFIG and returns null when there is none', () => {
    const parts = [
      { number: 1, typeGuid: 'X', name: 'ISO9660', offset: 0, size: 1 },
      { number: 5, typeGuid: 'Y', name: 'EMTCONFIG', offset: 9, size: 1 },
    ];
    expect(findConfigPartition(parts, () => Buffer.alloc(512))?.number).toBe(5);
    expect(findConfigPartition(parts.slice(0, 1), () => Buffer.alloc(512))).toBeNull();
  });
  it('an image without the partition is refused with its name', async () => {
    const iso = testIso();
    await expect(openExpectedImage(iso.path, Buffer.alloc(64 << 20))).rejects.toThrow(/holds 4194304/);
    await expect(openExpectedImage('/etc/hostname', Buffer.alloc(1))).rejects.toThrow(/hostname: has no GPT/);
  });
});

describe('applyOverlay', () => {
  it('copies only the overlapping bytes, whatever the chunk position', () => {
    const overlay = Buffer.from('ABCDEF');
    for (let offset = 0; offset < 20; offset++) {
      const chunk = Buffer.alloc(5, '.');
      applyOverlay(chunk, offset, overlay, 7);
      const want = Buffer.alloc(5, '.');
      for (let i = 0; i < 5; i++) {
        const at = offset + i - 7;
        if (at >= 0 && at < 6) want[i] = overlay[at]!;
      }
      expect(chunk.toString()).toBe(want.toString());
    }
  });
});

describe('elevation', () => {
  const program = ['/usr/bin/node', '--import', 'file:///x/tsx.mjs', '/x/writer-process.ts'];
  const channel = ['--socket', '/tmp/emt-writer-a/writer.sock'];
  it('Linux: pkexec, token on stdin, our installed launcher when present', () => {
    expect(buildWriterLaunch('linux', true, program, channel)).toEqual({
      command: 'pkexec',
      args: [...program, ...channel, '--token-stdin'],
      tokenVia: 'stdin',
    });
    expect(
      buildWriterLaunch('linux', true, program, channel, { installedWriter: INSTALLED_WRITER }).args[0],
    ).toBe(INSTALLED_WRITER);
    const policy = readFileSync(
      new URL('../../resources/polkit/org.emt.usb-installer.policy', import.meta.url),
      'utf8',
    );
    expect(policy).toContain(`<action id="${POLKIT_ACTION}">`);
    expect(policy).toContain(`>${INSTALLED_WRITER}</annotate>`);
    expect(policy).not.toContain('>auth_admin_keep<');
  });
  it('Windows: UAC via Start-Process -Verb RunAs, token in a file, never in argv', () => {
    const l = buildWriterLaunch(
      'win32',
      true,
      ['C:\\Program Files\\nodejs\\node.exe', "C:\\it's\\w.ts"],
      ['--socket', '\\\\.\\pipe\\emt-ab'],
      {
        tokenFile: 'C:\\Temp\\emt-writer-x\\token',
      },
    );
    expect(l.command).toBe('powershell.exe');
    expect(l.tokenVia).toBe('file');
    const ps = l.args[3]!;
    expect(ps).toContain("-FilePath 'C:\\Program Files\\nodejs\\node.exe'");
    expect(ps).toContain('-Verb RunAs');
    expect(ps).toContain("it''s"); // PowerShell single-quote escaping
    expect(ps).toContain('--token-file C:\\Temp\\emt-writer-x\\token');
    expect(quoteWindowsArg('a b\\')).toBe('"a b\\\\"');
    expect(quoteWindowsArg('say "hi"')).toBe('"say \\"hi\\""');
  });
  it('macOS: osascript with administrator privileges, shell-quoted', () => {
    const l = buildWriterLaunch('darwin', true, ['/Applications/EMT.app/node', "/x/it's.ts"], channel, {
      tokenFile: '/tmp/t',
    });
    expect(l.command).toBe('/usr/bin/osascript');
    expect(l.args[1]).toBe(
      `do shell script "'/Applications/EMT.app/node' '/x/it'\\\\''s.ts' '--socket' '/tmp/emt-writer-a/writer.sock' '--token-file' '/tmp/t'" with administrator privileges`,
    );
  });
  it('without elevation the token still goes over stdin', () => {
    expect(buildWriterLaunch('win32', false, program, channel).tokenVia).toBe('stdin');
  });
  it('explains elevation failures in words a technician can act on', () => {
    expect(
      explainElevationFailure(
        'linux',
        127,
        'Error executing command as another user: No authentication agent found.',
      )?.code,
    ).toBe('NO_POLKIT_AGENT');
    expect(
      explainElevationFailure('linux', 126, 'Error executing command as another user: Not authorized')?.code,
    ).toBe('ELEVATION_DENIED');
    expect(explainElevationFailure('win32', 1, 'The operation was canceled by the user.')?.code).toBe(
      'ELEVATION_DENIED',
    );
    expect(explainElevationFailure('darwin', 1, 'execution error: User canceled. (-128)')?.code).toBe(
      'ELEVATION_DENIED',
    );
    expect(explainElevationFailure('linux', 1, 'something else')).toBeNull();
  });
});

describe('unmount commands', () => {
  it('per OS', () => {
    expect(unmountCommands('linux', '/dev/sdb', ['/media/a', '[SWAP]', '/media/b c'])).toEqual([
      ['umount', '/media/a'],
      ['umount', '/media/b c'],
    ]);
    expect(unmountCommands('darwin', '/dev/disk4', [])).toEqual([
      ['diskutil', 'unmountDisk', 'force', '/dev/disk4'],
    ]);
    const win = unmountCommands('win32', '\\\\.\\PhysicalDrive3', ['F:\\']);
    expect(win[0]![0]).toBe('powershell.exe');
    expect(win[0]![4]).toContain('Get-Partition -DiskNumber 3');
    expect(win[0]![4]).toContain('mountvol');
  });
});

describe('ProgressMeter', () => {
  it('emits at most 4 events a second, with speed and ETA', () => {
    let now = 0;
    const events: FlashProgress[] = [];
    const m = new ProgressMeter(
      '/dev/sdx',
      (e) => events.push(e),
      () => now,
    );
    m.start('write', 1000);
    for (let t = 1; t <= 1000; t++) {
      now = t; // 1 ms per byte: 1000 bytes/s
      m.update(t);
    }
    // start + one per 250 ms over a second
    expect(events.length).toBeLessThanOrEqual(6);
    expect(events.length).toBeGreaterThanOrEqual(4);
    const mid = events.find((e) => e.done === 500)!;
    expect(mid.bytesPerSecond).toBe(1000);
    expect(mid.etaSeconds).toBe(0.5);
    expect(mid.stage).toBe('write');
  });
});
