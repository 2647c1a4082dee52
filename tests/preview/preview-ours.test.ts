// Preview of an ISO we built: every --json field scripts rely on, secrets masked,
// --verify ok and then failing on one changed byte, and the payload (the OS
// image) never read without --verify, proven by recording every read.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { copyFile, mkdtemp, open, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../electron/cli/index.ts';
import { previewImage, previewReader } from '../../electron/preview/preview.ts';
import { type ByteReader, openReader } from '../../electron/preview/reader.ts';
import type { PreviewReport } from '../../electron/preview/report.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { buildFixture, type InstallerFixture, PASSWORD_HASH, PROXY, SSH_KEY } from './installer-fixture.ts';

let dir: string;
let fx: InstallerFixture;
let report: PreviewReport;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-preview-'));
  fx = await buildFixture(dir, 'a');
  report = (await previewImage(fx.iso)).report;
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
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

describe('preview of an emt-usb installer ISO', () => {
  it('shows the manifest and the boot setup: El Torito BIOS + UEFI, hybrid GPT', () => {
    expect(report.ours).toBe(true);
    expect(report.manifest?.buildId).toBe(fx.build.manifest.buildId);
    expect(report.boot.entries.map((e) => [e.platform, e.emulation, e.bootable])).toEqual([
      ['bios', 'none', true],
      ['uefi', 'none', true],
    ]);
    expect(report.boot.entries[0]!.image).toBe('/boot/grub/i386-pc/eltorito.img');
    const esp = report.partitions.find((p) => p.typeName === 'EFI System')!;
    expect(report.boot.entries[1]!.image).toBe(`partition ${esp.number}`);
    expect(report.boot.entries[1]!.size).toBe(esp.size);
    expect(report.boot.hybrid).toBe(true);
    expect(report.boot).toMatchObject({ bios: { cd: true, usb: true }, uefi: { cd: true, usb: true } });
    expect(report.boot.secureBoot.chain).toBe(false);
    expect(report.partitions.map((p) => [p.number, p.type])).toEqual([
      [1, 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7'],
      [2, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'],
      [3, 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7'],
    ]);
    expect(report.partitions[2]!.filesystem).toEqual({ type: 'FAT32', label: 'EMTCONFIG' });
    expect(report.esp?.files.map((f) => f.path)).toContain('EFI/BOOT/BOOTX64.EFI');
  });

  it('reads grub.cfg with the effective cmdline, the kernel version and the initramfs segments', async () => {
    const g = report.grub.find((x) => x.file === '/boot/grub/grub.cfg')!;
    expect(g.entries).toHaveLength(1);
    expect(g.entries[0]!.kernel).toBe('/boot/vmlinuz');
    expect(g.entries[0]!.cmdline).toBe(fx.build.manifest.kernelCmdline);
    expect(report.kernel.version).toBe((await sampleBootkit('gzip')).kernelVersion);
    // Debian's kernel image is signed for Secure Boot (its EFI stub carries the signature).
    expect(report.kernel.signed).toBe(true);
    expect(report.initramfs.segments.map((s) => s.codec)).toEqual(['gzip', 'none']);
    expect(report.initramfs.rootfs.present).toBe(true);
    expect(report.missingTools).toEqual([]);
  });

  it('lists our installer files and unit with the sha256 of installer-scripts/', async () => {
    expect(report.installer.kind).toBe('emt');
    expect(report.installer.unit?.path).toBe('/etc/systemd/system/emt-installer.service');
    const byPath = new Map(report.installer.files.map((f) => [f.path, f.sha256]));
    expect(byPath.get('/opt/emt-installer/install.sh')).toBe(
      sha(await readFile(join(fx.scripts, 'install.sh'))),
    );
    expect(byPath.get('/opt/emt-installer/steps/30-choose-disk.sh')).toBe(
      sha(await readFile(join(fx.scripts, 'steps/30-choose-disk.sh'))),
    );
    expect(byPath.get('/etc/systemd/system/emt-installer.service')).toBe(
      sha(await readFile(join(fx.scripts, 'systemd/emt-installer.service'))),
    );
  });

  it('shows the EMTCONFIG config with every secret masked', () => {
    const c = report.config;
    expect(c.source).toBe('EMTCONFIG');
    expect(c.values.hostname).toBe('edge-01');
    expect(c.values.http_proxy).toBe('http://proxyuser:(masked)@proxy.example:3128');
    expect(c.values.password_hash).toMatch(/masked/);
    expect(String(c.values.ssh_key)).toMatch(/^ssh-ed25519 SHA256:\S+ preview@test$/);
    expect(c.secrets).toEqual(
      expect.arrayContaining(['password_hash', 'ssh_key', 'http_proxy', 'write_files[1]']),
    );
    const all = JSON.stringify(report);
    expect(all).not.toContain(PASSWORD_HASH);
    expect(all).not.toContain(PASSWORD_HASH.split('$')[3]!);
    expect(all).not.toContain(SSH_KEY.split(' ')[1]!);
    expect(all).not.toContain('pr0xyPa55');
    expect(all).not.toContain(PROXY);
    expect(all).not.toContain('top secret motd');
  });

  it('lists the file tree with sizes', () => {
    const f = new Map(report.files.map((x) => [x.path, x.size]));
    expect(f.get('/images/emt-os.raw.gz')).toBe(statSync(fx.osImage).size);
    expect(f.get('/emt-installer.json')).toBeGreaterThan(100);
    expect(f.has('/boot/vmlinuz')).toBe(true);
  });

  it('never reads the OS image without --verify (every read recorded)', async () => {
    const inner = await openReader(fx.iso);
    const reads: [number, number][] = [];
    const rec: ByteReader = {
      ...inner,
      name: inner.name,
      size: inner.size,
      read: (pos, len) => {
        reads.push([pos, len]);
        return inner.read(pos, len);
      },
      get bytesRead() {
        return inner.bytesRead;
      },
      account: (n) => inner.account(n),
    };
    try {
      const p = await previewReader(rec, fx.iso);
      const os = (await previewImage(fx.iso)).report.files.find((x) => x.path === '/images/emt-os.raw.gz')!;
      // The image's extent: find its offset through a fresh tree read.
      const { readTree, readVolumeDescriptors } = await import('../../electron/preview/iso9660.ts');
      const plain = await openReader(fx.iso);
      const tree = await readTree(plain, await readVolumeDescriptors(plain));
      await plain.close();
      const ext = tree.entries.find((e) => e.path === '/images/emt-os.raw.gz')!;
      expect(ext.size).toBe(os.size);
      const touching = reads.filter(([pos, len]) => pos < ext.offset + ext.size && pos + len > ext.offset);
      expect(touching).toEqual([]);
      expect(p.report.bytesRead).toBeLessThan(fx.build.size - ext.size);
    } finally {
      await inner.close();
    }
  });

  it('--verify checks every manifest hash, then names the one file that differs', async () => {
    const ok = (await previewImage(fx.iso, { verify: true })).report.verify!;
    expect(ok.ok).toBe(true);
    expect(ok.checked).toBe(fx.build.manifest.files.length + 2);
    const bad = join(dir, 'tampered.iso');
    await copyFile(fx.iso, bad);
    const ext = (await previewImage(bad)).report.files.find((x) => x.path === '/images/emt-os.raw.gz')!;
    expect(ext).toBeDefined();
    const { readTree, readVolumeDescriptors } = await import('../../electron/preview/iso9660.ts');
    const r = await openReader(bad);
    const e = (await readTree(r, await readVolumeDescriptors(r))).entries.find(
      (x) => x.path === '/images/emt-os.raw.gz',
    )!;
    await r.close();
    const fh = await open(bad, 'r+');
    await fh.write(Buffer.from([0x5a]), 0, 1, e.offset + 12345);
    await fh.close();
    const v = (await previewImage(bad, { verify: true })).report.verify!;
    expect(v.ok).toBe(false);
    expect(v.results.filter((x) => !x.ok).map((x) => [x.path, x.problem])).toEqual([
      ['/images/emt-os.raw.gz', 'content differs'],
    ]);
    const c = await cli(['preview', bad, '--verify']);
    expect(c.code).toBe(2);
    expect(c.err).toEqual([
      expect.stringMatching(/^emt-usb preview: .*1 of \d+ hashes differ .*\/images\/emt-os\.raw\.gz/),
    ]);
  });

  it('never writes its input', async () => {
    const before = sha(await readFile(fx.iso));
    await previewImage(fx.iso, { verify: true });
    expect(sha(await readFile(fx.iso))).toBe(before);
    expect(before).toBe(fx.build.sha256);
  });
});

describe('preview of a stick image and of a stick (block device)', () => {
  const same = (x: PreviewReport) => ({
    boot: x.boot,
    partitions: x.partitions,
    installer: x.installer,
    config: x.config,
    kernel: x.kernel,
    files: x.files,
  });

  it('a stick image (the ISO on a bigger stick, read back) shows the same', async () => {
    const img = join(dir, 'stick.img');
    await copyFile(fx.iso, img);
    await truncate(img, fx.build.size + 256 * 2 ** 20);
    const r = (await previewImage(img)).report;
    expect(r.input.size).toBe(fx.build.size + 256 * 2 ** 20);
    expect(same(r)).toEqual(same(report));
  });

  it.skipIf(process.getuid?.() !== 0)('a read-only loop device shows the same, as a device', async () => {
    const dev = execFileSync('losetup', ['-r', '-f', '--show', fx.iso], { encoding: 'utf8' }).trim();
    try {
      const r = (await previewImage(dev)).report;
      expect(r.input).toEqual({ path: dev, size: fx.build.size, kind: 'device' });
      expect(same(r)).toEqual(same(report));
    } finally {
      execFileSync('losetup', ['-d', dev]);
    }
  });
});

describe('emt-usb preview (CLI)', () => {
  it('--json prints one result object with the fields scripts rely on', async () => {
    const r = await cli(['preview', fx.iso, '--json']);
    expect(r.code).toBe(0);
    const lines = r.out.map((l) => JSON.parse(l) as { type: string } & Record<string, unknown>);
    const results = lines.filter((l) => l.type === 'result');
    expect(results).toHaveLength(1);
    expect(lines.every((l) => l.type === 'progress' || l.type === 'result')).toBe(true);
    const o = results[0] as unknown as PreviewReport;
    expect(o.boot.entries[0]).toMatchObject({ platform: 'bios', emulation: 'none' });
    expect(o.partitions[1]).toMatchObject({ number: 2, name: expect.any(String), type: expect.any(String) });
    expect(o.kernel.version).toMatch(/^\d+\.\d+/);
    expect(o.initramfs.segments[0]).toMatchObject({ codec: 'gzip' });
    expect(o.installer.files[0]).toMatchObject({
      path: expect.any(String),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(o.config.values.password_hash).toMatch(/masked/);
    expect(o.files.find((f) => f.path === '/boot/vmlinuz')).toMatchObject({ size: expect.any(Number) });
  });

  it('prints the report for a person, and inspect <iso> answers with it too', async () => {
    const r = await cli(['preview', fx.iso]);
    expect(r.code).toBe(0);
    const text = r.out.join('\n');
    expect(text).toMatch(/uefi\s+no emulation/);
    expect(text).toMatch(/installer \(emt-usb layout\)/);
    expect(text).toMatch(/password_hash = SHA-512 crypt hash \(masked\)/);
    const i = await cli(['inspect', fx.iso]);
    expect(i.code).toBe(0);
    expect(i.out).toEqual(r.out);
  });

  it('refuses bad input with one line and exit 2', async () => {
    const missing = await cli(['preview', join(dir, 'nope.iso')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toEqual([`emt-usb preview: ${join(dir, 'nope.iso')}: no such file or folder`]);
    const folder = await cli(['preview', dir]);
    expect(folder.code).toBe(2);
    expect(folder.err).toEqual([expect.stringMatching(/is a folder, not an image file or a block device$/)]);
    const fifo = join(dir, 'pipe.iso');
    execFileSync('mkfifo', [fifo]);
    // Never opened (a FIFO would block the open): refused from its stat.
    const pipe = await cli(['preview', fifo]);
    expect(pipe.code).toBe(2);
    expect(pipe.err).toEqual([`emt-usb preview: ${fifo}: is a pipe, not an image file or a block device`]);
    const inspectPipe = await cli(['inspect', fifo]);
    expect(inspectPipe.code).toBe(2);
    const garbage = join(dir, 'garbage.iso');
    await copyFile(import.meta.filename, garbage);
    const g = await cli(['preview', garbage]);
    expect(g.code).toBe(2);
    expect(g.err).toEqual([
      `emt-usb preview: ${garbage}: is neither an ISO 9660 image nor a partitioned disk image`,
    ]);
    const usage = await cli(['preview', fx.iso, '--cdrom']);
    expect(usage.code).toBe(2);
    expect(usage.err).toEqual(['emt-usb preview: --bios, --cdrom, --disk-size and --keep go with --boot-vm']);
  });
});
