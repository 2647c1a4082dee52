// QEMU harness for the VM tests: q35 under TCG (KVM does not work here), OVMF or
// SeaBIOS, a serial log polled until the wanted lines show up. QEMU (and its process
// group) is always killed at the end, whatever happened.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, copyFile, mkdir, open, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
/** OVMF with Secure Boot enforced (needs SMM): Microsoft's keys, or Debian's snakeoil key in PK/KEK/db. */
export const OVMF_SECURE = {
  ms: { code: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd' },
  snakeoil: {
    code: '/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd',
    vars: '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd',
  },
} as const;

export interface BootVmOptions {
  kernel?: string;
  initrd?: string;
  /** Kernel cmdline (with `kernel`); `console=ttyS0` is added when missing. */
  append?: string;
  cdrom?: string;
  /** Raw image attached as a USB stick on an xHCI controller. */
  usbStick?: string;
  /** The xHCI controller (`xhci`) even without a stick, to hot-plug one later. */
  usbController?: boolean;
  /** QEMU's human monitor on this unix socket (for `hmp`), instead of no monitor. */
  monitorSocket?: string;
  /** Run once each, in order, when its pattern first shows on the serial console. */
  on?: { match: RegExp; run: () => Promise<void> }[];
  /** Raw images attached as NVMe disks, serials emt-nvme0, emt-nvme1, ... */
  nvme?: string[];
  firmware: 'ovmf' | 'seabios';
  /** OVMF with Secure Boot on (SMM, secure pflash) and these keys enrolled. */
  secureBoot?: keyof typeof OVMF_SECURE;
  memoryMiB?: number;
  /** QEMU CPU model (default `max`). */
  cpu?: string;
  timeoutMs: number;
  /** Every pattern must be seen on the serial console (ANSI escapes stripped). */
  waitFor: RegExp | RegExp[];
  /** Any of these seen first ends the boot as not matched. */
  failOn?: RegExp[];
  /** OVMF variable store to use (and keep); by default a fresh copy in workDir. */
  varsFile?: string;
  workDir: string;
}

export interface BootVmResult {
  matched: boolean;
  serialLog: string;
  logPath: string;
  elapsedMs: number;
  varsFile?: string;
  /** Why the run ended. */
  reason: 'matched' | 'failOn' | 'exited' | 'timeout';
  /** The failOn pattern that hit, if any. */
  failedOn?: string;
}

// CSI sequences (colours, cursor moves), other ESC sequences and carriage returns.
export function stripAnsi(text: string): string {
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()][0-9A-Za-z]/g, '')
    .replace(/\x1b[@-_]/g, '')
    .replace(/\r/g, '');
}

export function qemuArgs(o: BootVmOptions, logPath: string, varsFile: string | undefined): string[] {
  // `-cpu max` brings RDRAND, so the guest kernel's RNG is ready at boot. With the
  // default qemu64 model it becomes ready late, and patching its static key while the
  // other vCPU sits in getrandom() left PID 1 in a soft lockup forever under TCG here.
  const a = [
    '-machine',
    o.secureBoot ? 'q35,smm=on' : 'q35',
    '-accel',
    'tcg',
    '-cpu',
    o.cpu ?? 'max',
    '-m',
    String(o.memoryMiB ?? 2048),
    '-smp',
    '2',
  ];
  if (o.firmware === 'ovmf') {
    if (o.secureBoot) a.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
    a.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${o.secureBoot ? OVMF_SECURE[o.secureBoot].code : OVMF_CODE}`,
    );
    a.push('-drive', `if=pflash,format=raw,unit=1,file=${varsFile}`);
  }
  const monitor = o.monitorSocket ? `unix:${o.monitorSocket},server=on,wait=off` : 'none';
  a.push('-display', 'none', '-monitor', monitor, '-no-reboot', '-serial', `file:${logPath}`, '-nic', 'none');
  if (o.kernel) {
    a.push('-kernel', o.kernel);
    if (o.initrd) a.push('-initrd', o.initrd);
    const append = o.append ?? '';
    a.push('-append', /(^|\s)console=ttyS0/.test(append) ? append : `${append} console=ttyS0`.trim());
  }
  if (o.cdrom)
    a.push(
      '-drive',
      `if=none,id=cd0,media=cdrom,format=raw,readonly=on,file=${o.cdrom}`,
      '-device',
      'ide-cd,drive=cd0',
    );
  if (o.usbStick || o.usbController) a.push('-device', 'qemu-xhci,id=xhci');
  if (o.usbStick) {
    a.push('-drive', `if=none,id=stick,format=raw,file=${o.usbStick}`);
    a.push('-device', 'usb-storage,bus=xhci.0,drive=stick,removable=on');
  }
  (o.nvme ?? []).forEach((disk, i) => {
    a.push('-drive', `if=none,id=nvme${i},format=raw,file=${disk}`);
    a.push('-device', `nvme,serial=emt-nvme${i},drive=nvme${i}`);
  });
  return a;
}

// QEMU processes still running, killed if the test process exits early.
const live = new Set<ChildProcess>();
let guarded = false;
// QEMU runs in its own process group (so it can be killed whole), which also means a
// signal to the test runner does not reach it: forward the end of this process.
function guardExit(): void {
  if (guarded) return;
  guarded = true;
  process.once('exit', () => {
    for (const c of live) killGroup(c, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const c of live) killGroup(c, 'SIGKILL');
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {}
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function bootVm(o: BootVmOptions): Promise<BootVmResult> {
  await mkdir(o.workDir, { recursive: true });
  for (const f of [o.kernel, o.initrd, o.cdrom, o.usbStick, ...(o.nvme ?? []), o.varsFile]) {
    if (f) await access(f).catch(() => Promise.reject(new Error(`bootVm: ${f} does not exist`)));
  }
  let varsFile: string | undefined;
  if (o.firmware === 'ovmf') {
    varsFile = o.varsFile ?? join(o.workDir, 'OVMF_VARS.fd');
    if (!o.varsFile) await copyFile(o.secureBoot ? OVMF_SECURE[o.secureBoot].vars : OVMF_VARS, varsFile);
  }
  const logPath = join(o.workDir, 'serial.log');
  await writeFile(logPath, '');
  const args = qemuArgs(o, logPath, varsFile);
  await writeFile(join(o.workDir, 'qemu.cmdline'), `qemu-system-x86_64 ${args.join(' ')}\n`);
  const stderrPath = join(o.workDir, 'qemu.stderr');
  const stderrFile = createWriteStream(stderrPath);
  let stderr = '';

  const started = Date.now();
  const child = spawn('qemu-system-x86_64', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  guardExit();
  live.add(child);
  const onOut = (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-8000);
    stderrFile.write(d);
  };
  child.stdout!.on('data', onOut);
  child.stderr!.on('data', onOut);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((res) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      res();
    });
    child.once('error', (e) => {
      spawnError = e;
      res();
    });
  });

  const wanted = Array.isArray(o.waitFor) ? o.waitFor : [o.waitFor];
  const fh = await open(logPath, 'r');
  let raw = '';
  let pos = 0;
  const readMore = async () => {
    for (;;) {
      const buf = Buffer.alloc(256 * 1024);
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      raw += buf.subarray(0, bytesRead).toString('latin1');
    }
  };
  let reason: BootVmResult['reason'] = 'timeout';
  let failedOn: string | undefined;
  let elapsedMs = 0;
  const hooks = [...(o.on ?? [])];
  try {
    for (;;) {
      const done = exit !== undefined || spawnError !== undefined;
      await readMore();
      const log = stripAnsi(raw);
      while (!done && hooks.length > 0 && hooks[0]!.match.test(log)) await hooks.shift()!.run();
      const hit = o.failOn?.find((re) => re.test(log));
      if (hit) {
        reason = 'failOn';
        failedOn = String(hit);
        break;
      }
      if (wanted.every((re) => re.test(log))) {
        reason = 'matched';
        break;
      }
      if (done) {
        reason = 'exited';
        break;
      }
      if (Date.now() - started > o.timeoutMs) break;
      await Promise.race([sleep(250), exited]);
    }
    elapsedMs = Date.now() - started;
  } finally {
    // Always stop QEMU: SIGTERM lets it flush the VARS file; SIGKILL if it lingers.
    if (!exit) {
      killGroup(child, 'SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (!exit) {
        killGroup(child, 'SIGKILL');
        await Promise.race([exited, sleep(5000)]);
      }
    }
    live.delete(child);
    await readMore().catch(() => undefined);
    await fh.close();
    await new Promise<void>((res) => stderrFile.end(res));
  }

  if (spawnError) throw new Error(`bootVm: cannot run qemu-system-x86_64: ${spawnError.message}`);
  // A non-zero exit we did not cause means QEMU itself failed (bad option, missing file).
  if (reason === 'exited' && exit && exit.code !== 0) {
    throw new Error(
      `bootVm: qemu-system-x86_64 exited with ${exit.code ?? exit.signal} after ${Date.now() - started} ms` +
        ` (log ${logPath}):\n${stderr.trim()}`,
    );
  }
  const serialLog = stripAnsi(raw);
  const result: BootVmResult = { matched: reason === 'matched', serialLog, logPath, elapsedMs, reason };
  if (varsFile) result.varsFile = varsFile;
  if (failedOn) result.failedOn = failedOn;
  return result;
}

/**
 * One command on QEMU's human monitor (`monitorSocket`); resolves with what it
 * printed. HMP answers with text and a new `(qemu) ` prompt, errors included, so
 * the caller checks the text.
 */
export function hmp(socket: string, command: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let buf = '';
    let sent = false;
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`hmp: no answer to '${command}' within ${timeoutMs} ms (got: ${buf})`));
    }, timeoutMs);
    conn.on('data', (d) => {
      buf += d.toString('utf8');
      if (!buf.endsWith('(qemu) ')) return;
      if (!sent) {
        sent = true;
        buf = '';
        conn.write(`${command}\n`);
        return;
      }
      clearTimeout(timer);
      conn.end();
      // The echoed command line first, then the answer.
      const text = stripAnsi(buf).replace(/\(qemu\) $/, '');
      resolve(text.slice(text.indexOf('\n') + 1).trim());
    });
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`hmp: ${socket}: ${e.message}`));
    });
  });
}

/** Plug a raw image in as a USB stick on the `xhci` controller, through the monitor. */
export async function hotplugUsbStick(socket: string, image: string, id = 'hotstick'): Promise<void> {
  for (const cmd of [
    `drive_add 0 if=none,id=${id},format=raw,file=${image}`,
    `device_add usb-storage,bus=xhci.0,drive=${id},id=${id}-dev,removable=on`,
  ]) {
    const out = await hmp(socket, cmd);
    // drive_add answers "OK"; device_add answers nothing when it worked.
    if (/error|could not|can't|invalid|not found/i.test(out)) throw new Error(`hmp ${cmd}: ${out}`);
  }
}

/** The last lines of a serial log, for assertion messages. */
export function tail(log: string, lines = 40): string {
  return log.split('\n').slice(-lines).join('\n');
}
