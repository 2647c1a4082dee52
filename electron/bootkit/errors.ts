// Errors about a bootkit as a whole: its archive, kernel and required tools.
import { EmtError } from '../errors.ts';

export class BootkitError extends EmtError {
  constructor(code: string, message: string, file?: string) {
    super('bootkit', code, message, file);
    this.name = 'BootkitError';
  }
}
