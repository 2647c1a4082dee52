// "What must be on the stick": the image file's bytes with the per-stick
// EMTCONFIG partition image laid over them at the partition's GPT offset.
import { type FileHandle, open } from 'node:fs/promises';
import { FlashError } from './flash-error.ts';
import { findConfigPartition, type GptPartition, parseGptEntries, parseGptHeader } from './gpt.ts';

export interface ExpectedImage {
  path: string;
  size: number;
  /** Where the config overlay lands, when one was given. */
  config: { partition: GptPartition; bytes: Buffer } | null;
  /** Fills `buf` with the expected bytes at `offset` (short only at the end). */
  read(buf: Buffer, offset: number): Promise<number>;
  close(): Promise<void>;
}

/** Lays `overlay` (placed at `at`) over `chunk` (which starts at `offset`). */
export function applyOverlay(chunk: Buffer, offset: number, overlay: Buffer, at: number): void {
  const start = Math.max(offset, at);
  const end = Math.min(offset + chunk.length, at + overlay.length);
  if (start < end) overlay.copy(chunk, start - offset, start - at, end - at);
}

async function readAt(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  const { bytesRead } = await fh.read(b, 0, length, position);
  return b.subarray(0, bytesRead);
}

export async function openExpectedImage(path: string, configImage?: Buffer): Promise<ExpectedImage> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new FlashError('IMAGE_UNREADABLE', `${path}: cannot open the image: ${(e as Error).message}`, path);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new FlashError('IMAGE_NOT_FILE', `${path}: is not a regular file`, path);
    if (st.size === 0) throw new FlashError('IMAGE_EMPTY', `${path}: is empty`, path);
    let config: ExpectedImage['config'] = null;
    if (configImage) {
      const header = parseGptHeader(await readAt(fh, 512, 512));
      if (!header)
        throw new FlashError(
          'NO_GPT',
          `${path}: has no GPT, so there is no EMTCONFIG partition to write`,
          path,
        );
      const entries = await readAt(fh, header.count * header.entrySize, header.entriesOffset);
      const parts = parseGptEntries(entries, header.count, header.entrySize);
      const boots = new Map<number, Buffer>();
      for (const p of parts) boots.set(p.number, await readAt(fh, 512, p.offset));
      const partition = findConfigPartition(parts, (p) => boots.get(p.number) ?? Buffer.alloc(0));
      if (!partition)
        throw new FlashError(
          'NO_CONFIG_PARTITION',
          `${path}: has no EMTCONFIG partition (by GPT name or FAT label)`,
          path,
        );
      if (partition.offset + partition.size > st.size)
        throw new FlashError('BAD_GPT', `${path}: EMTCONFIG partition ends past the image's end`, path);
      if (configImage.length > partition.size)
        throw new FlashError(
          'CONFIG_TOO_BIG',
          `config image is ${configImage.length} bytes, the EMTCONFIG partition of ${path} holds ${partition.size}`,
        );
      config = { partition, bytes: configImage };
    }
    return {
      path,
      size: st.size,
      config,
      async read(buf, offset) {
        let got = 0;
        while (got < buf.length && offset + got < st.size) {
          const { bytesRead } = await fh.read(buf, got, buf.length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        if (config) applyOverlay(buf.subarray(0, got), offset, config.bytes, config.partition.offset);
        return got;
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}
