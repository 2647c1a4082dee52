import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type DrivelistDrive, normaliseDrive } from '../../electron/flash/drive-list.ts';
import { type DriveVerdict, isUnder, judgeDrive, judgeDrives } from '../../electron/flash/drive-policy.ts';

const fixture = (os: string) =>
  (
    JSON.parse(readFileSync(new URL(`../fixtures/drivelist-${os}.json`, import.meta.url), 'utf8')) as {
      drives: DrivelistDrive[];
    }
  ).drives.map(normaliseDrive);

const IMAGE = 2_500_000_000;
const byDevice = (vs: DriveVerdict[]) => Object.fromEntries(vs.map((v) => [v.device, v]));
const code = (v: DriveVerdict | undefined) =>
  v === undefined ? 'missing' : v.allowed ? (v.needsConfirmation?.code ?? 'OK') : v.reason.code;

describe('normaliseDrive', () => {
  it('turns drivelist nulls into our booleans and sizes', () => {
    const [zram, vda] = fixture('linux');
    expect(zram).toMatchObject({
      size: null,
      isVirtual: true,
      isRemovable: true,
      isUSB: false,
      kind: 'drive',
    });
    expect(vda).toMatchObject({
      size: 274877906944,
      isSystem: true,
      mountpoints: ['/'],
      rawDevice: '/dev/vda',
    });
  });
  it('takes busType USB as USB when isUSB is null', () => {
    expect(normaliseDrive({ device: 'x', busType: 'usb', isUSB: null }).isUSB).toBe(true);
  });
});

describe('judgeDrives on Linux shapes', () => {
  const v = byDevice(
    judgeDrives(fixture('linux'), {
      imageSize: IMAGE,
      imagePath: '/media/tech/Backup/emt.iso',
      showAll: false,
    }),
  );
  it('refuses zram (virtual, no size), the system disks, read-only cards and small sticks', () => {
    expect(code(v['/dev/zram0'])).toBe('VIRTUAL');
    const zram = v['/dev/zram0'];
    expect(zram?.allowed === false && zram.reasons.map((r) => r.code)).toEqual(['VIRTUAL', 'NO_SIZE']);
    expect(code(v['/dev/vda'])).toBe('SYSTEM');
    expect(code(v['/dev/nvme0n1'])).toBe('SYSTEM');
    expect(code(v['/dev/mmcblk0'])).toBe('READ_ONLY');
    expect(code(v['/dev/sdb'])).toBe('TOO_SMALL');
    const sdb = v['/dev/sdb'];
    expect(sdb?.allowed === false && sdb.reason.message).toBe(
      '/dev/sdb: is too small: 1031798784 bytes, the image needs 2500000000 bytes',
    );
  });
  it('refuses the drive that holds the image, allows the USB stick', () => {
    expect(code(v['/dev/sdc'])).toBe('HOLDS_IMAGE');
    expect(code(v['/dev/sda'])).toBe('OK');
  });
  it('uses exact bytes for the size check', () => {
    const sdb = fixture('linux').find((d) => d.device === '/dev/sdb')!;
    expect(judgeDrive(sdb, { imageSize: 1031798784, showAll: false }).allowed).toBe(true);
    expect(judgeDrive(sdb, { imageSize: 1031798785, showAll: false }).allowed).toBe(false);
  });
  it('a system mountpoint alone refuses a drive not flagged as system', () => {
    const d = { ...fixture('linux')[3]!, isSystem: false, mountpoints: ['/boot/efi'] };
    expect(code(judgeDrive(d, { imageSize: 1, showAll: true }))).toBe('SYSTEM_MOUNT');
  });
});

describe('judgeDrives on Windows shapes', () => {
  const drives = fixture('windows');
  const opts = {
    imageSize: IMAGE,
    imagePath: 'e:/images/emt.iso',
    appPath: 'C:\\Program Files\\EMT\\emt.exe',
  };
  it('refuses C:, virtual disks, size-less card readers, fixed disks and the image drive', () => {
    const v = byDevice(judgeDrives(drives, { ...opts, showAll: false }));
    expect(code(v['\\\\.\\PhysicalDrive0'])).toBe('SYSTEM');
    const c = v['\\\\.\\PhysicalDrive0'];
    expect(c?.allowed === false && c.reasons.map((r) => r.code)).toEqual([
      'SYSTEM',
      'SYSTEM_MOUNT',
      'HOLDS_APP',
      'NOT_REMOVABLE',
    ]);
    expect(code(v['\\\\.\\PhysicalDrive1'])).toBe('NOT_REMOVABLE');
    expect(code(v['\\\\.\\PhysicalDrive2'])).toBe('HOLDS_IMAGE');
    expect(code(v['\\\\.\\PhysicalDrive3'])).toBe('OK');
    expect(code(v['\\\\.\\PhysicalDrive4'])).toBe('VIRTUAL');
    expect(code(v['\\\\.\\PhysicalDrive5'])).toBe('NO_SIZE');
  });
  it('"show all drives" allows the fixed data disk, with a confirmation because it is large', () => {
    const v = byDevice(judgeDrives(drives, { ...opts, showAll: true }));
    expect(code(v['\\\\.\\PhysicalDrive1'])).toBe('LARGE');
    expect(code(v['\\\\.\\PhysicalDrive0'])).toBe('SYSTEM');
  });
});

describe('judgeDrives on macOS shapes', () => {
  const v = byDevice(
    judgeDrives(fixture('macos'), {
      imageSize: IMAGE,
      imagePath: '/Volumes/Downloads/emt.iso',
      showAll: false,
    }),
  );
  it('refuses the internal SSD, the APFS container, mounted disk images and small sticks', () => {
    expect(code(v['/dev/disk0'])).toBe('SYSTEM');
    expect(code(v['/dev/disk3'])).toBe('SYSTEM');
    expect(code(v['/dev/disk5'])).toBe('VIRTUAL');
    expect(code(v['/dev/disk6'])).toBe('HOLDS_IMAGE');
    expect(code(v['/dev/disk4'])).toBe('OK');
  });
  it('asks for confirmation above the large-drive limit', () => {
    const stick = fixture('macos').find((d) => d.device === '/dev/disk4')!;
    expect(code(judgeDrive(stick, { imageSize: 1, showAll: false, largeDriveBytes: 8e9 }))).toBe('LARGE');
  });
});

describe('explicit targets', () => {
  const loop = {
    kind: 'loop' as const,
    device: '/dev/loop7',
    rawDevice: '/dev/loop7',
    description: 'loop',
    size: 64 << 20,
    isSystem: false,
    isVirtual: true,
    isReadOnly: false,
    isRemovable: false,
    isUSB: false,
    busType: 'LOOP',
    mountpoints: [],
    partitions: null,
  };
  it('allows an unmounted loop device with a confirmation, refuses a mounted or small one', () => {
    expect(code(judgeDrive(loop, { imageSize: 1 << 20, showAll: false }))).toBe('EXPLICIT_TARGET');
    expect(code(judgeDrive({ ...loop, mountpoints: ['/mnt/x'] }, { imageSize: 1, showAll: false }))).toBe(
      'MOUNTED',
    );
    expect(code(judgeDrive(loop, { imageSize: (64 << 20) + 1, showAll: false }))).toBe('TOO_SMALL');
  });
  it('refuses writing an image file onto itself', () => {
    const file = { ...loop, kind: 'file' as const, device: '/tmp/a.iso', size: null };
    expect(code(judgeDrive(file, { imageSize: 1, imagePath: '/tmp/a.iso', showAll: false }))).toBe(
      'TARGET_IS_IMAGE',
    );
    expect(code(judgeDrive(file, { imageSize: 1, imagePath: '/tmp/b.iso', showAll: false }))).toBe(
      'EXPLICIT_TARGET',
    );
  });
  it('isUnder respects path boundaries and Windows case', () => {
    expect(isUnder('/media/tech/Backup2/x', '/media/tech/Backup')).toBe(false);
    expect(isUnder('/media/tech/Backup/x', '/media/tech/Backup/')).toBe(true);
    expect(isUnder('/anything', '/')).toBe(true);
    expect(isUnder('E:\\a\\b.iso', 'e:\\')).toBe(true);
    expect(isUnder('/e/a', 'E:\\')).toBe(false);
  });
});
