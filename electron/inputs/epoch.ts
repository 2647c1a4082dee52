// SOURCE_DATE_EPOCH, the one reader: from --source-date-epoch, the environment or
// a request. Its range is what every format the job writes can hold, so a value
// that passes never fails later in a cpio or FAT field.
import { UsageError } from '../errors.ts';

export interface EpochRange {
  min: number;
  max: number;
  /** Why these bounds, for the message. */
  why: string;
}

/** cpio (newc) mtimes are 8 hex digits: until 2106-02-07T06:28:15Z. Tar's 11 octal digits hold more. */
export const CPIO_MAX_EPOCH = 0xffffffff;
/** FAT dates start at 1980-01-01 (and end in 2107). */
export const FAT_MIN_EPOCH = 315532800;

/** inject writes cpio and tar. */
export const INJECT_EPOCH: EpochRange = {
  min: 0,
  max: CPIO_MAX_EPOCH,
  why: 'cpio mtimes hold 1970 to 2106-02-07',
};

/** build also writes FAT (ESP, EMTCONFIG) and ISO 9660 dates. */
export const BUILD_EPOCH: EpochRange = {
  min: FAT_MIN_EPOCH,
  max: CPIO_MAX_EPOCH,
  why: 'FAT dates start in 1980, cpio mtimes end on 2106-02-07',
};

/**
 * The epoch from the first source that has one: the option, then
 * $SOURCE_DATE_EPOCH; `undefined` when neither is set (the caller picks its default).
 */
export function readSourceDateEpoch(
  sources: { option?: string | number | undefined; env?: string | undefined },
  range: EpochRange,
  optionName = '--source-date-epoch',
): number | undefined {
  const [raw, from] =
    sources.option !== undefined
      ? [sources.option, optionName]
      : sources.env !== undefined && sources.env !== ''
        ? [sources.env, 'SOURCE_DATE_EPOCH']
        : [undefined, ''];
  if (raw === undefined) return undefined;
  const text = String(raw);
  if (!/^[0-9]{1,16}$/.test(text))
    throw new UsageError(`${from} must be whole seconds since 1970, got '${text.slice(0, 40)}'`, 'BAD_EPOCH');
  const n = Number(text);
  if (n < range.min || n > range.max)
    throw new UsageError(
      `${from} ${text} is out of range: give ${range.min} to ${range.max} (${range.why})`,
      'BAD_EPOCH',
    );
  return n;
}

/** Now, clamped into the range (a machine clock before 1980 still builds). */
export const nowEpoch = (range: EpochRange): number =>
  Math.min(range.max, Math.max(range.min, Math.floor(Date.now() / 1000)));
