// Hostile bootkits for the hostile-input suites, made in code: the synthetic toy
// rootfs (tools present), with the rootfs.tar.gz and the initramfs wrapping chosen
// by the test. Real tar, cpio and gzip make every byte.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import zlib, { gzipSync } from 'node:zlib';
import { fileHeader, S_IFREG, trailer } from '../../electron/initramfs/cpio.ts';
import { fakeBzImage, SYNTHETIC_VERSION, toyRootfs } from '../fixtures/synthetic-bootkit.ts';

export const sh = (cmd: string, cwd: string) =>
  execFileSync('bash', ['-euo', 'pipefail', '-c', cmd], { cwd, stdio: 'pipe' });

export interface CraftOptions {
  /**
   * Shell run in the work folder after the toy tree is in `rootfs/`; it must
   * leave the member at `initramfs/rootfs.tar.gz`. Default: a clean tar.gz of it.
   */
  rootfs?: string;
  /** How the main cpio is stored in the initramfs: a shell compressor (stdin to stdout), or plain. */
  codec?: 'plain' | 'gzip' | { compress: string };
  /** The cpio format: newc (070701, default) or crc (070702, with data checksums). */
  cpio?: 'newc' | 'crc';
  /** Changes the finished initramfs image's bytes (damage done in code). */
  damage?: (img: Buffer) => Buffer;
}

/** Returns the bootkit tar.gz path (in a fresh folder under `parent`). */
export function craftBootkit(parent: string, name: string, o: CraftOptions = {}): string {
  const dir = mkdtempSync(join(parent, `craft-${name}-`));
  mkdirSync(join(dir, 'rootfs'));
  mkdirSync(join(dir, 'initramfs/dev'), { recursive: true });
  writeFileSync(join(dir, 'initramfs/init'), '#!/bin/sh\necho crafted init\n', { mode: 0o755 });
  toyRootfs(join(dir, 'rootfs'), 'gzip');
  sh(o.rootfs ?? 'tar --owner=0 --group=0 -czf initramfs/rootfs.tar.gz -C rootfs .', dir);
  const img = `initramfs-${SYNTHETIC_VERSION}.img`;
  sh(`cd initramfs && find . | LC_ALL=C sort | cpio --quiet -o -H ${o.cpio ?? 'newc'} > ../main.cpio`, dir);
  const compress =
    o.codec === 'plain' ? 'cat' : typeof o.codec === 'object' ? o.codec.compress : 'gzip -n -c';
  sh(`${compress} < main.cpio > ${img}`, dir);
  if (o.damage) writeFileSync(join(dir, img), o.damage(readFileSync(join(dir, img))));
  writeFileSync(
    join(dir, `vmlinuz-${SYNTHETIC_VERSION}`),
    fakeBzImage(`${SYNTHETIC_VERSION} (crafted) #1 SMP`),
  );
  const tarball = join(dir, `${name}.tar.gz`);
  sh(`tar -czf ${tarball} vmlinuz-${SYNTHETIC_VERSION} ${img}`, dir);
  return tarball;
}

/** A ustar header for a regular file of `size` bytes (size in 11 octal digits: up to 8 GiB). */
export function ustarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write('0', 156, 'latin1');
  h.write('ustar\x0000', 257, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/**
 * A bootkit tar.gz whose initramfs member unpacks to `zeros` bytes of zeros, a few
 * MB compressed: gzip members of 64 MiB of zeros back to back (one valid stream to
 * gunzip), after a member holding a real kernel entry and the initramfs header.
 */
export function bombBootkit(path: string, zeros: number): void {
  const kernel = fakeBzImage(`${SYNTHETIC_VERSION} (bomb) #1 SMP`);
  const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);
  const step = 64 * 2 ** 20;
  const zeroMember = gzipSync(Buffer.alloc(step), { level: 9 });
  const parts = [
    gzipSync(
      Buffer.concat([
        ustarHeader(`vmlinuz-${SYNTHETIC_VERSION}`, kernel.length),
        kernel,
        pad(kernel.length),
        ustarHeader(`initramfs-${SYNTHETIC_VERSION}.img`, zeros),
      ]),
    ),
  ];
  for (let left = zeros; left > 0; left -= step)
    parts.push(left >= step ? zeroMember : gzipSync(Buffer.alloc(left), { level: 9 }));
  parts.push(gzipSync(Buffer.concat([pad(zeros), Buffer.alloc(1024)])));
  writeFileSync(path, Buffer.concat(parts));
}

/**
 * A deflate block (fixed Huffman, not final) of 258 * k zero bytes copied from the
 * byte before it: k pairs <length 258, distance 1>, 13 bits each. With k = 6 mod 8
 * its 3 + 13k + 7 bits end on a byte, so it can be repeated as is (RFC 1951 3.2.6).
 */
function zeroBlock(k: number): Buffer {
  const out = Buffer.alloc(Math.ceil((10 + 13 * k) / 8));
  let bit = 0;
  const put = (v: number, n: number) => {
    for (let i = 0; i < n; i++, bit++) if ((v >> i) & 1) out[bit >> 3]! |= 1 << (bit & 7);
  };
  // Huffman codes go most significant bit first.
  const code = (c: number, n: number) => {
    for (let i = n - 1; i >= 0; i--, bit++) if ((c >> i) & 1) out[bit >> 3]! |= 1 << (bit & 7);
  };
  put(0, 1); // BFINAL 0
  put(1, 2); // BTYPE 01: fixed Huffman
  for (let i = 0; i < k; i++) {
    code(0b11000101, 8); // length code 285: 258
    code(0, 5); // distance code 0: 1
  }
  code(0, 7); // end of block (256)
  return out;
}

/**
 * zlib.crc32(Buffer.alloc(n), crc) without touching n bytes: the CRC register's
 * step for a zero bit is linear, so n zero bytes are that matrix to the 8n-th
 * power, by repeated squaring (the idea behind zlib's crc32_combine).
 */
export function crc32AfterZeros(crc: number, n: number): number {
  const times = (m: number[], vec: number) => {
    let s = 0;
    for (let i = 0, v = vec >>> 0; v !== 0; i++, v >>>= 1) if (v & 1) s ^= m[i]!;
    return s >>> 0;
  };
  const square = (m: number[]) => m.map((c) => times(m, c));
  // One zero bit: bit 0 feeds the reflected polynomial back, bit i moves to i - 1.
  let op = [0xedb88320, ...Array.from({ length: 31 }, (_, i) => 2 ** i)];
  op = square(square(square(op)));
  let r = ~crc >>> 0;
  for (let left = n; left > 0; left = Math.floor(left / 2), op = square(op)) if (left % 2) r = times(op, r);
  return ~r >>> 0;
}

/**
 * A gzip initramfs (one stream, newc) whose files hold `sizes` zero bytes each
 * (multiples of 4, below 4 GiB: the newc size field): a 1:158 stream of deflate
 * blocks made by hand, so 8 GiB cost 50 MB on disk and no compressor time.
 */
export function bombInitramfs(path: string, sizes: number[]): void {
  const sync = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const k = 6 + 8 * 1000;
  const block = zeroBlock(k);
  const perBlock = 258 * k;
  const parts: Buffer[] = [];
  let crc = 0;
  let total = 0;
  const plain = (b: Buffer, last = false) => {
    parts.push(zlib.deflateRawSync(b, last ? {} : sync));
    crc = zlib.crc32(b, crc);
    total += b.length;
  };
  for (const [i, size] of sizes.entries()) {
    // The header ends in NULs (name terminator, padding): distance 1 copies a zero.
    plain(fileHeader(`usr/lib/zeros-${i}.bin`, size, { ino: i + 1, mode: S_IFREG | 0o644, mtime: 0 }));
    const blocks = Math.floor(size / perBlock);
    for (let b = 0; b < blocks; b++) parts.push(block);
    crc = crc32AfterZeros(crc, blocks * perBlock);
    total += blocks * perBlock;
    plain(Buffer.alloc(size - blocks * perBlock));
  }
  plain(trailer(), true);
  const head = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(crc >>> 0, 0);
  tail.writeUInt32LE(total % 2 ** 32, 4);
  writeFileSync(path, Buffer.concat([head, ...parts, tail]));
}
