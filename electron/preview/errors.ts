import { EmtError } from '../errors.ts';

/** The previewed image cannot be read as what it claims to be; the message names it. */
export class PreviewError extends EmtError {
  constructor(code: string, message: string, file?: string) {
    super('iso', code, message, file);
    this.name = 'PreviewError';
  }
}
