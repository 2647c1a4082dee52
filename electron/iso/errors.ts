// Errors of the ISO area that are not about one build step: boot loaders,
// FAT images, mastering. Each message names the file or value and the problem.
import { EmtError } from '../errors.ts';

export class IsoError extends EmtError {
  constructor(code: string, message: string, file?: string) {
    super('iso', code, message, file);
    this.name = 'IsoError';
  }
}
