// ISO 9660 volume id rules for our installer: at most 32 characters (the PVD field
// is 32 bytes, "d-characters"), upper-case letters, digits and '_' only, so the label
// reads the same in ISO 9660, Joliet, the GPT and the `search --label` of GRUB.
import { BuildError } from './build-error.ts';

export const MAX_LABEL_LENGTH = 32;
const LABEL_RE = /^[A-Z0-9_]+$/;

/** `EMT_INST_YYYYMMDD`, the date (UTC) taken from SOURCE_DATE_EPOCH. */
export function defaultVolumeLabel(sourceDateEpoch: number): string {
  return `EMT_INST_${isoDate(sourceDateEpoch).replaceAll('-', '')}`;
}

/** Returns the label to use: the given one (checked) or the default. */
export function volumeLabel(label: string | undefined, sourceDateEpoch: number): string {
  if (label === undefined) return defaultVolumeLabel(sourceDateEpoch);
  checkVolumeLabel(label);
  return label;
}

export function checkVolumeLabel(label: string): void {
  if (label.length === 0) throw new BuildError('BAD_LABEL', 'volume label is empty');
  if (label.length > MAX_LABEL_LENGTH) {
    throw new BuildError(
      'BAD_LABEL',
      `volume label '${label}' has ${label.length} characters, at most ${MAX_LABEL_LENGTH} are allowed`,
    );
  }
  if (!LABEL_RE.test(label)) {
    const bad = [...new Set([...label].filter((c) => !/[A-Z0-9_]/.test(c)))];
    const shown = bad.map((c) => (c === ' ' ? 'space' : JSON.stringify(c))).join(', ');
    throw new BuildError(
      'BAD_LABEL',
      `volume label '${label}' has illegal characters (${shown}): use A-Z, 0-9 and _ only`,
    );
  }
}

/** Checks a SOURCE_DATE_EPOCH value (whole seconds, 1970..2999 as xorriso accepts). */
export function checkSourceDateEpoch(epoch: number): void {
  // xorriso's timestrings take YYYY between 1970 and 2999.
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch >= 32503680000) {
    throw new BuildError(
      'BAD_EPOCH',
      `SOURCE_DATE_EPOCH '${epoch}' is not whole seconds between 1970 and 2999`,
    );
  }
}

function isoDate(epoch: number): string {
  checkSourceDateEpoch(epoch);
  return new Date(epoch * 1000).toISOString().slice(0, 10);
}
