// Errors about initramfs contents and formats (cpio, segments, codecs).
import { EmtError } from '../errors.ts';

export class InitramfsError extends EmtError {
  constructor(code: string, message: string, file?: string) {
    super('initramfs', code, message, file);
    this.name = 'InitramfsError';
  }
}
