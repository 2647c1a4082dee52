// Boot proof of our GRUB images: a tiny hybrid ISO in the DESIGN layout (appended
// GPT ESP from espImage, -partition_offset 16, El Torito EFI + BIOS entries) boots
// under OVMF as CD and as USB stick and under SeaBIOS as USB stick and CD; the
// early config inside BOOTX64.EFI / eltorito.img finds the ISO by its marker and
// runs the ISO's grub.cfg. A second run boots a real kernel through grubCfg().
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootLoaders } from '../../electron/iso/boot-loaders.ts';
import { espImage } from '../../electron/iso/esp-image.ts';
import { grubCfg, REQUIRED_PARAMS } from '../../electron/iso/grub-cfg.ts';
import { sampleKernel } from '../fixtures/sample-kernel.ts';
import { bootVm, tail } from './qemu.ts';

const run = promisify(execFile);
const EPOCH = 1764115200;
const BUILD_ID = 'h6-boot-proof-1';
const ESP_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const NOT_FOUND = /emt: installer filesystem not found/;

// GRUB prints to its serial terminal and (under OVMF) the firmware console mirrors it too.
const probeCfg = (tag: string) =>
  [
    'serial --unit=0 --speed=115200',
    'terminal_output serial console',
    // What a plain search (without the $cmdpath preference) would have picked.
    'search --no-floppy --file --set=emt_first /.disk/emt-installer',
    `echo "${tag} build=${BUILD_ID} root=$root cmdpath=[$cmdpath] search=[$emt_first]"`,
    'sleep 1',
    'halt',
    '',
  ].join('\n');

interface Tree {
  [isoPath: string]: string | Buffer;
}

async function master(work: string, name: string, tree: Tree, boot: boolean): Promise<string> {
  const dir = join(work, `${name}-tree`);
  for (const [p, data] of Object.entries(tree)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), data);
  }
  const out = join(work, `${name}.iso`);
  const args = [
    '-as',
    'mkisofs',
    '-o',
    out,
    '-iso-level',
    '3',
    '-full-iso9660-filenames',
    '-joliet',
    '-joliet-long',
  ];
  args.push('-rational-rock', '-V', 'EMT_BOOT_TEST');
  if (boot) {
    const bl = bootLoaders();
    const esp = join(work, `${name}-esp.img`);
    await writeFile(esp, await espImage({ efiBinary: bl.efi, dateEpoch: EPOCH }));
    args.push('-partition_offset', '16', '--grub2-mbr', bl.biosHybridMbr, '--mbr-force-bootable');
    args.push('-append_partition', '2', ESP_GUID, esp, '-appended_part_as_gpt');
    args.push(
      '-iso_mbr_part_type',
      'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
      '-eltorito-catalog',
      'boot/boot.cat',
    );
    args.push('-eltorito-boot', 'boot/grub/i386-pc/eltorito.img', '-no-emul-boot', '-boot-load-size', '4');
    args.push('-boot-info-table', '--grub2-boot-info', '-eltorito-alt-boot');
    args.push('-e', '--interval:appended_partition_2:all::', '-no-emul-boot');
  }
  args.push(dir);
  await run('xorriso', args, { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH), LANG: 'C.UTF-8' } });
  return out;
}

async function bootTree(grubCfgText: string): Promise<Tree> {
  const bl = bootLoaders();
  return {
    '.disk/emt-installer': `${BUILD_ID}\n`,
    'boot/grub/grub.cfg': grubCfgText,
    'boot/grub/i386-pc/eltorito.img': await readFile(bl.biosEltorito),
    'EFI/BOOT/BOOTX64.EFI': await readFile(bl.efi),
  };
}

let work: string;
let probeIso: string;
let decoyIso: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'emt-boot-loaders-'));
  probeIso = await master(work, 'probe', await bootTree(probeCfg('EMT-BOOT-OK')), true);
  // Another installer's filesystem (same marker, its own grub.cfg), not bootable itself.
  decoyIso = await master(
    work,
    'decoy',
    { '.disk/emt-installer': 'someone-else\n', 'boot/grub/grub.cfg': probeCfg('EMT-DECOY') },
    false,
  );
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const okLine = /EMT-BOOT-OK build=h6-boot-proof-1 root=(\S+) cmdpath=\[([^\]]*)\] search=\[([^\]]*)\]/;

describe('GRUB early config finds the ISO and runs its grub.cfg', () => {
  it.each([
    ['UEFI', 'CD', 'ovmf', 'cdrom'],
    ['UEFI', 'USB stick', 'ovmf', 'usbStick'],
    ['BIOS', 'USB stick', 'seabios', 'usbStick'],
    ['BIOS', 'CD', 'seabios', 'cdrom'],
  ] as const)('%s as %s', async (_mode, _as, firmware, medium) => {
    const r = await bootVm({
      firmware,
      [medium]: probeIso,
      memoryMiB: 512,
      timeoutMs: 120_000,
      waitFor: okLine,
      failOn: [NOT_FOUND],
      workDir: join(work, `vm-${firmware}-${medium}`),
    });
    expect(r.matched, `${r.reason} after ${r.elapsedMs} ms:\n${tail(r.serialLog)}`).toBe(true);
    const [, root, cmdpath] = okLine.exec(r.serialLog)!;
    // root is the disk GRUB came from (its regexp of $cmdpath), not a search result elsewhere.
    expect(cmdpath?.startsWith(`(${root}`)).toBe(true);
    console.log(`${firmware} ${medium}: root=${root} cmdpath=${cmdpath} in ${r.elapsedMs} ms`);
  });

  it('prefers the disk it was loaded from over another installer disk', async () => {
    // Loaded from the CD; the decoy is an NVMe disk, which GRUB lists before CDs.
    const r = await bootVm({
      firmware: 'ovmf',
      cdrom: probeIso,
      nvme: [decoyIso],
      memoryMiB: 512,
      timeoutMs: 120_000,
      waitFor: okLine,
      failOn: [NOT_FOUND, /EMT-DECOY/],
      workDir: join(work, 'vm-decoy'),
    });
    expect(r.matched, `${r.reason} after ${r.elapsedMs} ms:\n${tail(r.serialLog)}`).toBe(true);
    const [, root, , first] = okLine.exec(r.serialLog)!;
    // A plain search would have taken the decoy: the $cmdpath preference is what avoids it.
    expect(root).toBe('cd0');
    expect(first).not.toBe(root);
    console.log(`decoy: root=${root}, a plain search would give ${first}`);
  });
});

describe('GRUB early config without the marker', () => {
  it('says so instead of booting some other grub.cfg (BIOS USB stick)', async () => {
    const tree = await bootTree(probeCfg('EMT-BOOT-OK'));
    delete tree['.disk/emt-installer'];
    const iso = await master(work, 'nomarker', tree, true);
    const r = await bootVm({
      firmware: 'seabios',
      usbStick: iso,
      memoryMiB: 512,
      timeoutMs: 120_000,
      waitFor: NOT_FOUND,
      failOn: [/EMT-BOOT-OK/],
      workDir: join(work, 'vm-nomarker'),
    });
    expect(r.matched, `${r.reason} after ${r.elapsedMs} ms:\n${tail(r.serialLog)}`).toBe(true);
  });
});

describe('grubCfg() boots a kernel with the required parameters', () => {
  let iso: string;
  beforeAll(async () => {
    const kernel = await sampleKernel();
    // An empty newc archive is a valid initramfs; we stop at the kernel's first lines.
    const trailer = Buffer.from(`070701${'0'.repeat(8 * 11)}0000000b00000000TRAILER!!!\0\0\0\0`);
    const tree = await bootTree(
      grubCfg({ label: 'EMT_BOOT_TEST', cmdlineExtra: 'emt.proof=grubcfg', bios: true }),
    );
    tree['boot/vmlinuz'] = await readFile(kernel.vmlinuz);
    tree['boot/initrd.img'] = trailer;
    iso = await master(work, 'kernel', tree, true);
  });

  it.each([
    ['UEFI', 'ovmf'],
    ['BIOS', 'seabios'],
  ] as const)('%s USB stick: the kernel reports the full command line', async (_mode, firmware) => {
    const cmdline = new RegExp(`Kernel command line: .*${REQUIRED_PARAMS.join(' ')}.*emt\\.proof=grubcfg`);
    const r = await bootVm({
      firmware,
      usbStick: iso,
      memoryMiB: 1024,
      timeoutMs: 300_000,
      waitFor: cmdline,
      failOn: [NOT_FOUND, /error: /],
      workDir: join(work, `vm-kernel-${firmware}`),
    });
    expect(r.matched, `${r.reason} after ${r.elapsedMs} ms:\n${tail(r.serialLog)}`).toBe(true);
    console.log(`${firmware} kernel via grubCfg(): command line seen after ${r.elapsedMs} ms`);
  });
});
