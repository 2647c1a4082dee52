// Errors of the build pipeline (label, staging, OS image, output): each names the
// file or value and the problem, so the CLI can print it as one line.
import { EmtError } from '../errors.ts';

export type BuildErrorCode =
  | 'BAD_LABEL'
  | 'BAD_EPOCH'
  | 'BAD_ISO_PATH'
  | 'OS_IMAGE_MISSING'
  | 'OS_IMAGE_UNREADABLE'
  | 'OS_IMAGE_NOT_FILE'
  | 'OS_IMAGE_CORRUPT'
  | 'BAD_SHA256_FILE'
  | 'SHA256_MISMATCH'
  | 'USER_APPS_BAD'
  | 'INPUT_MISSING'
  | 'INPUT_UNREADABLE'
  | 'OUT_UNWRITABLE'
  | 'NO_SPACE'
  | 'MISSING_TOOLS'
  | 'CANCELLED';

export class BuildError extends EmtError {
  declare readonly code: BuildErrorCode;

  constructor(code: BuildErrorCode, message: string, file?: string) {
    super('iso', code, message, file);
    this.name = 'BuildError';
  }
}
