// What a stream that should be gzip really is, from its first bytes, so a refusal
// can say "is a plain tar archive" rather than zlib's "incorrect header check".
import { codecFromMagic } from './codecs.ts';

/** Enough for the tar magic, which sits at byte 257 of the first header. */
export const CONTENT_HEAD_BYTES = 512;

const isTar = (h: Uint8Array) =>
  h.length >= 263 && Buffer.from(h.subarray(257, 262)).toString('latin1') === 'ustar';

/** True when `head` opens a gzip stream (the magic, method deflate). */
export const isGzipHead = (h: Uint8Array) => h.length >= 3 && h[0] === 0x1f && h[1] === 0x8b && h[2] === 8;

/** A phrase for the content: "a plain (uncompressed) tar archive", "xz-compressed data", ... */
export function describeContent(head: Uint8Array): string {
  if (head.length === 0) return 'empty';
  if (isTar(head)) return 'a plain (uncompressed) tar archive';
  const codec = codecFromMagic(head);
  if (codec && codec !== 'gzip') return `${codec}-compressed data`;
  return `not gzip data (it starts with ${Buffer.from(head.subarray(0, 4)).toString('hex')})`;
}

/** "X is a plain (uncompressed) tar archive, not gzip-compressed" (for a .tar.gz). */
export const notGzipMessage = (name: string, head: Uint8Array) => {
  const what = describeContent(head);
  return what.startsWith('not gzip') ? `${name} is ${what}` : `${name} is ${what}, not gzip-compressed`;
};
