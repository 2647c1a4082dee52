import { EmtError } from '../errors.ts';

/** A flashing failure a user reads: names the device or file and the problem. */
export class FlashError extends EmtError {
  constructor(code: string, message: string, file?: string) {
    super('flash', code, message, file);
    this.name = 'FlashError';
  }
}
