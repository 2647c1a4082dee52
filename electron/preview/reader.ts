// Random access to the thing being previewed (an ISO, a stick image or a block
// device), read only, counting every byte it hands out: the preview promises to
// read only what it shows, and tests hold it to that through `bytesRead`.
import { type FileHandle, open, stat } from 'node:fs/promises';
import { PreviewError } from './errors.ts';

export interface ByteReader {
  /** Name for messages (the path as given). */
  name: string;
  size: number;
  /** A block device (a stick), not an image file. */
  device: boolean;
  /** Up to `length` bytes at `position` (short only at the end). */
  read(position: number, length: number): Promise<Buffer>;
  /** Every byte returned by `read` so far. */
  readonly bytesRead: number;
  /** Bytes read by others on our behalf (the initramfs walker opens its own handle). */
  account(n: number): void;
  close(): Promise<void>;
}

/** Pure: a reader over bytes in memory (tests, small images). */
export function memoryReader(data: Buffer, name = 'memory'): ByteReader {
  let bytesRead = 0;
  return {
    name,
    size: data.length,
    device: false,
    async read(position, length) {
      const b = data.subarray(Math.min(position, data.length), Math.min(position + length, data.length));
      bytesRead += b.length;
      return b;
    },
    get bytesRead() {
      return bytesRead;
    },
    account(n) {
      bytesRead += n;
    },
    close: async () => {},
  };
}

/** A block device's size: stat says 0, so read it from the end of the device. */
async function deviceSize(fh: FileHandle): Promise<number> {
  // Binary search for the last readable byte: a handful of 1-byte reads.
  let lo = 0;
  let hi = 2 ** 53;
  const probe = Buffer.alloc(1);
  const readable = async (pos: number) =>
    (await fh.read(probe, 0, 1, pos).catch(() => ({ bytesRead: 0 }))).bytesRead === 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await readable(mid - 1)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export async function openReader(path: string): Promise<ByteReader> {
  let fh: FileHandle;
  try {
    // Stat before open: opening a FIFO would wait for a writer.
    const pre = await stat(path);
    if (!pre.isFile() && !pre.isBlockDevice())
      throw new PreviewError('NOT_A_FILE', `${path}: is neither a regular file nor a block device`, path);
    fh = await open(path, 'r');
  } catch (e) {
    if (e instanceof PreviewError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new PreviewError(
      code === 'ENOENT' ? 'NOT_FOUND' : 'UNREADABLE',
      `${path}: cannot open: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : ((e as Error).message ?? code)}`,
      path,
    );
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new PreviewError('NOT_A_FILE', `${path}: is a folder, not an image`, path);
    if (!st.isFile() && !st.isBlockDevice())
      throw new PreviewError('NOT_A_FILE', `${path}: is neither a regular file nor a block device`, path);
    const size = st.isBlockDevice() ? await deviceSize(fh) : st.size;
    if (size === 0) throw new PreviewError('EMPTY', `${path}: is empty`, path);
    let bytesRead = 0;
    return {
      name: path,
      size,
      device: st.isBlockDevice(),
      async read(position, length) {
        const n = Math.max(0, Math.min(length, size - position));
        const buf = Buffer.allocUnsafe(n);
        let got = 0;
        while (got < n) {
          const { bytesRead: r } = await fh.read(buf, got, n - got, position + got);
          if (r === 0) break;
          got += r;
        }
        bytesRead += got;
        return got === n ? buf : buf.subarray(0, got);
      },
      get bytesRead() {
        return bytesRead;
      },
      account(n) {
        bytesRead += n;
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}
