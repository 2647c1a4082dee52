import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBootFiles, type OsBuildScan } from '../../electron/bootkit/from-os-build.ts';
import { EmtError } from '../../electron/errors.ts';
import { walkInitramfs } from '../../electron/initramfs/segments.ts';
import { bootkit } from '../../electron/jobs/bootkit.ts';
import { build } from '../../electron/jobs/build.ts';
import { quietContext } from '../../electron/jobs/job.ts';
import { sampleBootkitOs } from '../fixtures/sample-bootkit-os.ts';
import { cli } from '../fixtures/synthetic-cli.ts';
import { makeSyntheticOsBuild, type SyntheticOsBuild } from '../fixtures/synthetic-os-build.ts';
import { seededBytes } from '../iso/build-fixture.ts';

let parent: string;
let one: SyntheticOsBuild;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tarList = (f: string) =>
  execFileSync('tar', ['-tzf', f], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
const outDir = () => join(mkdtempSync(join(parent, 'out-')), 'bk');

/** The bytes the kernel would unpack as /rootfs.tar.gz: the last segment's copy. */
async function rootfsIn(img: string): Promise<Buffer> {
  const layout = await walkInitramfs(img);
  const seg = layout.segments[layout.rootfsSegment]!;
  expect(seg.codec).toBe('none');
  const start = seg.offset + seg.rootfs!.dataOffset;
  return readFileSync(img).subarray(start, start + seg.rootfs!.size);
}

async function fails(p: Promise<unknown>): Promise<EmtError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(EmtError);
  return e as EmtError;
}

beforeAll(() => {
  parent = mkdtempSync(join(tmpdir(), 'emt-from-os-'));
  one = makeSyntheticOsBuild(parent);
});
afterAll(() => rmSync(parent, { recursive: true, force: true }));

describe('bootkit --from', () => {
  it('writes the kernel as is and the dracut initramfs + the tarball as rootfs.tar.gz', async () => {
    const out = outDir();
    const r = await bootkit({ from: one.tarball, out }, quietContext());
    const v = one.versions[0]!;
    expect(r.kernelVersion).toBe(v);
    expect(readdirSync(out).sort()).toEqual([`initramfs-${v}.img`, `vmlinuz-${v}`]);
    // Kernel and dracut initramfs byte for byte, as the tarball holds them.
    const extracted = join(parent, 'x');
    mkdirSync(extracted, { recursive: true });
    execFileSync('tar', [
      '-xzf',
      one.tarball,
      '-C',
      extracted,
      `./boot/vmlinuz-${v}`,
      `./boot/initramfs-${v}.img`,
    ]);
    expect(readFileSync(join(out, `vmlinuz-${v}`))).toEqual(
      readFileSync(join(extracted, `boot/vmlinuz-${v}`)),
    );
    const dracut = readFileSync(join(extracted, `boot/initramfs-${v}.img`));
    const img = readFileSync(r.initramfs);
    expect(img.subarray(0, dracut.length)).toEqual(dracut);
    expect(r.dracutSegments).toBe(1);
    // rootfs.tar.gz is the input tarball byte for byte.
    const rootfs = await rootfsIn(r.initramfs);
    expect(sha(rootfs)).toBe(sha(readFileSync(one.tarball)));
    expect(r.rootfs).toMatchObject({ source: 'tarball', sha256: null });
    // The real cpio reads the appended segment (after the gzip one) as a newc archive.
    const tail = img.subarray(r.rootfsSegmentOffset);
    const listed = execFileSync('cpio', ['-t', '--quiet'], { input: tail, encoding: 'utf8' });
    expect(listed.trim()).toBe('rootfs.tar.gz');
    // The scan stopped after /boot and os-release: it did not decode the whole tarball.
    expect(r.scan.readWhole).toBe(false);
    expect(r.integrity).toMatch(/no checksum given/);
  });

  it('--check-whole decodes to the end; --sha256 is checked on the bytes copied', async () => {
    const r = await bootkit({ from: one.tarball, out: outDir(), checkWhole: true }, quietContext());
    expect(r.scan.readWhole).toBe(true);
    expect(r.scan.bytesScanned).toBe(r.scan.tarballSize);
    const good = sha(readFileSync(one.tarball));
    const ok = await bootkit({ from: one.tarball, out: outDir(), sha256: good }, quietContext());
    expect(ok.integrity).toMatch(/matches the sha256/);
    expect(ok.rootfs.sha256).toBe(good);
    const out = outDir();
    const e = await fails(bootkit({ from: one.tarball, out, sha256: 'ab'.repeat(32) }, quietContext()));
    expect(e.code).toBe('SHA256_MISMATCH');
    expect(readdirSync(out)).toEqual([]);
  });

  it('--drop-boot leaves /boot out of rootfs.tar.gz and keeps every other entry', async () => {
    const r = await bootkit({ from: one.tarball, out: outDir(), dropBoot: true }, quietContext());
    const f = join(parent, 'dropped.tar.gz');
    writeFileSync(f, await rootfsIn(r.initramfs));
    const before = tarList(one.tarball);
    const after = tarList(f);
    expect(after.some((n) => n.startsWith('./boot'))).toBe(false);
    expect(after).toEqual(before.filter((n) => !n.startsWith('./boot')));
    expect(r.rootfs.droppedEntries).toBe(before.filter((n) => n.startsWith('./boot')).length);
    expect(r.rootfs.source).toBe('without-boot');
  });

  it('--pack writes the published tarball with both files at its root', async () => {
    const out = outDir();
    const r = await bootkit({ from: one.tarball, out, pack: true, packTag: 'site-a' }, quietContext());
    expect(r.pack).toBe(join(out, 'emb_uos_x86_64_site-a.tar.gz'));
    const v = r.kernelVersion;
    expect(tarList(r.pack!).sort()).toEqual([`initramfs-${v}.img`, `vmlinuz-${v}`]);
    const x = mkdtempSync(join(parent, 'pack-'));
    execFileSync('tar', ['-xzf', r.pack!, '-C', x]);
    expect(readFileSync(join(x, `initramfs-${v}.img`))).toEqual(readFileSync(r.initramfs));
    const r2 = await bootkit({ from: one.tarball, out: outDir(), pack: true }, quietContext());
    expect(r2.pack).toMatch(new RegExp(`emb_uos_x86_64_${v.replace(/\./g, '\\.')}\\.tar\\.gz$`));
  });

  it('two runs with the same input and epoch give the same bytes', async () => {
    const a = await bootkit(
      { from: one.tarball, out: outDir(), sourceDateEpoch: 1700000000 },
      quietContext(),
    );
    const b = await bootkit(
      { from: one.tarball, out: outDir(), sourceDateEpoch: 1700000000 },
      quietContext(),
    );
    expect(sha(readFileSync(a.initramfs))).toBe(sha(readFileSync(b.initramfs)));
  });
});

describe('bootkit --from refuses, naming the file, and leaves nothing', () => {
  const refuse = async (shape: Parameters<typeof makeSyntheticOsBuild>[1], code: string, text: RegExp) => {
    const b = makeSyntheticOsBuild(parent, shape);
    const out = outDir();
    const e = await fails(bootkit({ from: b.tarball, out }, quietContext()));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(text);
    expect(e.message).toContain(b.tarball);
    expect(readdirSync(out)).toEqual([]);
  };

  it('several kernels: lists them; --kernel-version picks one', async () => {
    await refuse(
      { kernels: ['6.6.1-emt', '6.12.8-emt'] },
      'SEVERAL_KERNELS',
      /6\.12\.8-emt, 6\.6\.1-emt.*--kernel-version/,
    );
    const b = makeSyntheticOsBuild(parent, { kernels: ['6.6.1-emt', '6.12.8-emt'] });
    const out = outDir();
    const r = await bootkit({ from: b.tarball, out, kernelVersion: '6.6.1-emt' }, quietContext());
    expect(readdirSync(out).sort()).toEqual(['initramfs-6.6.1-emt.img', 'vmlinuz-6.6.1-emt']);
    expect(r.scan.kernels).toEqual(['6.12.8-emt', '6.6.1-emt']);
    const e = await fails(bootkit({ from: b.tarball, out: outDir(), kernelVersion: '5.0' }, quietContext()));
    expect(e.message).toMatch(/no \/boot\/vmlinuz-5\.0 \(kernels inside: 6\.12\.8-emt, 6\.6\.1-emt\)/);
  });

  it('no kernel, no initramfs (names the tmpfs root module), one that holds rootfs.tar.gz, no rootfs', async () => {
    await refuse({ kernels: [] }, 'NO_KERNEL', /no \/boot\/vmlinuz-<version>/);
    await refuse(
      { noInitramfs: ['6.12.8-emt'] },
      'NO_INITRAMFS',
      /dracut initramfs with the tmpfs root module/,
    );
    await refuse({ initramfsWithRootfs: true }, 'HAS_ROOTFS', /already holds rootfs\.tar\.gz/);
    await refuse({ noOsRelease: true }, 'NOT_ROOTFS', /not a root file system/);
  });

  it('a file that is no tar.gz, and a cancelled run', async () => {
    const junk = join(parent, 'junk.tar.gz');
    writeFileSync(junk, Buffer.alloc(5000, 0x41));
    const e = await fails(bootkit({ from: junk, out: outDir() }, quietContext()));
    expect(e.code).toBe('BAD_TARBALL');
    const ac = new AbortController();
    const big = makeSyntheticOsBuild(parent, { padding: 40 * 2 ** 20 });
    const out = outDir();
    const run = bootkit(
      { from: big.tarball, out, checkWhole: true },
      { signal: ac.signal, onProgress: (p) => p.done > 0 && ac.abort() },
    );
    expect((await fails(run)).code).toBe('CANCELLED');
    expect(readdirSync(out)).toEqual([]);
  });

  it('pure choice: the message lists what is inside', () => {
    const scan: OsBuildScan = {
      boot: [{ version: '6.1', kernel: 'boot/vmlinuz-6.1', initramfs: null }],
      rootfsMarker: 'etc/os-release',
      readWhole: true,
      bytesScanned: 1,
    };
    expect(() => chooseBootFiles(scan, 'x.tar.gz')).toThrow(/initramfs-6\.1\.img/);
  });
});

describe('emt-usb bootkit (CLI)', () => {
  it('one line and exit 2 on bad input; --json ends with one result', async () => {
    const bad = await cli(['bootkit', '--from', join(parent, 'missing.tar.gz'), '--out', outDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('missing.tar.gz');
    const tag = await cli(['bootkit', '--from', one.tarball, '--out', outDir(), '--tag', 'x']);
    expect(tag.code).toBe(2);
    expect(tag.stderr).toMatch(/--tag names the --pack output/);
    const ok = await cli(['bootkit', '--from', one.tarball, '--out', outDir(), '--json']);
    expect(ok.code).toBe(0);
    const last = JSON.parse(ok.stdout.trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ type: 'result', kernelVersion: one.versions[0] });
  });
});

describe('build --bootkit-os', () => {
  it('goes from the Bootkit OS build output to the installer ISO in one job, leaving only the ISO', async () => {
    const os = await sampleBootkitOs();
    const dir = mkdtempSync(join(parent, 'build-'));
    const image = join(parent, 'os.img');
    writeFileSync(image, seededBytes('bootkit-os', 2 * 2 ** 20));
    const out = join(dir, 'installer.iso');
    const r = await build(
      { bootkitOs: os.tarball, osImage: image, out, sourceDateEpoch: 1700000000 },
      quietContext(),
    );
    expect(r.derivedBootkit).toMatchObject({ from: os.tarball, kernelVersion: os.kernelVersion });
    expect(r.stages[0]!.stage).toBe('bootkit');
    expect(r.manifest.bootkit).toMatchObject({
      source: 'emt-bootkit.tar.gz',
      kernelVersion: os.kernelVersion,
    });
    expect(readdirSync(dir).sort()).toEqual(['installer.iso', 'installer.iso.sha256']);
    const e = await fails(
      build(
        { bootkitOs: os.tarball, bootkit: os.tarball, osImage: image, out: join(dir, 'b.iso') },
        quietContext(),
      ),
    );
    expect(e.message).toMatch(/--bootkit-os, or --bootkit/);
    const same = await fails(build({ bootkitOs: out, osImage: image, out }, quietContext()));
    expect(same.code).toBe('OUT_IS_INPUT');
  });
});
