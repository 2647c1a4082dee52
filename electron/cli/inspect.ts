// emt-usb inspect: what a bootkit holds, and whether it has what the installer needs.
import type { InspectResult } from '../api.ts';
import { UsageError } from '../errors.ts';
import { inspect } from '../jobs/inspect.ts';
import { isInstallerImage } from '../jobs/preview.ts';
import { parseArgs } from './args.ts';
import type { Command } from './command.ts';

const mib = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} B`);

export function formatInspect(r: InspectResult): string[] {
  const out: string[] = [];
  out.push(`kernel:    ${r.kernel.version ?? '(none given)'}${r.kernel.file ? `  (${r.kernel.file})` : ''}`);
  const ks = r.kernelSignature;
  if (ks)
    out.push(
      `signature: ${
        ks.signed
          ? ks.signatures
              .map(
                (s) =>
                  `${s.subject} (cert sha256 ${s.certSha256.slice(0, 16)}...${s.valid ? '' : ', INVALID'})`,
              )
              .join('; ')
          : ks.efi
            ? 'not signed (refused by build --secure-boot shim)'
            : 'not an EFI binary'
      }`,
    );
  out.push(
    `initramfs: ${r.initramfs.file}, ${r.initramfs.size} bytes, ${r.initramfs.segments.length} segment(s)`,
  );
  out.push('');
  out.push('  #  offset      length      codec  entries  uncompressed  rootfs.tar.gz');
  for (const s of r.initramfs.segments) {
    out.push(
      `  ${String(s.index).padEnd(2)} ${String(s.offset).padEnd(11)} ${String(s.length).padEnd(11)} ${s.codec.padEnd(6)} ${String(s.entries).padEnd(8)} ${mib(s.size).padEnd(13)} ${s.rootfs ? 'yes' : ''}`,
    );
  }
  out.push('');
  out.push(
    r.rootfs.present
      ? `rootfs.tar.gz: ${r.rootfs.size} bytes in segment ${r.rootfs.segment} (${r.rootfs.entries} entries, ${mib(r.rootfs.tarSize ?? 0)} as tar)`
      : 'rootfs.tar.gz: MISSING (this initramfs cannot carry the installer)',
  );
  out.push('');
  out.push('  package       command     found  path');
  for (const t of r.tools) {
    for (const c of t.commands) {
      const found = c.found ? 'yes' : c.optional ? 'no (optional)' : 'NO';
      out.push(
        `  ${t.name.padEnd(13)} ${c.command.padEnd(11)} ${found.padEnd(6)} ${c.path ?? ''}${c.resolved ? ` -> ${c.resolved}` : ''}`,
      );
    }
  }
  out.push('');
  out.push(
    r.missingTools.length
      ? `missing tools: ${r.tools
          .filter((t) => !t.found)
          .map((t) => {
            const cmds = t.commands.filter((c) => !c.found && !c.optional).map((c) => c.command);
            return cmds.length === 1 && cmds[0] === t.name ? t.name : `${t.name} (${cmds.join(', ')})`;
          })
          .join(', ')} (the installer needs them)`
      : r.rootfs.present
        ? 'all required tools present'
        : 'tools not checked: no rootfs.tar.gz',
  );
  return out;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'report kernel, initramfs segments, rootfs.tar.gz and required tools of a bootkit',
  usage: [
    'usage: emt-usb inspect <bootkit.tar.gz | initramfs | vmlinuz initramfs> [--json]',
    '       emt-usb inspect <installer.iso> [--json]   (the same as emt-usb preview <iso>)',
    '',
    'Reads a bootkit without changing it: the kernel version from the bzImage header,',
    'every initramfs segment (offset, codec, entry count, uncompressed size), whether',
    'rootfs.tar.gz is present and its size, and where each command the installer',
    'runs sits in the rootfs, by package: the list in installer-scripts/required-commands.txt',
    '(systemd, bash, util-linux, parted, lvm2, e2fsprogs, passwd, efibootmgr, gawk,',
    'net-tools, coreutils...). Symlinks inside the rootfs (merged /usr) are followed.',
    '',
    '  --json   progress and the report as JSON lines (see README: --json)',
    '',
    'Exit status: 0 when the bootkit could be inspected (even with tools missing),',
    '2 on bad input (one line naming the file and the problem).',
  ].join('\n'),
  async run(args, io, session) {
    const p = parseArgs(args, { json: 'bool' });
    if (p.positionals.length < 1 || p.positionals.length > 2) {
      throw new UsageError('give a bootkit tar.gz, an initramfs, or a vmlinuz and an initramfs');
    }
    // An installer ISO (or a stick holding one) is answered by preview.
    if (await isInstallerImage(p.positionals)) {
      const { previewCommand } = await import('./preview.ts');
      return previewCommand.run(args, io, session);
    }
    const report = await inspect(
      { inputs: p.positionals },
      { signal: session.signal, onProgress: session.progress },
    );
    session.result(report);
    if (!session.json) for (const line of formatInspect(report)) io.out(line);
    return 0;
  },
};
