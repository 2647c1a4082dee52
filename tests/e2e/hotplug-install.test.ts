// The stick arrives after the installer started (issue 14): boot the ISO's own
// kernel, initrd and cmdline directly under OVMF with an empty xHCI controller and
// a blank NVMe disk; once the installer says it is waiting for the medium, plug the
// stick in through QEMU's monitor (drive_add + device_add usb-storage). The
// unattended install must complete and power off, as from a stick present at boot.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestInstaller,
  type IsoBoot,
  installVm,
  isoBootFiles,
  partitions,
  stickLogs,
  WAITING_FOR_MEDIUM,
} from './install-run.ts';
import { tail } from './qemu.ts';

const isRoot = process.getuid?.() === 0;
let work = '';
let iso = '';
let boot: IsoBoot;

describe.skipIf(!isRoot)(
  'installer-scripts in a VM: the stick is plugged in after the installer started',
  () => {
    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'emt-hotplug-'));
      const t0 = Date.now();
      iso = await buildTestInstaller(join(work, 'build'));
      boot = await isoBootFiles(iso, join(work, 'boot'));
      process.stdout.write(`hotplug-install: ISO built in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    });
    afterAll(async () => {
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('waits for the stick, finds it and its EMTCONFIG once plugged in, and installs unattended', async () => {
      const r = await installVm({ iso, boot, mode: 'hotplug', workDir: join(work, 'run') });
      process.stdout.write(
        `hotplug-install: install ${r.reason} after ${(r.elapsedMs / 1000).toFixed(0)} s` +
          ` (stick plugged in at ${((r.pluggedAtMs ?? 0) / 1000).toFixed(0)} s)\n`,
      );
      expect(r.matched, `install ${r.reason}:\n${tail(r.serialLog, 60)}`).toBe(true);
      expect(r.pluggedAtMs).toBeDefined();
      const log = r.serialLog;
      // The installer was waiting before the stick existed, then found the ISO on a
      // partition (never the whole disk) and EMTCONFIG on the same disk.
      const waiting = log.search(WAITING_FOR_MEDIUM);
      const found = /emt-installer: install medium: (\/dev\/sd[a-z]+)(\d+) on (\/dev\/sd[a-z]+)\b/.exec(log);
      expect(waiting).toBeGreaterThan(-1);
      expect(found, tail(log, 60)).not.toBeNull();
      expect(found!.index).toBeGreaterThan(waiting);
      expect(found![1]).toBe(found![3]);
      expect(log).toMatch(/emt-installer: install medium appeared after \d+ s/);
      expect(log).toMatch(new RegExp(`emt-installer: site config partition: ${found![3]}\\d+`));
      for (let i = 1; i <= 8; i++) expect(log).toContain(`emt-installer: step ${i}/8: `);
      expect(log).toMatch(/emt-installer: target disk: \/dev\/nvme0n1 /);
      expect(log).toMatch(/emt-installer: OS image written and verified/);

      expect(partitions(r.nvme).map((p) => p.name)).toEqual(['esp', 'rootfs', 'edge_persistent', 'emt-lvm']);
      const logs = stickLogs(r.stick, join(work, 'run'));
      expect(logs.length).toBe(1);
      expect(logs[0]).toContain('emt-installer: install complete');
      expect(logs[0]).toMatch(/waiting up to \d+ s for the install medium/);
    });
  },
);
