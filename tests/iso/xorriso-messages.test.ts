import { describe, expect, it } from 'vitest';
import {
  parseMessage,
  parseProgressLine,
  parseVersion,
  problemLines,
  splitLines,
} from '../../electron/iso/xorriso-messages.ts';

describe('parseProgressLine', () => {
  it('reads the xorriso pacifier style (sectors and percent)', () => {
    const ev = parseProgressLine(
      'xorriso : UPDATE : Writing:      16384s   25.0%   fifo 100%  buf  50%   12.3xD ',
    );
    expect(ev).toMatchObject({ stage: 'master', done: 16384 * 2048, total: 65536 * 2048, unit: 'bytes' });
  });

  it('reads the xorriso style without a percentage', () => {
    const ev = parseProgressLine('xorriso : UPDATE : Writing:        512s    1.0m   fifo   0%  buf  50%');
    expect(ev).toMatchObject({ done: 512 * 2048, total: null, unit: 'bytes' });
  });

  it('reads the mkisofs style as basis points', () => {
    const ev = parseProgressLine('xorriso : UPDATE :  37.87% done, estimate finish Tue Jul 15 18:55:07 2008');
    expect(ev).toMatchObject({ done: 3787, total: 10000, unit: 'steps' });
  });

  it('reads the cdrecord style', () => {
    const ev = parseProgressLine('xorriso : UPDATE :   32 of  128 MB written (fifo 100%) [buf  50%]   4.0x.');
    expect(ev).toMatchObject({ done: 32 * 2 ** 20, total: 128 * 2 ** 20, unit: 'bytes' });
  });

  it('reads files-added lines as a file count', () => {
    const ev = parseProgressLine('xorriso : UPDATE :     1234 files added in 1 seconds');
    expect(ev).toMatchObject({ done: 1234, total: null, unit: 'files' });
  });

  it('ignores other lines', () => {
    expect(parseProgressLine('xorriso : NOTE : Writing to stdio:out.iso completed successfully.')).toBeNull();
    expect(parseProgressLine('Drive current: -outdev stdio:out.iso')).toBeNull();
    expect(
      parseProgressLine('xorriso : UPDATE : Thank you for being patient. Working since 2 seconds.'),
    ).toBeNull();
  });
});

describe('problemLines', () => {
  it('keeps SORRY/FAILURE/FATAL lines from every origin, once each, in order', () => {
    const out = [
      'xorriso 1.5.4 : RockRidge filesystem manipulator, libburnia project.',
      "libisofs: FAILURE : Cannot open file '/x/y'",
      'xorriso : NOTE : Tolerated problem event of severity SORRY',
      "xorriso : FAILURE : Cannot find path '/x/y' in loaded ISO image",
      "libisofs: FAILURE : Cannot open file '/x/y'",
      'libburn : SORRY : Drive is busy',
      'xorriso : aborting : -abort_on FAILURE encountered event FAILURE',
    ].join('\n');
    expect(problemLines(out)).toEqual([
      "libisofs : FAILURE : Cannot open file '/x/y'",
      "xorriso : FAILURE : Cannot find path '/x/y' in loaded ISO image",
      'libburn : SORRY : Drive is busy',
    ]);
  });
});

describe('parseMessage / parseVersion / splitLines', () => {
  it('splits origin, severity and text', () => {
    expect(parseMessage('libburn : WARNING : odd  ')).toEqual({
      origin: 'libburn',
      severity: 'WARNING',
      text: 'odd',
    });
    expect(parseMessage('plain text')).toBeNull();
  });

  it('finds the version in the banner', () => {
    expect(parseVersion('xorriso 1.5.4 : RockRidge filesystem manipulator, libburnia project.\n')).toBe(
      '1.5.4',
    );
    expect(parseVersion('nothing here')).toBeNull();
  });

  it('splits on \\n, \\r\\n and \\r and keeps the unfinished rest', () => {
    expect(splitLines('ab', 'c\nd\r\ne\rf')).toEqual({ lines: ['abc', 'd', 'e'], rest: 'f' });
    expect(splitLines('', '')).toEqual({ lines: [], rest: '' });
  });
});
