import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Codec } from '../initramfs/codecs.ts';
import type { CpioEntry } from '../initramfs/cpio.ts';
import { isRootfsEntry, segmentSummaries, walkInitramfs } from '../initramfs/segments.ts';
import type { ProgressSink } from '../progress.ts';
import { type KernelSignatureReport, kernelSignature } from '../secureboot/chain.ts';
import { type KernelInfo, readKernelVersion } from './kernel-version.ts';
import { openBootkit } from './open.ts';
import {
  checkTools,
  emptyRootfsIndex,
  missingCommands,
  type RootfsIndex,
  rootfsIndexer,
  type ToolResult,
} from './tool-check.ts';

export interface InspectReport {
  source: { kind: 'tarball' | 'pair' | 'initramfs'; inputs: string[] };
  kernel:
    | (KernelInfo & { file: string })
    | { version: null; versionString: null; protocol: null; file: null };
  /** The kernel's Authenticode signature (Secure Boot), when a kernel is given. */
  kernelSignature?: KernelSignatureReport;
  initramfs: {
    file: string;
    size: number;
    segments: {
      index: number;
      offset: number;
      length: number;
      codec: Codec;
      entries: number;
      size: number;
      rootfs: boolean;
    }[];
  };
  rootfs: {
    present: boolean;
    /** Size of rootfs.tar.gz in bytes (compressed), or null. */
    size: number | null;
    /** Index of the segment holding the rootfs.tar.gz the kernel keeps. */
    segment: number | null;
    /** Entries and uncompressed size of its tar stream. */
    entries: number | null;
    tarSize: number | null;
  };
  tools: ToolResult[];
  /** Names (packages) of the tools not found. */
  missingTools: string[];
  /** The required commands behind them, e.g. ["route"] (optional ones are not counted). */
  missingCommands: string[];
}

export async function inspectBootkit(
  inputs: string[],
  opts: { onProgress?: ProgressSink; signal?: AbortSignal } = {},
): Promise<InspectReport> {
  const bk = await openBootkit(inputs);
  try {
    const kernel = bk.kernel
      ? {
          ...(await readKernelVersion(bk.kernel, bk.kernelName ?? bk.kernel)),
          file: bk.kernelName ?? bk.kernel,
        }
      : { version: null, versionString: null, protocol: null, file: null };
    // The last rootfs.tar.gz wins (as in the kernel); index each one as it streams past.
    let lastIndex: RootfsIndex | null = null;
    const layout = await walkInitramfs(bk.initramfs, {
      displayName: bk.initramfsName,
      strictNames: true,
      signal: opts.signal,
      onProgress: opts.onProgress,
      handlers: () => {
        let sink: Writable | null = null;
        let index: Promise<RootfsIndex> | null = null;
        return {
          entry: (e: CpioEntry) => {
            if (!isRootfsEntry(e)) return false;
            ({ sink, index } = rootfsIndexer(`rootfs.tar.gz in ${bk.initramfsName}`));
            return true;
          },
          data: async (_e, chunk) => {
            if (sink && !sink.write(chunk)) {
              // Not once(): a sink error must come through `index`, worded as the member's.
              const s = sink;
              await Promise.race([new Promise((res) => s.once('drain', res)), index]);
            }
          },
          end: async () => {
            sink?.end();
            if (index) lastIndex = await index;
          },
        };
      },
    });
    const seg = layout.rootfsSegment >= 0 ? layout.segments[layout.rootfsSegment]! : null;
    const idx = lastIndex as RootfsIndex | null;
    const tools = checkTools(idx ?? emptyRootfsIndex());
    return {
      source: { kind: bk.kind, inputs },
      kernel,
      ...(bk.kernel ? { kernelSignature: kernelSignature(await readFile(bk.kernel), kernel.file!) } : {}),
      initramfs: {
        file: bk.initramfsName,
        size: layout.size,
        segments: segmentSummaries(layout),
      },
      rootfs: {
        present: seg !== null,
        size: seg?.rootfs?.size ?? null,
        segment: seg?.index ?? null,
        entries: idx?.entries ?? null,
        tarSize: idx?.tarSize ?? null,
      },
      tools,
      missingTools: tools.filter((t) => !t.found).map((t) => t.name),
      missingCommands: tools.flatMap(missingCommands),
    };
  } finally {
    await bk.cleanup();
  }
}
