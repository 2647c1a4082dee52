// Types for the parts of pako's low-level zlib port we use (it ships none for
// lib/zlib/*): inflate with Z_BLOCK exposes deflate block boundaries.
declare module 'pako/lib/zlib/zstream.js' {
  export default class ZStream {
    input: Uint8Array | null;
    next_in: number;
    avail_in: number;
    total_in: number;
    output: Uint8Array | null;
    next_out: number;
    avail_out: number;
    total_out: number;
    msg: string;
    data_type: number;
    state: { bits: number; last: boolean | number } | null;
  }
}

declare module 'pako/lib/zlib/inflate.js' {
  import type ZStream from 'pako/lib/zlib/zstream.js';

  const inflate: {
    inflateInit2(strm: ZStream, windowBits: number): number;
    inflate(strm: ZStream, flush: number): number;
    inflateReset(strm: ZStream): number;
    inflateSetDictionary(strm: ZStream, dictionary: Uint8Array): number;
    inflateEnd(strm: ZStream): number;
  };
  export default inflate;
}
