// emt-usb build: bootkit + OS image + config -> installer ISO (+ .sha256), the
// same job the app runs. A progress bar on a terminal, JSON lines with --json.
import type { EngineChoice, RootfsMode, SecureBootReportValue } from '../api.ts';
import { UsageError } from '../errors.ts';
import { BUILD_EPOCH, readSourceDateEpoch } from '../inputs/epoch.ts';
import { build, ENGINE_CHOICES } from '../jobs/build.ts';
import { ROOTFS_MODES } from '../jobs/inject.ts';
import { bool, parseArgs, required, str } from './args.ts';
import type { Command } from './command.ts';

export const buildCommand: Command = {
  name: 'build',
  summary: 'make the installer ISO from a bootkit, an OS image and a site config',
  usage: [
    'usage: emt-usb build --bootkit <tar.gz> | --kernel F --initramfs F | --bootkit-os <tar.gz>',
    '                     --os-image F [--os-image-sha256 F] [--config F] [--password-file F]',
    '                     [--user-apps DIR] [--engine auto|wasm|native] [--bios] [--label L]',
    '                     [--cmdline "..."] [--source-date-epoch N] [--installer-scripts DIR]',
    '                     [--allow-missing-tools] [--rootfs splice|recompress]',
    '                     [--secure-boot off|shim|uki] [--trust CERT]',
    '                     [--sign-key KEY --sign-cert CERT [--sign-key-pass-file F]]',
    '                     --out <iso> [--json]',
    '',
    'Runs inspect -> inject -> stage -> ESP/config images -> master and writes <iso> and',
    '<iso>.sha256. The ISO is a hybrid: write it raw to a stick (any dd-style writer) or',
    'boot it as a CD. What goes where:',
    '  /boot/vmlinuz, /boot/initrd.img   the kernel; the initramfs with installer-scripts/',
    '  /boot/grub/grub.cfg               required kernel parameters + console/USB + --cmdline',
    '  /EFI/BOOT/BOOTX64.EFI             GRUB (also in the ESP, GPT partition 2)',
    '  /images/<os image>(.sha256)       the OS image, referenced in place, never copied',
    '  /user-apps/...                    --user-apps, when given',
    '  /emt-installer.json               manifest: build id, versions, sha256 of every file',
    '  GPT partition 3 (FAT32 EMTCONFIG) the site config and the password hash',
    '',
    '  --bootkit-os F       start from the Bootkit OS build output (emt-bootkit.tar.gz):',
    '                       the bootkit is derived first, as `emt-usb bootkit --from` does',
    '  --os-image-sha256 F  sha256sum-style file: the build stops if the image differs',
    '  --password-file F    one line: a password (at most 256 characters, no NUL; stored',
    '                       only as a SHA-512 crypt hash) or a $6$ hash; needs --config.',
    '                       A plaintext gets a random salt,',
    '                       so give the $6$ hash for byte-identical rebuilds',
    '  --engine E           xorriso engine: native (system xorriso), wasm (bundled),',
    '                       auto (native when installed); both give the same bytes',
    '  --bios               also boot on BIOS machines (GRUB El Torito + hybrid MBR)',
    '  --label L            ISO volume id, <= 32 of A-Z 0-9 _ (default EMT_INST_<date>)',
    '  --cmdline "..."      extra kernel parameters (the required ones always stay)',
    '  --source-date-epoch N  every date in the ISO (default $SOURCE_DATE_EPOCH, else now),',
    '                       315532800 to 4294967295 (FAT dates start in 1980, cpio ends in 2106):',
    '                       the same inputs and N give the same ISO, byte for byte',
    '  --installer-scripts DIR  what runs on the edge node (default: installer-scripts/)',
    '  --allow-missing-tools    build even if the bootkit lacks a tool the installer needs',
    '  --rootfs recompress  gzip the new rootfs.tar.gz whole (a little smaller, slower);',
    '                       by default (splice) the old compressed bytes are kept and only',
    '                       our files are deflated after them (--recompress-rootfs: the same)',
    "  --secure-boot shim   boot with Secure Boot on: EFI/BOOT/BOOTX64.EFI is Debian's",
    "                       Microsoft-signed shim, grubx64.efi Debian's signed GRUB, mmx64.efi",
    '                       MokManager (EFI/debian/grub.cfg finds the ISO). The kernel must be',
    "                       signed by a key shim trusts (Debian's kernels are): else refused",
    '  --trust CERT         also accept a kernel signed under CERT (PEM/DER; a MOK the nodes',
    '                       have enrolled) and report whether the chain verifies against it',
    "  --sign-key KEY --sign-cert CERT  sign the kernel with the organisation's RSA key (PEM)",
    '                       in-process; CERT goes on the ESP as EFI/BOOT/emt-mok.cer for',
    '                       MokManager (enrol once per node). Hardware tokens (PKCS#11): not supported',
    '  --secure-boot uki    (needs --sign-key/--sign-cert) EFI/BOOT/BOOTX64.EFI is a Unified',
    "                       Kernel Image: systemd's EFI stub (systemd-boot-efi) with the kernel,",
    '                       the injected initramfs, the kernel cmdline and an os-release as PE',
    "                       sections, signed with the organisation's db key; its signature covers",
    '                       the installer scripts and the cmdline. GRUB is not used for UEFI.',
    '                       CERT goes on the ESP as EFI/BOOT/emt-mok.cer (enrol it in the db).',
    '                       An ESP over 32 MiB is GPT partition 2 only: the ISO then boots as',
    '                       a USB stick, not as a CD (the build says so). --bios stays GRUB',
    "  --sign-key-pass-file F  first line: the key's passphrase (never logged)",
    '  --json               progress and the result as JSON lines on stdout (see README)',
    '',
    'Nothing is left behind on failure or Ctrl-C: the ISO is written to a temp file',
    'beside --out and renamed at the end.',
  ].join('\n'),
  async run(args, io, session) {
    const p = parseArgs(args, {
      bootkit: 'string',
      'bootkit-os': 'string',
      kernel: 'string',
      initramfs: 'string',
      'os-image': 'string',
      'os-image-sha256': 'string',
      config: 'string',
      'password-file': 'string',
      'user-apps': 'string',
      engine: 'string',
      bios: 'bool',
      label: 'string',
      cmdline: 'string',
      'source-date-epoch': 'string',
      'installer-scripts': 'string',
      'allow-missing-tools': 'bool',
      rootfs: 'string',
      'recompress-rootfs': 'bool',
      'secure-boot': 'string',
      trust: 'string',
      'sign-key': 'string',
      'sign-cert': 'string',
      'sign-key-pass-file': 'string',
      out: 'string',
      json: 'bool',
    });
    if (p.positionals.length) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
    const engine = (str(p, 'engine') ?? 'auto') as EngineChoice;
    if (!ENGINE_CHOICES.includes(engine))
      throw new UsageError(`--engine must be auto, wasm or native, got '${engine}'`);
    const rootfs = str(p, 'rootfs') ?? (bool(p, 'recompress-rootfs') ? 'recompress' : 'splice');
    if (!(ROOTFS_MODES as readonly string[]).includes(rootfs))
      throw new UsageError(`--rootfs must be splice or recompress, got '${rootfs}'`);
    if (str(p, 'rootfs') !== undefined && bool(p, 'recompress-rootfs') && rootfs !== 'recompress')
      throw new UsageError(
        '--recompress-rootfs (the old name of --rootfs recompress) contradicts --rootfs splice',
      );
    const secureBoot = str(p, 'secure-boot') ?? 'off';
    if (secureBoot !== 'off' && secureBoot !== 'shim' && secureBoot !== 'uki')
      throw new UsageError(`--secure-boot must be off, shim or uki, got '${secureBoot}'`);
    const epoch = readSourceDateEpoch({ option: str(p, 'source-date-epoch') }, BUILD_EPOCH);
    const opt = (name: string) => str(p, name);
    const r = await build(
      {
        ...pick({
          bootkit: opt('bootkit'),
          bootkitOs: opt('bootkit-os'),
          kernel: opt('kernel'),
          initramfs: opt('initramfs'),
          osImageSha256: opt('os-image-sha256'),
          config: opt('config'),
          passwordFile: opt('password-file'),
          userApps: opt('user-apps'),
          label: opt('label'),
          cmdline: opt('cmdline'),
          installerScripts: opt('installer-scripts'),
          trust: opt('trust'),
          signKey: opt('sign-key'),
          signCert: opt('sign-cert'),
          signKeyPassFile: opt('sign-key-pass-file'),
        }),
        ...(secureBoot !== 'off' ? { secureBoot } : {}),
        osImage: required(p, 'os-image'),
        out: required(p, 'out'),
        engine,
        bios: bool(p, 'bios'),
        allowMissingTools: bool(p, 'allow-missing-tools'),
        rootfs: rootfs as RootfsMode,
        ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
      },
      { signal: session.signal, onProgress: session.progress },
    );
    session.result(r);
    if (session.json) return 0;
    if (r.derivedBootkit)
      io.out(
        `bootkit derived from ${r.derivedBootkit.from} (kernel ${r.derivedBootkit.kernelVersion}): ${r.derivedBootkit.integrity}`,
      );
    if (r.missingTools.length) io.err(`warning: the bootkit lacks ${r.missingTools.join(', ')}`);
    io.out(`wrote ${r.iso} (${mib(r.size)}, label ${r.manifest.label}, build ${r.manifest.buildId})`);
    io.out(`sha256 ${r.sha256}  (${r.sha256File})`);
    io.out(r.osImageCheck.summary);
    if (r.secureBoot) for (const line of secureBootLines(r.secureBoot)) io.out(line);
    if (r.noCdBoot) io.out(r.noCdBoot);
    io.out(
      `${r.seconds.toFixed(1)} s with ${r.engine} xorriso: ` +
        r.stages.map((s) => `${s.stage} ${s.seconds.toFixed(1)} s`).join(', '),
    );
    return 0;
  },
};

const pick = <T extends Record<string, string | undefined>>(o: T): { [K in keyof T]?: string } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: string };

/** The Secure Boot report as a few lines: each binary's signer (and cert sha256), SBAT, the verdict. */
export function secureBootLines(s: SecureBootReportValue): string[] {
  const out = [`Secure Boot (${s.mode}):`];
  for (const b of s.binaries) {
    const sigs = b.signatures.map(
      (x) =>
        `${x.subject} (cert sha256 ${x.certSha256.slice(0, 16)}...${x.valid ? '' : ', INVALID'}${x.trusted ? ', under the trusted cert' : ''})`,
    );
    out.push(`  ${b.path}: ${b.signed ? `signed by ${sigs.join('; ')}` : 'not signed'}`);
    if (b.sbat.length) out.push(`    SBAT ${b.sbat.map((e) => `${e.component},${e.generation}`).join(' ')}`);
  }
  if (s.shimVendor)
    out.push(`  shim trusts ${s.shimVendor.subject} (sha256 ${s.shimVendor.sha256.slice(0, 16)}...)`);
  out.push(`  kernel signed by a trusted key: ${s.kernelTrusted ? 'yes' : 'no'}`);
  if (s.trustCert) {
    const under = (t: boolean) =>
      s.binaries
        .filter((b) => b.signatures.some((x) => x.trusted === true) === t)
        .map((b) => b.path)
        .join(', ') || 'none';
    out.push(
      `  trusted cert ${s.trustCert.subject}: kernel ${s.trustCert.verifies ? 'verifies' : 'does not verify'}; signed under it: ${under(true)}; not: ${under(false)}`,
    );
  }
  return out;
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

export { renderBar } from './progress-bar.ts';
