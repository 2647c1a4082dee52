// Boots an image in QEMU the way a user meets it: UEFI (OVMF) or BIOS (SeaBIOS,
// QEMU's default), the image as a USB stick on xHCI (or a CD), a blank NVMe disk
// as the install target, the serial console handed to the caller. The image is
// attached with snapshot=on (stick) or read-only (CD): its file never changes.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { copyFile, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PreviewError } from './errors.ts';

export const QEMU = 'qemu-system-x86_64';

export interface Firmware {
  code: string;
  vars: string;
}

export interface VmPlan {
  image: string;
  firmware: Firmware | null;
  /** Copy of the OVMF variable store (written by the VM). */
  varsCopy: string | null;
  targetDisk: string;
  cdrom: boolean;
  accel: 'kvm' | 'tcg';
  memoryMiB: number;
}

/** Pure: QEMU's argv for a plan. */
export function qemuCommand(p: VmPlan): string[] {
  const a = [
    '-machine',
    'q35',
    '-accel',
    p.accel,
    '-cpu',
    p.accel === 'kvm' ? 'host' : 'max',
    '-m',
    String(p.memoryMiB),
    '-smp',
    '2',
  ];
  if (p.firmware && p.varsCopy) {
    a.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${p.firmware.code}`);
    a.push('-drive', `if=pflash,format=raw,unit=1,file=${p.varsCopy}`);
  }
  a.push('-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-nic', 'none', '-no-reboot');
  if (p.cdrom) {
    a.push(
      '-drive',
      `if=none,id=cd0,media=cdrom,format=raw,readonly=on,file=${p.image}`,
      '-device',
      'ide-cd,drive=cd0,bootindex=0',
    );
  } else {
    a.push('-device', 'qemu-xhci,id=xhci');
    // snapshot=on: the guest's writes (the installer's log on EMTCONFIG) go to a temp overlay.
    a.push('-drive', `if=none,id=stick,format=raw,snapshot=on,file=${p.image}`);
    a.push('-device', 'usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0');
  }
  a.push(
    '-drive',
    `if=none,id=target,format=raw,file=${p.targetDisk}`,
    '-device',
    'nvme,serial=emt-target,drive=target',
  );
  return a;
}

/** Pure: the one line naming what to install, per OS. */
export function missingQemuMessage(
  what: 'qemu' | 'ovmf',
  platform: NodeJS.Platform = process.platform,
): string {
  const name = what === 'qemu' ? `${QEMU} is not installed` : 'no OVMF (UEFI firmware for QEMU) found';
  const how =
    platform === 'darwin'
      ? 'install it with: brew install qemu'
      : platform === 'win32'
        ? 'install it with: winget install SoftwareFreedomConservancy.QEMU'
        : 'install it with: apt install qemu-system-x86 ovmf (Debian, Ubuntu), dnf install qemu-system-x86 edk2-ovmf (Fedora), pacman -S qemu-system-x86 edk2-ovmf (Arch)';
  return `${name}: ${how}${what === 'ovmf' ? ', set EMT_OVMF_CODE and EMT_OVMF_VARS, or use --bios' : ''}`;
}

export const OVMF_CANDIDATES: Firmware[] = [
  { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
  { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
  { code: '/usr/share/edk2/ovmf/OVMF_CODE.fd', vars: '/usr/share/edk2/ovmf/OVMF_VARS.fd' },
  { code: '/usr/share/edk2/x64/OVMF_CODE.4m.fd', vars: '/usr/share/edk2/x64/OVMF_VARS.4m.fd' },
  { code: '/usr/share/edk2-ovmf/x64/OVMF_CODE.fd', vars: '/usr/share/edk2-ovmf/x64/OVMF_VARS.fd' },
  {
    code: '/opt/homebrew/share/qemu/edk2-x86_64-code.fd',
    vars: '/opt/homebrew/share/qemu/edk2-i386-vars.fd',
  },
  { code: '/usr/local/share/qemu/edk2-x86_64-code.fd', vars: '/usr/local/share/qemu/edk2-i386-vars.fd' },
];

export function findOvmf(
  env: NodeJS.ProcessEnv = process.env,
  exists: (p: string) => boolean = existsSync,
): Firmware | null {
  if (env.EMT_OVMF_CODE && env.EMT_OVMF_VARS)
    return exists(env.EMT_OVMF_CODE) && exists(env.EMT_OVMF_VARS)
      ? { code: env.EMT_OVMF_CODE, vars: env.EMT_OVMF_VARS }
      : null;
  return OVMF_CANDIDATES.find((f) => exists(f.code) && exists(f.vars)) ?? null;
}

export function findQemu(
  env: NodeJS.ProcessEnv = process.env,
  exists: (p: string) => boolean = existsSync,
): string | null {
  if (env.EMT_QEMU) return exists(env.EMT_QEMU) ? env.EMT_QEMU : null;
  const exe = process.platform === 'win32' ? `${QEMU}.exe` : QEMU;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const p = join(dir, exe);
    if (exists(p)) return p;
  }
  return null;
}

/**
 * KVM when /dev/kvm opens and a 3-second firmware start under it neither exits
 * nor reports a KVM error (nested/paravirtual KVM can fail only once OVMF runs).
 */
export function probeKvm(qemu: string, firmware: Firmware | null): { accel: 'kvm' | 'tcg'; why: string } {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', why: '/dev/kvm is not usable' };
  }
  // The same machine, CPU and firmware as the real run: KVM can fail on any of them.
  const args = ['-machine', 'q35', '-accel', 'kvm', '-cpu', 'host', '-smp', '2', '-m', '256'];
  args.push('-display', 'none', '-monitor', 'none', '-serial', 'none', '-nic', 'none');
  if (firmware)
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${firmware.code}`,
      '-snapshot',
      '-drive',
      `if=pflash,format=raw,unit=1,file=${firmware.vars}`,
    );
  const r = spawnSync(qemu, args, { timeout: 3000, encoding: 'utf8' });
  const err = `${r.stderr ?? ''}`;
  const timedOut = r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  if (timedOut && !/KVM internal error|kvm: /i.test(err)) return { accel: 'kvm', why: 'KVM works' };
  const lines = err
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/warning:/.test(l));
  const reason = lines.find((l) => /KVM|error/i.test(l)) ?? lines[0] ?? `QEMU exited with ${r.status}`;
  return { accel: 'tcg', why: `KVM failed: ${reason.slice(0, 120)}` };
}

export interface RunVmOptions {
  image: string;
  bios?: boolean;
  cdrom?: boolean;
  /** Target disk size in GiB (default 16). */
  diskSizeGiB?: number;
  /** Keep the work folder (target disk, OVMF variables) afterwards. */
  keep?: boolean;
  memoryMiB?: number;
  /** Serial console bytes as they come. */
  onSerial: (chunk: Buffer) => void;
  /** One line about the VM (accelerator, work folder). */
  onInfo: (line: string) => void;
  signal?: AbortSignal;
  /** Stops the VM after this many ms (tests); default none. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunVmResult {
  accel: 'kvm' | 'tcg';
  firmware: 'ovmf' | 'seabios';
  command: string[];
  workDir: string | null;
  exitCode: number | null;
  stoppedBy: 'exit' | 'cancel' | 'timeout';
}

export async function runVm(o: RunVmOptions): Promise<RunVmResult> {
  const env = o.env ?? process.env;
  const qemu = findQemu(env);
  if (!qemu) throw new PreviewError('NO_QEMU', missingQemuMessage('qemu'));
  const firmware = o.bios ? null : findOvmf(env);
  if (!o.bios && !firmware) throw new PreviewError('NO_OVMF', missingQemuMessage('ovmf'));
  const size = o.diskSizeGiB ?? 16;
  const work = await mkdtemp(join(tmpdir(), 'emt-preview-vm-'));
  let child = null as ChildProcess | null;
  try {
    const targetDisk = join(work, 'target.img');
    const fh = await open(targetDisk, 'w');
    await fh.truncate(size * 2 ** 30);
    await fh.close();
    const varsCopy = firmware ? join(work, 'OVMF_VARS.fd') : null;
    if (firmware && varsCopy) await copyFile(firmware.vars, varsCopy);
    const kvm =
      env.EMT_PREVIEW_ACCEL === 'tcg'
        ? { accel: 'tcg' as const, why: 'EMT_PREVIEW_ACCEL=tcg' }
        : probeKvm(qemu, firmware);
    const plan: VmPlan = {
      image: o.image,
      firmware,
      varsCopy,
      targetDisk,
      cdrom: o.cdrom ?? false,
      accel: kvm.accel,
      memoryMiB: o.memoryMiB ?? 2048,
    };
    let accel = kvm.accel;
    let why = kvm.why;
    for (;;) {
      const command = qemuCommand({ ...plan, accel });
      o.onInfo(
        `booting ${o.image} as a ${plan.cdrom ? 'CD' : 'USB stick'} with ${firmware ? 'OVMF (UEFI)' : 'SeaBIOS (BIOS)'} under ${accel.toUpperCase()} (${why}); target: ${size} GiB NVMe disk; Ctrl-C stops the VM`,
      );
      const t0 = Date.now();
      const run = await runQemu(qemu, command, o, (c) => {
        child = c;
      });
      // KVM that dies at start (nested or paravirtual hosts) gets one more try under TCG.
      if (
        accel === 'kvm' &&
        run.stoppedBy === 'exit' &&
        run.exitCode !== 0 &&
        Date.now() - t0 < 30_000 &&
        /kvm/i.test(run.stderr)
      ) {
        accel = 'tcg';
        why = `KVM failed at start: ${lastLine(run.stderr)}`;
        continue;
      }
      if (run.stoppedBy === 'exit' && run.exitCode !== 0)
        throw new PreviewError(
          'QEMU_FAILED',
          `${QEMU} stopped with exit code ${run.exitCode}: ${lastLine(run.stderr)}`,
        );
      if (o.keep) o.onInfo(`kept ${work} (target.img${varsCopy ? ', OVMF_VARS.fd' : ''})`);
      return {
        accel,
        firmware: firmware ? 'ovmf' : 'seabios',
        command: [qemu, ...command],
        workDir: o.keep ? work : null,
        exitCode: run.exitCode,
        stoppedBy: run.stoppedBy,
      };
    }
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!o.keep) await rm(work, { recursive: true, force: true });
  }
}

const lastLine = (text: string): string =>
  text
    .trim()
    .split('\n')
    .filter((l) => !/warning:/.test(l))
    .pop()
    ?.slice(0, 200) ?? '';

/** One QEMU run: serial to the caller, stopped by the signal or the timeout. */
async function runQemu(
  qemu: string,
  command: string[],
  o: RunVmOptions,
  started: (c: ChildProcess) => void,
): Promise<{ exitCode: number | null; stoppedBy: RunVmResult['stoppedBy']; stderr: string }> {
  // Its own process group, so a stop reaches everything it started.
  const c = spawn(qemu, command, { stdio: ['pipe', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
  started(c);
  c.stdout!.on('data', (d: Buffer) => o.onSerial(d));
  let stderr = '';
  c.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  let stoppedBy: RunVmResult['stoppedBy'] = 'exit';
  const stop = (why: RunVmResult['stoppedBy']) => {
    stoppedBy = why;
    try {
      if (c.pid !== undefined && process.platform !== 'win32') process.kill(-c.pid, 'SIGTERM');
      else c.kill('SIGTERM');
    } catch {}
  };
  const onAbort = () => stop('cancel');
  if (o.signal?.aborted) stop('cancel');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = o.timeoutMs ? setTimeout(() => stop('timeout'), o.timeoutMs) : null;
  const exitCode = await new Promise<number | null>((res, rej) => {
    c.once('error', rej);
    c.once('exit', (code) => res(code));
  }).finally(() => {
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  });
  return { exitCode, stoppedBy, stderr };
}
