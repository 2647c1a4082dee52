// SHA-512 crypt ("$6$"), from Ulrich Drepper's published specification
// ("Unix crypt using SHA-256 and SHA-512", 2007-2008), on node:crypto's sha512.
// The node writes the hash with `chpasswd -e`; the plaintext never leaves the app.
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;

const sha512 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `n` bytes of `block` repeated (the spec's P and S sequences). */
function repeatTo(block: Buffer, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += block.length) block.copy(out, i, 0, Math.min(block.length, n - i));
  return out;
}

// Byte triples in the order the spec's final base-64 step takes them.
const ORDER: [number, number, number][] = [];
for (let i = 0; i < 21; i++) ORDER.push([i, (i + 21) % 63, (i + 42) % 63]);

function encode(digest: Buffer): string {
  let out = '';
  const put = (w: number, n: number) => {
    for (let i = 0; i < n; i++, w >>= 6) out += ALPHABET[w & 0x3f];
  };
  // Each group k takes bytes (a, b, c) rotating through the digest (see spec step 22e).
  for (let k = 0; k < 21; k++) {
    const [x, y, z] = ORDER[k]!;
    const rot = k % 3;
    const t = rot === 0 ? [x, y, z] : rot === 1 ? [y, z, x] : [z, x, y];
    put((digest[t[0]!]! << 16) | (digest[t[1]!]! << 8) | digest[t[2]!]!, 4);
  }
  put(digest[63]!, 2);
  return out;
}

/**
 * crypt(3) SHA-512 of `password` with `salt` (at most 16 characters are used).
 * `rounds` undefined gives the classic form without `rounds=`.
 */
export function sha512Crypt(password: string | Buffer, salt: string, rounds?: number): string {
  const pw = Buffer.isBuffer(password) ? password : Buffer.from(password, 'utf8');
  const saltStr = salt.slice(0, 16);
  const s = Buffer.from(saltStr, 'utf8');
  const r =
    rounds === undefined ? ROUNDS_DEFAULT : Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Math.floor(rounds)));

  const b = sha512(pw, s, pw);
  const a = createHash('sha512');
  a.update(pw);
  a.update(s);
  let i = pw.length;
  for (; i > 64; i -= 64) a.update(b);
  a.update(b.subarray(0, i));
  for (i = pw.length; i > 0; i >>= 1) a.update(i & 1 ? b : pw);
  const da = a.digest();

  const dp = sha512(...Array<Buffer>(pw.length).fill(pw));
  const p = repeatTo(dp, pw.length);
  const ds = sha512(...Array<Buffer>(16 + da[0]!).fill(s));
  const sBytes = repeatTo(ds, s.length);

  let c = da;
  for (let n = 0; n < r; n++) {
    const h = createHash('sha512');
    h.update(n & 1 ? p : c);
    if (n % 3) h.update(sBytes);
    if (n % 7) h.update(p);
    h.update(n & 1 ? c : p);
    c = h.digest();
  }
  const head = rounds === undefined ? '$6$' : `$6$rounds=${r}$`;
  return `${head}${saltStr}$${encode(c)}`;
}

/** A 16-character salt from the CSPRNG, in crypt's alphabet. */
export function randomSalt(): string {
  const bytes = randomBytes(16);
  let out = '';
  for (const v of bytes) out += ALPHABET[v & 0x3f];
  return out;
}

/** Hash a plaintext password for /etc/shadow ($6$, random salt). */
export function hashPassword(plain: string, opts: { rounds?: number } = {}): string {
  return sha512Crypt(plain, randomSalt(), opts.rounds);
}

/** True for a string chpasswd -e will take as a SHA-512 crypt hash. */
export const isSha512CryptHash = (s: string): boolean =>
  /^\$6\$(rounds=[0-9]+\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$/.test(s);
