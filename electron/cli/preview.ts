// emt-usb preview: what an installer ISO, stick image or stick holds; what
// changed against another; or boot it in a VM. Parses flags, calls one job, prints.
import type { PreviewChange, PreviewDiffResult, PreviewResult, PreviewVmResult } from '../api.ts';
import { UsageError } from '../errors.ts';
import { preview, previewDiff, previewVm } from '../jobs/preview.ts';
import { bool, parseArgs, str } from './args.ts';
import type { CliIo, CliSession, Command } from './command.ts';

const size = (n: number): string =>
  n >= 2 ** 30
    ? `${(n / 2 ** 30).toFixed(1)} GiB`
    : n >= 2 ** 20
      ? `${(n / 2 ** 20).toFixed(1)} MiB`
      : n >= 1024
        ? `${(n / 1024).toFixed(1)} KiB`
        : `${n} B`;
const yes = (b: boolean) => (b ? 'yes' : 'no');

function formatBoot(r: PreviewResult, out: string[]): void {
  const b = r.boot;
  out.push('boot:');
  if (b.entries.length === 0) out.push('  El Torito: none (does not boot as a CD)');
  else {
    out.push(`  El Torito (catalog ${b.catalog ?? '?'}):`);
    for (const e of b.entries)
      out.push(
        `    ${e.platform.padEnd(5)} ${`${e.emulation === 'none' ? 'no' : e.emulation} emulation`.padEnd(18)} sector ${String(e.lba).padEnd(8)} ${size(e.size).padEnd(10)} ${e.image ?? ''}${e.bootable ? '' : ' (not bootable)'}`,
      );
  }
  out.push(
    `  hybrid: ${b.hybrid ? `yes (${r.gpt.present ? 'GPT' : 'MBR'} partitions over the ISO)` : 'no'}; MBR boot code: ${yes(r.mbr.bootCode)}`,
  );
  out.push(
    `  boots: BIOS as CD ${yes(b.bios.cd)}, as USB ${yes(b.bios.usb)}; UEFI as CD ${yes(b.uefi.cd)}, as USB ${yes(b.uefi.usb)}`,
  );
  out.push(`  Secure Boot: ${b.secureBoot.chain ? 'chain present' : 'no chain'}: ${b.secureBoot.note}`);
  for (const e of b.efiBinaries)
    out.push(
      `    ${e.path} ${size(e.size)} ${e.machine ?? '?'} ${e.signed ? 'signed' : 'unsigned'}${e.sbat.length ? ` sbat: ${e.sbat.join(',')}` : ''}${e.role !== 'other' ? ` (${e.role})` : ''}`,
    );
  out.push('');
  out.push(
    r.gpt.present
      ? `partitions (GPT, disk ${r.gpt.diskGuid}):`
      : r.mbr.present
        ? 'partitions (MBR):'
        : 'partitions: none',
  );
  if (r.partitions.length > 0) {
    out.push(
      '  #  name          type                                  first      last       size       filesystem',
    );
    for (const p of r.partitions)
      out.push(
        `  ${String(p.number).padEnd(2)} ${(p.name || '-').padEnd(13)} ${`${p.typeName} ${p.table === 'mbr' ? `(${p.type})` : ''}`.padEnd(37)} ${String(p.firstLba).padEnd(10)} ${String(p.lastLba).padEnd(10)} ${size(p.size).padEnd(10)} ${p.filesystem ? `${p.filesystem.type} ${p.filesystem.label ?? ''}` : ''}`,
      );
  }
  if (r.gpt.present && r.mbr.partitions.length > 0)
    out.push(
      `  MBR: ${r.mbr.partitions.map((p) => `${p.number}: type ${p.type}${p.bootable ? ' active' : ''} ${size(p.size)}`).join('; ')}`,
    );
  if (r.esp) {
    out.push(`  EFI image (${r.esp.location}, ${r.esp.fat}${r.esp.label ? ` ${r.esp.label}` : ''}):`);
    for (const f of r.esp.files) out.push(`    ${size(f.size).padStart(10)}  ${f.path}`);
  }
}

export function formatPreview(r: PreviewResult): string[] {
  const out: string[] = [];
  const v = r.volume;
  out.push(
    v
      ? `${r.input.path}: ISO 9660 volume ${v.id || '(no id)'} (${size(v.size)}, ${v.names === 'rockridge' ? 'Rock Ridge' : v.names === 'joliet' ? 'Joliet' : 'ISO 9660'} names), image ${size(r.input.size)}`
      : `${r.input.path}: no ISO 9660 volume, image ${size(r.input.size)}`,
  );
  if (v?.preparer) out.push(`  made by: ${v.preparer}`);
  const m = r.manifest as {
    buildId?: string;
    createdAt?: string;
    tool?: { version?: string };
    bootkit?: { source?: string; sha256?: string; kernelVersion?: string };
    kernelCmdline?: string;
    osImage?: { path?: string; size?: number };
  } | null;
  if (m) {
    out.push(
      `  emt-usb ${m.tool?.version ?? '?'} build ${m.buildId} (${m.createdAt ?? '?'}), bootkit ${m.bootkit?.source ?? '?'} (sha256 ${m.bootkit?.sha256?.slice(0, 16) ?? '?'}...)`,
    );
    if (m.osImage) out.push(`  OS image: ${m.osImage.path} (${size(m.osImage.size ?? 0)})`);
  } else out.push('  not built by emt-usb (no /emt-installer.json manifest)');
  out.push('');
  formatBoot(r, out);
  out.push('');
  out.push(r.grub.length ? 'grub.cfg:' : 'grub.cfg: none found');
  for (const g of r.grub) {
    out.push(`  ${g.file}${g.includes.length ? ` (then ${g.includes.join(', ')})` : ''}`);
    for (const e of g.entries) {
      out.push(`    '${[...e.path, e.title].join(' > ')}'`);
      out.push(`      linux ${e.kernel ?? '(none)'} ${e.cmdline}`);
      if (e.initrd.length) out.push(`      initrd ${e.initrd.join(' ')}`);
    }
  }
  out.push('');
  out.push(
    `kernel:    ${r.kernel.version ?? '(unknown)'}${r.kernel.path ? `  (${r.kernel.path}, ${r.kernel.signed ? 'signed' : 'unsigned'})` : ''}`,
  );
  const i = r.initramfs;
  if (i.path) {
    out.push(`initramfs: ${i.path}, ${i.size} bytes, ${i.segments.length} segment(s)`);
    for (const s of i.segments)
      out.push(
        `  ${String(s.index).padEnd(2)} offset ${String(s.offset).padEnd(10)} ${s.codec.padEnd(6)} ${String(s.entries).padStart(6)} entries ${size(s.size).padStart(10)}${s.rootfs ? '  rootfs.tar.gz' : ''}`,
      );
    out.push(
      i.rootfs.present
        ? `rootfs.tar.gz: ${i.rootfs.size} bytes in segment ${i.rootfs.segment} (${i.rootfs.entries} entries, ${size(i.rootfs.tarSize ?? 0)} as tar)`
        : 'rootfs.tar.gz: none',
    );
  } else out.push('initramfs: none found');
  const inst = r.installer;
  out.push(
    inst.kind === 'emt'
      ? 'installer (emt-usb layout):'
      : inst.kind === 'legacy'
        ? "installer (today's workflow: /etc/scripts, start-provision.service):"
        : 'installer: none found in the rootfs',
  );
  for (const f of inst.files)
    out.push(
      `  ${f.sha256.slice(0, 16)}  ${(f.type === 'symlink' ? '->' : String(f.size)).padStart(7)}  ${f.path}${f.linkname ? ` -> ${f.linkname}` : ''}${inst.unit?.path === f.path ? '  (unit)' : ''}`,
    );
  if (r.tools.length)
    out.push(
      r.missingTools.length
        ? `tools: MISSING ${r.missingTools.join(', ')} (${r.missingCommands.join(', ')})`
        : 'tools: all required tools present',
    );
  out.push('');
  const c = r.config;
  out.push(c.source ? `config (${c.source}, ${c.location}; secrets masked):` : 'config: none found');
  for (const [k, val] of Object.entries(c.values))
    out.push(`  ${k} = ${Array.isArray(val) ? val.join(', ') : val}`);
  out.push('');
  const total = r.files.reduce((n, f) => n + f.size, 0);
  out.push(`files (${r.files.length}, ${size(total)}):`);
  for (const f of r.files) out.push(`  ${size(f.size).padStart(10)}  ${f.path}`);
  if (r.verify) {
    out.push('');
    out.push(r.verify.ok ? `verify: ok, ${r.verify.checked} hashes match the manifest` : 'verify: FAILED');
    for (const x of r.verify.results.filter((y) => !y.ok)) out.push(`  ${x.path}: ${x.problem}`);
  }
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out;
}

const changeLine = (c: PreviewChange): string =>
  `${c.kind.padEnd(14)} ${c.change.padEnd(8)} ${c.path ?? c.key}${c.before !== undefined || c.after !== undefined ? `: ${c.before ?? '-'} -> ${c.after ?? '-'}` : ''}`;

export function formatDiff(d: PreviewDiffResult): string[] {
  if (d.changes.length === 0) return [`${d.a} and ${d.b}: no changes`];
  return [`${d.a} -> ${d.b}: ${d.changes.length} change(s)`, ...d.changes.map(changeLine)];
}

async function bootVm(
  input: string,
  p: ReturnType<typeof parseArgs>,
  io: CliIo,
  session: CliSession,
): Promise<number> {
  const ds = str(p, 'disk-size');
  let diskSizeGiB: number | undefined;
  if (ds !== undefined) {
    const m = /^(\d+)(G|GiB)?$/i.exec(ds);
    if (!m) throw new UsageError(`--disk-size ${ds}: give whole GiB, e.g. 16 or 16G`);
    diskSizeGiB = Number(m[1]);
  }
  const r: PreviewVmResult = await previewVm(
    {
      input,
      bios: bool(p, 'bios'),
      cdrom: bool(p, 'cdrom'),
      keep: bool(p, 'keep'),
      ...(diskSizeGiB !== undefined ? { diskSizeGiB } : {}),
    },
    {
      signal: session.signal,
      onProgress: (e) => {
        if (session.json) session.progress(e);
        else if (e.stage === 'serial') process.stdout.write(e.detail ?? '');
        else io.err(`emt-usb preview: ${e.detail ?? ''}`);
      },
    },
  );
  session.result(r);
  return 0;
}

export const previewCommand: Command = {
  name: 'preview',
  summary: 'show what an installer ISO, stick image or stick holds; diff two; boot one in a VM',
  usage: [
    'usage: emt-usb preview <iso | stick image | device> [--json] [--verify]',
    '       emt-usb preview <A> --against <B> [--json]',
    '       emt-usb preview <iso> --boot-vm [--bios] [--cdrom] [--disk-size N] [--keep]',
    '',
    'Reads the image without changing it and without root (a device needs read',
    'permission): the manifest (when emt-usb built it), the El Torito boot entries,',
    'MBR and GPT partitions, whether it is hybrid and what boots it (BIOS, UEFI, a',
    'Secure Boot chain of signed shim + GRUB), every grub.cfg (on the ISO and in the',
    "EFI image) with each entry's kernel cmdline, the kernel version, the initramfs",
    'segments and what its rootfs.tar.gz carries for the install (files, unit, sha256,',
    'the tool check), the EMTCONFIG config with secrets masked, and the file tree.',
    'Payloads (the OS image) are not read unless --verify is given.',
    '',
    '  --verify        hash every payload and partition the manifest lists; exit 2 on a mismatch',
    '  --against B     list what changed from the image to B: payloads (by hash), installer',
    '                  files, config keys (secrets only as "changed"), boot settings, kernel',
    '                  and bootkit versions',
    '  --boot-vm       boot it in QEMU: OVMF (UEFI), the image as a USB stick (snapshot, never',
    '                  written), a blank NVMe target; the serial console on stdout;',
    '                  Ctrl-C stops the VM. KVM when it works, else TCG (it says which)',
    '  --bios          boot with SeaBIOS instead of OVMF',
    '  --cdrom         attach the image as a CD instead of a USB stick',
    '  --disk-size N   target disk size in GiB (default 16)',
    '  --keep          keep the target disk and OVMF variables (their folder is printed)',
    '  --json          progress and the result as JSON lines (see README: preview --json)',
    '',
    'Exit status: 0 shown (or no changes found is also 0), 2 on bad input or a failed --verify.',
  ].join('\n'),
  async run(args, io, session) {
    const p = parseArgs(args, {
      json: 'bool',
      verify: 'bool',
      against: 'string',
      'boot-vm': 'bool',
      bios: 'bool',
      cdrom: 'bool',
      'disk-size': 'string',
      keep: 'bool',
    });
    if (p.positionals.length !== 1) throw new UsageError('give one ISO, stick image or device');
    const input = p.positionals[0]!;
    const against = str(p, 'against');
    const vm = bool(p, 'boot-vm');
    if (vm && (against !== undefined || bool(p, 'verify')))
      throw new UsageError('--boot-vm goes with neither --against nor --verify');
    if (!vm && (bool(p, 'bios') || bool(p, 'cdrom') || bool(p, 'keep') || str(p, 'disk-size') !== undefined))
      throw new UsageError('--bios, --cdrom, --disk-size and --keep go with --boot-vm');
    if (vm) return bootVm(input, p, io, session);
    const ctx = { signal: session.signal, onProgress: session.progress };
    if (against !== undefined) {
      if (bool(p, 'verify')) throw new UsageError('--verify goes without --against');
      const d = await previewDiff({ input, against }, ctx);
      session.result(d);
      if (!session.json) for (const l of formatDiff(d)) io.out(l);
      return 0;
    }
    const r = await preview({ input, verify: bool(p, 'verify') }, ctx);
    session.result(r);
    if (!session.json) for (const l of formatPreview(r)) io.out(l);
    if (r.verify && !r.verify.ok) {
      const bad = r.verify.results.filter((x) => !x.ok);
      io.err(
        `emt-usb preview: ${input}: ${bad.length} of ${r.verify.checked} hashes differ from the manifest (${bad.map((x) => x.path).join(', ')})`,
      );
      return 2;
    }
    return 0;
  },
};
