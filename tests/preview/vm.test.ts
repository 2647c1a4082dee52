// preview --boot-vm without booting: the QEMU command line for each choice (a
// pure function), firmware and QEMU lookup, and the one-line message per OS
// when QEMU or OVMF is missing, through the CLI as a user meets it.
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../electron/cli/index.ts';
import {
  findOvmf,
  findQemu,
  missingQemuMessage,
  qemuCommand,
  type VmPlan,
} from '../../electron/preview/vm.ts';

const plan: VmPlan = {
  image: '/isos/in.iso',
  firmware: { code: '/fw/CODE.fd', vars: '/fw/VARS.fd' },
  varsCopy: '/work/VARS.fd',
  targetDisk: '/work/target.img',
  cdrom: false,
  accel: 'tcg',
  memoryMiB: 2048,
};
const pairs = (a: string[]) => a.flatMap((x, i) => (x.startsWith('-') ? [`${x} ${a[i + 1] ?? ''}`] : []));

describe('qemuCommand', () => {
  it('UEFI, USB stick as a snapshot (never written), blank NVMe target, serial on stdio, TCG', () => {
    const a = pairs(qemuCommand(plan));
    expect(a).toContain('-accel tcg');
    expect(a).toContain('-cpu max');
    expect(a).toContain('-drive if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd');
    expect(a).toContain('-drive if=pflash,format=raw,unit=1,file=/work/VARS.fd');
    expect(a).toContain('-drive if=none,id=stick,format=raw,snapshot=on,file=/isos/in.iso');
    expect(a).toContain('-device usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0');
    expect(a).toContain('-device qemu-xhci,id=xhci');
    expect(a).toContain('-drive if=none,id=target,format=raw,file=/work/target.img');
    expect(a).toContain('-device nvme,serial=emt-target,drive=target');
    expect(a).toContain('-serial stdio');
    expect(a.some((x) => x.includes('ide-cd'))).toBe(false);
  });

  it('BIOS (SeaBIOS: no pflash), the image as a read-only CD, KVM', () => {
    const a = pairs(qemuCommand({ ...plan, firmware: null, varsCopy: null, cdrom: true, accel: 'kvm' }));
    expect(a.some((x) => x.includes('pflash'))).toBe(false);
    expect(a).toContain('-drive if=none,id=cd0,media=cdrom,format=raw,readonly=on,file=/isos/in.iso');
    expect(a).toContain('-device ide-cd,drive=cd0,bootindex=0');
    expect(a).toContain('-accel kvm');
    expect(a).toContain('-cpu host');
    expect(a.some((x) => x.includes('usb-storage'))).toBe(false);
  });
});

describe('finding QEMU and OVMF', () => {
  it('takes OVMF from EMT_OVMF_CODE/VARS, else the first known pair that exists', () => {
    const env = { EMT_OVMF_CODE: '/a', EMT_OVMF_VARS: '/b' };
    expect(findOvmf(env, () => true)).toEqual({ code: '/a', vars: '/b' });
    expect(findOvmf(env, () => false)).toBeNull();
    const fedora = new Set(['/usr/share/edk2/ovmf/OVMF_CODE.fd', '/usr/share/edk2/ovmf/OVMF_VARS.fd']);
    expect(findOvmf({}, (p) => fedora.has(p))?.code).toBe('/usr/share/edk2/ovmf/OVMF_CODE.fd');
    expect(findOvmf({}, () => false)).toBeNull();
  });

  it('finds qemu-system-x86_64 on PATH', () => {
    expect(findQemu({ PATH: '/x:/y' }, (p) => p === '/y/qemu-system-x86_64')).toBe('/y/qemu-system-x86_64');
    expect(findQemu({ PATH: '/x' }, () => false)).toBeNull();
  });

  it('names the packages to install, per OS, in one line', () => {
    const linux = missingQemuMessage('qemu', 'linux');
    expect(linux).toMatch(
      /^qemu-system-x86_64 is not installed: install it with: apt install qemu-system-x86 ovmf \(Debian, Ubuntu\), dnf install qemu-system-x86 edk2-ovmf \(Fedora\)/,
    );
    expect(missingQemuMessage('qemu', 'darwin')).toBe(
      'qemu-system-x86_64 is not installed: install it with: brew install qemu',
    );
    expect(missingQemuMessage('qemu', 'win32')).toMatch(/winget install SoftwareFreedomConservancy\.QEMU$/);
    expect(missingQemuMessage('ovmf', 'linux')).toMatch(
      /^no OVMF .*apt install qemu-system-x86 ovmf.*or use --bios$/,
    );
    for (const p of ['linux', 'darwin', 'win32'] as const)
      expect(missingQemuMessage('qemu', p)).not.toContain('\n');
  });
});

describe('emt-usb preview --boot-vm when QEMU is missing', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });
  async function cli(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      args,
      { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false },
      { signals: false },
    );
    return { code, out, err };
  }

  it('says what to install in one line and exits 2', async () => {
    process.env.EMT_QEMU = '/nonexistent/qemu-system-x86_64';
    const r = await cli(['preview', import.meta.filename, '--boot-vm']);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`emt-usb preview: ${missingQemuMessage('qemu')}`]);
  });

  it('says so when OVMF is missing', async () => {
    process.env.EMT_QEMU = '/bin/true';
    process.env.EMT_OVMF_CODE = '/nonexistent/CODE.fd';
    process.env.EMT_OVMF_VARS = '/nonexistent/VARS.fd';
    const r = await cli(['preview', import.meta.filename, '--boot-vm']);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`emt-usb preview: ${missingQemuMessage('ovmf')}`]);
  });

  it('refuses a bad --disk-size', async () => {
    const r = await cli(['preview', import.meta.filename, '--boot-vm', '--disk-size', 'lots']);
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['emt-usb preview: --disk-size lots: give whole GiB, e.g. 16 or 16G']);
  });
});
