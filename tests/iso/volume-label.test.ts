import { describe, expect, it } from 'vitest';
import { BuildError } from '../../electron/iso/build-error.ts';
import {
  checkSourceDateEpoch,
  defaultVolumeLabel,
  MAX_LABEL_LENGTH,
  volumeLabel,
} from '../../electron/iso/volume-label.ts';

describe('volume label', () => {
  it('defaults to EMT_INST_<UTC date of SOURCE_DATE_EPOCH>', () => {
    expect(defaultVolumeLabel(1_764_115_200)).toBe('EMT_INST_20251126'); // 2025-11-26T00:00:00Z
    expect(defaultVolumeLabel(1_764_201_599)).toBe('EMT_INST_20251126'); // 23:59:59 the same day
    expect(defaultVolumeLabel(0)).toBe('EMT_INST_19700101');
    expect(volumeLabel(undefined, 1_795_651_200)).toBe('EMT_INST_20261126');
  });

  it('keeps a legal label as given', () => {
    expect(volumeLabel('SITE_42_A', 0)).toBe('SITE_42_A');
    const max = 'A'.repeat(MAX_LABEL_LENGTH);
    expect(volumeLabel(max, 0)).toBe(max);
  });

  it.each([
    ['lower case', 'emt_inst', /illegal characters \("e", "m", "t", "i", "n", "s"\)/],
    ['a space', 'EMT INST', /illegal characters \(space\)/],
    ['a dash', 'EMT-INST', /illegal characters \("-"\)/],
    ['a dot', 'EMT.1', /illegal characters \("\."\)/],
    ['non-ASCII', 'EMTÄ', /illegal characters \("Ä"\)/],
  ])('refuses %s, naming the characters', (_what, label, msg) => {
    expect(() => volumeLabel(label, 0)).toThrow(BuildError);
    expect(() => volumeLabel(label, 0)).toThrow(msg);
  });

  it('refuses empty and over-long labels', () => {
    expect(() => volumeLabel('', 0)).toThrow(/empty/);
    expect(() => volumeLabel('A'.repeat(33), 0)).toThrow(/33 characters, at most 32/);
  });

  it('refuses epochs xorriso cannot date', () => {
    for (const bad of [-1, 1.5, Number.NaN, 32503680000])
      expect(() => checkSourceDateEpoch(bad)).toThrow(/SOURCE_DATE_EPOCH/);
    expect(() => checkSourceDateEpoch(32503679999)).not.toThrow();
  });
});
