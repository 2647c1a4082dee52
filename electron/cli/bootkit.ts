// emt-usb bootkit: the bootkit from the Bootkit OS build output (emt-bootkit.tar.gz).
import { UsageError } from '../errors.ts';
import { INJECT_EPOCH, readSourceDateEpoch } from '../inputs/epoch.ts';
import { bootkit } from '../jobs/bootkit.ts';
import { bool, parseArgs, required, str } from './args.ts';
import type { Command } from './command.ts';

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export const bootkitCommand: Command = {
  name: 'bootkit',
  summary: 'make a bootkit (vmlinuz + initramfs) from the Bootkit OS build output',
  usage: [
    'usage: emt-usb bootkit --from <emt-bootkit.tar.gz> --out <dir> [--kernel-version V]',
    '                       [--drop-boot] [--pack [--tag T]] [--sha256 HEX] [--check-whole]',
    '                       [--source-date-epoch N] [--json]',
    '',
    'Takes /boot/vmlinuz-<V> and the dracut initramfs /boot/initramfs-<V>.img from the',
    'root file system tarball the Bootkit OS build writes, and writes to <dir>:',
    '  vmlinuz-<V>          the kernel, byte for byte',
    '  initramfs-<V>.img    the dracut initramfs byte for byte, then the tarball as',
    '                       rootfs.tar.gz in a trailing uncompressed newc segment (what',
    "                       dracut's tmpfs root module unpacks into RAM on the node)",
    'No unpacking to disk, no chroot, no root. The same as generate-bootkit-initramfs.sh.',
    '',
    '  --kernel-version V  which kernel when /boot holds several',
    '  --drop-boot         rootfs.tar.gz without /boot (the node does not need its own',
    '                      kernel and initramfs in RAM); costs a decode and a gzip of the',
    '                      whole tarball (tens of seconds for 400 MB) instead of a copy',
    '  --pack              also write emb_uos_x86_64_<T>.tar.gz holding both files, as',
    '                      published (T: --tag, default the kernel version)',
    '  --sha256 HEX        the tarball must have this sha256 (checked on the bytes copied)',
    '  --check-whole       decode the whole gzip stream while scanning (else the scan stops',
    '                      once /boot and os-release were seen: the floor is a copy)',
    '  --source-date-epoch N   mtime of rootfs.tar.gz in the cpio (default',
    '                      $SOURCE_DATE_EPOCH or 0)',
    '  --json              progress and the report as JSON lines (see README: --json)',
    '',
    'Refuses a tarball without a kernel or without its initramfs, an initramfs that',
    'already holds rootfs.tar.gz, and a tarball that is no root file system. Files are',
    'written beside their final names and renamed; on any error or Ctrl-C none is left.',
  ].join('\n'),
  async run(args, io, session) {
    const p = parseArgs(args, {
      from: 'string',
      out: 'string',
      'kernel-version': 'string',
      'drop-boot': 'bool',
      pack: 'bool',
      tag: 'string',
      sha256: 'string',
      'check-whole': 'bool',
      'source-date-epoch': 'string',
      json: 'bool',
    });
    if (p.positionals.length) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
    const sde = readSourceDateEpoch({ option: str(p, 'source-date-epoch') }, INJECT_EPOCH);
    const kernelVersion = str(p, 'kernel-version');
    const tag = str(p, 'tag');
    const sha256 = str(p, 'sha256');
    const r = await bootkit(
      {
        from: required(p, 'from'),
        out: required(p, 'out'),
        ...(kernelVersion !== undefined ? { kernelVersion } : {}),
        ...(bool(p, 'drop-boot') ? { dropBoot: true } : {}),
        ...(bool(p, 'pack') ? { pack: true } : {}),
        ...(tag !== undefined ? { packTag: tag } : {}),
        ...(sha256 !== undefined ? { sha256 } : {}),
        ...(bool(p, 'check-whole') ? { checkWhole: true } : {}),
        ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
      },
      { signal: session.signal, onProgress: session.progress },
    );
    session.result(r);
    if (session.json) return 0;
    io.out(`bootkit for kernel ${r.kernelVersion} (${r.seconds.toFixed(2)} s)`);
    io.out(`  ${r.kernel}`);
    io.out(
      `  ${r.initramfs}: ${mib(r.initramfsSize)}; ${r.dracutSegments} dracut segment(s) kept, rootfs.tar.gz at ${r.rootfsSegmentOffset}`,
    );
    io.out(
      `  rootfs.tar.gz: ${mib(r.rootfs.size)}${r.rootfs.sha256 ? `, sha256 ${r.rootfs.sha256}` : ''}` +
        (r.rootfs.source === 'without-boot'
          ? ` (without /boot: ${r.rootfs.droppedEntries} entries dropped)`
          : ' (the tarball byte for byte)'),
    );
    if (r.pack) io.out(`  ${r.pack}`);
    io.out(`  integrity: ${r.integrity}`);
    return 0;
  },
};
