// The few parts of two untyped npm packages we use.

declare module 'lzma-native' {
  import type { Transform } from 'node:stream';
  export interface LzmaTransform extends Transform {
    totalIn(): number;
    totalOut(): number;
    nativeStream: { _restart?: (() => void) | null } | null;
  }
  export function createStream(coder: string, options?: Record<string, unknown>): LzmaTransform;
  export const CHECK_CRC32: number;
  export const CHECK_NONE: number;
}

declare module 'seek-bzip' {
  export interface BzInput {
    readByte(): number;
    read(buf: Uint8Array, off: number, len: number): number;
    seek(pos: number): void;
  }
  export interface BzOutput {
    writeByte(b: number): void;
  }
  interface BunzipReader {
    read(bits: number): number;
  }
  class Bunzip {
    constructor(input: BzInput, output: BzOutput);
    reader: BunzipReader;
    streamCRC: number;
    _init_block(): boolean;
    _read_bunzip(): number;
  }
  export default Bunzip;
}
