// Open what the user gave us as a bootkit: a bootkit tar.gz (vmlinuz* and initramfs*
// at any depth, streamed out to a temp dir), a vmlinuz + initramfs pair, or an
// initramfs alone. Callers must call cleanup() when done.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { BootkitError } from './errors.ts';
import { parseBzImage } from './kernel-version.ts';

export interface OpenedBootkit {
  kind: 'tarball' | 'pair' | 'initramfs';
  /** Path of the kernel on disk (extracted for a tarball), or null. */
  kernel: string | null;
  initramfs: string;
  /** Names for messages and reports, e.g. "bootkit.tar.gz:emb/initramfs-6.6.img". */
  kernelName: string | null;
  initramfsName: string;
  cleanup(): Promise<void>;
}

type Kind = 'bzimage' | 'gzip-tar' | 'gzip-other' | 'plain-tar' | 'other';

async function sniff(path: string): Promise<Kind> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new BootkitError('OPEN', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, path);
  }
  try {
    const head = Buffer.alloc(0x10000);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const b = head.subarray(0, bytesRead);
    if (b.length > 0x206 && b.toString('latin1', 0x202, 0x206) === 'HdrS') return 'bzimage';
    if (b[0] === 0x1f && b[1] === 0x8b) {
      // A gzip initramfs and a bootkit tar.gz look alike: peek inside.
      let inner: Buffer;
      try {
        inner = zlib.gunzipSync(b, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch {
        return 'gzip-other';
      }
      if (inner.length >= 262 && inner.toString('latin1', 257, 262) === 'ustar') return 'gzip-tar';
      return 'gzip-other';
    }
    if (b.length >= 262 && b.toString('latin1', 257, 262) === 'ustar') return 'plain-tar';
    return 'other';
  } finally {
    await fh.close();
  }
}

const noop = async () => {};

export async function openBootkit(inputs: string[]): Promise<OpenedBootkit> {
  if (inputs.length === 0 || inputs.length > 2) {
    throw new BootkitError('USAGE', 'give a bootkit tar.gz, an initramfs, or a vmlinuz and an initramfs');
  }
  const kinds = await Promise.all(inputs.map(sniff));
  if (inputs.length === 2) {
    const k = kinds.indexOf('bzimage');
    if (k < 0)
      throw new BootkitError(
        'NOT_BZIMAGE',
        `neither ${inputs[0]} nor ${inputs[1]} is a bzImage kernel`,
        inputs[0],
      );
    const i = 1 - k;
    if (kinds[i] === 'bzimage')
      throw new BootkitError('NO_INITRAMFS', `${inputs[i]} is a kernel, not an initramfs`, inputs[i]);
    return {
      kind: 'pair',
      kernel: inputs[k]!,
      initramfs: inputs[i]!,
      kernelName: inputs[k]!,
      initramfsName: inputs[i]!,
      cleanup: noop,
    };
  }
  const [input] = inputs as [string];
  if (kinds[0] === 'bzimage') {
    throw new BootkitError(
      'NO_INITRAMFS',
      `${input} is a kernel; give its initramfs too (vmlinuz initramfs)`,
      input,
    );
  }
  if (kinds[0] === 'gzip-tar') return extractTarball(input);
  if (kinds[0] === 'plain-tar') {
    throw new BootkitError(
      'NOT_BOOTKIT',
      `${input} is an uncompressed tar; a bootkit is a tar.gz (gzip it)`,
      input,
    );
  }
  return {
    kind: 'initramfs',
    kernel: null,
    initramfs: input,
    kernelName: null,
    initramfsName: input,
    cleanup: noop,
  };
}

/**
 * What a member may expand to on disk, checked on its tar header before a byte is
 * written: a bzImage is tens of MB; an initramfs is loaded whole into the node's
 * memory by the boot loader, and none real comes near 2 GiB.
 */
export const MAX_MEMBER_BYTES = { kernel: 256 * 2 ** 20, initramfs: 2 * 2 ** 30 } as const;

const mib = (n: number) => `${Math.ceil(n / 2 ** 20)} MiB`;

/** Refuses a member before it is unpacked: over its cap, or bigger than the temp folder's free space. */
async function checkMemberRoom(
  tarball: string,
  name: string,
  target: 'kernel' | 'initramfs',
  size: number,
  dir: string,
) {
  const cap = MAX_MEMBER_BYTES[target];
  if (size > cap)
    throw new BootkitError(
      'MEMBER_TOO_LARGE',
      `${tarball}: ${name} would unpack to ${mib(size)}; a bootkit's ${target} is at most ${mib(cap)} (${target === 'kernel' ? 'a kernel is tens of MB' : 'the boot loader loads it whole into memory'}), so this is not one`,
      tarball,
    );
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  // Leave a margin: the work that follows writes beside the output, not here, but others share the disk.
  if (size + 64 * 2 ** 20 > free)
    throw new BootkitError(
      'NO_SPACE',
      `not enough space in the temp folder to unpack ${name} from ${tarball}: ${mib(size)} needed, ${mib(free)} free in ${tmpdir()}`,
      tarball,
    );
}

const isKernelName = (n: string) => /^vmlinu[xz]/.test(n);
const isInitramfsName = (n: string) => /^(initramfs|initrd)/.test(n);

async function extractTarball(tarball: string): Promise<OpenedBootkit> {
  const dir = await mkdtemp(join(tmpdir(), 'emt-bootkit-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  let kernel: { path: string; name: string } | null = null;
  let initramfs: { path: string; name: string } | null = null;
  try {
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const base = basename(header.name);
      const type = header.type ?? 'file';
      let target: 'kernel' | 'initramfs' | null = null;
      if (type === 'file' && isKernelName(base) && !kernel) target = 'kernel';
      else if (type === 'file' && isInitramfsName(base) && !initramfs) target = 'initramfs';
      if (!target) {
        stream.on('end', () => next());
        stream.resume();
        return;
      }
      const path = join(dir, target);
      const rec = { path, name: `${tarball}:${header.name}` };
      if (target === 'kernel') kernel = rec;
      else initramfs = rec;
      // A refusal destroys the extractor, and with it this stream: its error is the extractor's.
      stream.on('error', () => {});
      checkMemberRoom(tarball, header.name, target, header.size ?? 0, dir)
        .then(() => pipeline(stream, createWriteStream(path)))
        .then(
          () => next(),
          (e: Error) => {
            stream.resume();
            next(e);
          },
        );
    });
    try {
      // Big chunks: a bootkit is hundreds of MB and 16 KiB steps cost more than the inflate.
      await pipeline(
        createReadStream(tarball, { highWaterMark: 1 << 20 }),
        zlib.createGunzip({ chunkSize: 1 << 20 }),
        extract,
      );
    } catch (e) {
      if (e instanceof BootkitError) throw e;
      throw new BootkitError(
        'BAD_TARBALL',
        `${tarball} is not a readable tar.gz: ${(e as Error).message}`,
        tarball,
      );
    }
    const k = kernel as { path: string; name: string } | null;
    const i = initramfs as { path: string; name: string } | null;
    if (!k || !i) {
      const missing = !k && !i ? 'vmlinuz*/initramfs*' : !k ? 'vmlinuz*' : 'initramfs*';
      throw new BootkitError('NOT_BOOTKIT', `${tarball} is not a bootkit: no ${missing} inside`, tarball);
    }
    // A file named vmlinuz* that is no kernel is as bad as none.
    const head = Buffer.alloc(0x10000);
    const fh = await open(k.path, 'r');
    try {
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      parseBzImage(head.subarray(0, bytesRead), k.name);
    } finally {
      await fh.close();
    }
    return {
      kind: 'tarball',
      kernel: k.path,
      initramfs: i.path,
      kernelName: k.name,
      initramfsName: i.name,
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
