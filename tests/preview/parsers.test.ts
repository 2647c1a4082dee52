// The preview's pure readers, fed bytes built here by hand from the specs (El
// Torito, MBR, FAT directory entries, SUSP, PE), and grub.cfg texts in the shapes
// GRUB users write.
import { describe, expect, it } from 'vitest';
import { parseBootCatalog, unpatchBootInfo } from '../../electron/preview/boot-catalog.ts';
import { maskSshKey, maskUrlCredentials } from '../../electron/preview/config-view.ts';
import { efiRole, parsePe, sbatComponents } from '../../electron/preview/efi-binary.ts';
import { parseBpb, parseFatDirectory } from '../../electron/preview/fat.ts';
import { devicelessPath, grubWords, parseGrubConfig } from '../../electron/preview/grub-config.ts';
import { parseSusp } from '../../electron/preview/iso9660.ts';
import { parseMbr } from '../../electron/preview/partitions.ts';
import { memoryReader } from '../../electron/preview/reader.ts';

function catalog(entries: { platform: number; lba: number; count: number; media?: number }[]): Buffer {
  const c = Buffer.alloc(2048);
  c[0] = 1;
  c[1] = entries[0]!.platform;
  c[30] = 0x55;
  c[31] = 0xaa;
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + c.readUInt16LE(i)) & 0xffff;
  c.writeUInt16LE((0x10000 - sum) & 0xffff, 28);
  const entry = (at: number, e: (typeof entries)[number]) => {
    c[at] = 0x88;
    c[at + 1] = e.media ?? 0;
    c.writeUInt16LE(e.count, at + 6);
    c.writeUInt32LE(e.lba, at + 8);
  };
  entry(32, entries[0]!);
  let at = 64;
  for (let i = 1; i < entries.length; i++) {
    c[at] = i === entries.length - 1 ? 0x91 : 0x90;
    c[at + 1] = entries[i]!.platform;
    c.writeUInt16LE(1, at + 2);
    entry(at + 32, entries[i]!);
    at += 64;
  }
  return c;
}

describe('El Torito catalog', () => {
  it('reads the default entry and each section, platform and emulation', () => {
    const e = parseBootCatalog(
      catalog([
        { platform: 0, lba: 79, count: 4 },
        { platform: 0xef, lba: 300, count: 4096 },
        { platform: 0, lba: 500, count: 2880, media: 2 },
      ]),
    );
    expect(e.map((x) => [x.platform, x.emulation, x.lba, x.size])).toEqual([
      ['bios', 'none', 79, 2048],
      ['uefi', 'none', 300, 4096 * 512],
      ['bios', 'floppy-1.44M', 500, 2880 * 512],
    ]);
  });

  it('refuses a catalog whose validation checksum is wrong', () => {
    const c = catalog([{ platform: 0, lba: 1, count: 4 }]);
    c.writeUInt8(c.readUInt8(28) ^ 1, 28);
    expect(parseBootCatalog(c)).toEqual([]);
  });

  it('undoes the boot info table xorriso patches into a BIOS image', () => {
    const orig = Buffer.alloc(4096, 7);
    orig.fill(0, 8, 64);
    orig.writeBigUInt64LE(2n, 2548);
    const patched = Buffer.from(orig);
    patched.writeUInt32LE(16, 8);
    patched.writeBigUInt64LE(BigInt(79 * 4 + 5), 2548);
    expect(unpatchBootInfo(patched, 79).equals(orig)).toBe(true);
  });
});

describe('MBR', () => {
  it('reads the entries, the boot flag and whether boot code is present', () => {
    const s = Buffer.alloc(512);
    s[510] = 0x55;
    s[511] = 0xaa;
    s[446] = 0x80;
    s[446 + 4] = 0xee;
    s.writeUInt32LE(1, 446 + 8);
    s.writeUInt32LE(1000, 446 + 12);
    s[462 + 4] = 0xef;
    s.writeUInt32LE(2000, 462 + 8);
    s.writeUInt32LE(64, 462 + 12);
    expect(parseMbr(s)).toEqual({
      present: true,
      bootCode: false,
      diskSignature: '00000000',
      partitions: [
        { number: 1, type: 'ee', bootable: true, offset: 512, size: 1000 * 512 },
        { number: 2, type: 'ef', bootable: false, offset: 2000 * 512, size: 64 * 512 },
      ],
    });
    s[0] = 0xeb;
    expect(parseMbr(s).bootCode).toBe(true);
    expect(parseMbr(Buffer.alloc(512)).present).toBe(false);
  });
});

describe('FAT', () => {
  it('joins long names, keeps short ones with their NT lower-case bits, skips deleted entries', () => {
    const d = Buffer.alloc(32 * 5);
    const lfn = (at: number, seq: number, text: string) => {
      d[at] = seq;
      d[at + 11] = 0x0f;
      const u = Buffer.from(text.padEnd(13, '\0').slice(0, 13), 'utf16le');
      u.copy(d, at + 1, 0, 10);
      u.copy(d, at + 14, 10, 22);
      u.copy(d, at + 28, 22, 26);
    };
    lfn(0, 0x41, 'grubx64.efi');
    d.write('GRUBX64 EFI', 32, 'latin1');
    d[32 + 11] = 0x20;
    d.writeUInt16LE(5, 32 + 26);
    d.writeUInt32LE(1234, 32 + 28);
    d.write('OLD     TXT', 64, 'latin1');
    d[64] = 0xe5;
    d.write('BOOT       ', 96, 'latin1');
    d[96 + 11] = 0x10;
    d[96 + 12] = 0x08;
    d.writeUInt16LE(6, 96 + 26);
    expect(parseFatDirectory(d).entries).toEqual([
      { name: 'grubx64.efi', dir: false, size: 1234, cluster: 5 },
      { name: 'boot', dir: true, size: 0, cluster: 6 },
    ]);
  });

  it('tells FAT12 from FAT32 by cluster count and reads the label', () => {
    const s = Buffer.alloc(512);
    s[510] = 0x55;
    s[511] = 0xaa;
    s.writeUInt16LE(512, 11);
    s[13] = 1;
    s.writeUInt16LE(1, 14);
    s[16] = 2;
    s.writeUInt16LE(512, 17);
    s.writeUInt16LE(4096, 19);
    s.writeUInt16LE(12, 22);
    s[0x26] = 0x29;
    s.write('EMTESP     ', 0x2b, 'latin1');
    expect(parseBpb(s)).toMatchObject({ type: 12, label: 'EMTESP' });
    expect(parseBpb(Buffer.alloc(512))).toBeNull();
  });
});

describe('grub.cfg', () => {
  it('expands variables set before an entry, inside if/then too, and keeps quoted words whole', () => {
    const cfg = [
      'set base="console=ttyS0,115200 root=tmpfs"',
      'if [ "$grub_platform" = pc ]; then set extra=vga=normal; fi',
      "menuentry 'Install (safe)' --id x {",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: GRUB's own ${var} syntax
      '  linux ($root)/boot/vmlinuz ${base} $extra "quoted arg=a b"',
      '  initrd /boot/ucode.img /boot/initrd.img',
      '}',
      'submenu Advanced {',
      '  menuentry Rescue { linuxefi /boot/vmlinuz rescue; initrdefi /boot/initrd.img; }',
      '}',
      '# menuentry commented {',
    ].join('\n');
    const g = parseGrubConfig(cfg, '/boot/grub/grub.cfg');
    expect(g.entries).toEqual([
      {
        title: 'Install (safe)',
        path: [],
        kernel: '($root)/boot/vmlinuz',
        initrd: ['/boot/ucode.img', '/boot/initrd.img'],
        cmdline: 'console=ttyS0,115200 root=tmpfs vga=normal quoted arg=a b',
      },
      {
        title: 'Rescue',
        path: ['Advanced'],
        kernel: '/boot/vmlinuz',
        initrd: ['/boot/initrd.img'],
        cmdline: 'rescue',
      },
    ]);
    expect(devicelessPath('($root)/boot/vmlinuz')).toBe('/boot/vmlinuz');
    expect(grubWords(`echo 'a b' "c\\"d" e#f # note`).map((w) => w.text)).toEqual([
      'echo',
      'a b',
      'c"d',
      'e#f',
    ]);
  });
});

describe('Rock Ridge SUSP', () => {
  it('joins NM pieces and notes CE and SP', () => {
    const nm = (flags: number, text: string) =>
      Buffer.concat([
        Buffer.from(`NM${String.fromCharCode(5 + text.length)}\x01${String.fromCharCode(flags)}`, 'latin1'),
        Buffer.from(text),
      ]);
    const sp = Buffer.from([0x53, 0x50, 7, 1, 0xbe, 0xef, 0]);
    expect(parseSusp(Buffer.concat([sp, nm(1, 'long-'), nm(0, 'name.txt')]))).toEqual({
      nm: 'long-name.txt',
      ce: null,
      sp: 0,
    });
  });
});

describe('EFI binaries', () => {
  it('reads machine, the certificate table and SBAT section from PE headers', () => {
    const b = Buffer.alloc(1024);
    b.write('MZ', 0, 'latin1');
    b.writeUInt32LE(0x80, 0x3c);
    b.write('PE\0\0', 0x80, 'latin1');
    b.writeUInt16LE(0x8664, 0x84);
    b.writeUInt16LE(1, 0x86);
    const opt = 0x80 + 24;
    b.writeUInt16LE(240, 0x80 + 20);
    b.writeUInt16LE(0x20b, opt);
    b.writeUInt32LE(16, opt + 108);
    b.writeUInt32LE(0x400, opt + 112 + 32);
    b.writeUInt32LE(0x300, opt + 112 + 36);
    const sec = opt + 240;
    b.write('.sbat', sec, 'latin1');
    b.writeUInt32LE(64, sec + 8);
    b.writeUInt32LE(64, sec + 16);
    b.writeUInt32LE(0x200, sec + 20);
    expect(parsePe(b)).toEqual({
      machine: 'x86_64',
      signed: true,
      sbat: { offset: 0x200, size: 64 },
      uki: false,
    });
    // A .linux section makes it a UKI (systemd's stub carrying the kernel).
    b.write('.linux\0\0', sec, 'latin1');
    expect(parsePe(b)).toMatchObject({ sbat: null, uki: true });
    expect(
      sbatComponents('sbat,1,SBAT Version,sbat,1,https://x\nshim,3,UEFI shim,shim,1,https://y\n\0\0'),
    ).toEqual(['shim']);
    expect(efiRole('EFI/BOOT/mmx64.efi', ['shim'])).toBe('mokmanager');
    expect(efiRole('', ['grub', 'grub.debian'])).toBe('grub');
    expect(parsePe(Buffer.from('not a PE'))).toBeNull();
  });
});

describe('masking', () => {
  it('hides proxy passwords and shows SSH keys by fingerprint', () => {
    expect(maskUrlCredentials('http://me:s3cret@proxy:3128/')).toBe('http://me:(masked)@proxy:3128/');
    expect(maskUrlCredentials('http://proxy:3128')).toBe('http://proxy:3128');
    const key = `ssh-ed25519 ${Buffer.from('a key blob').toString('base64')} me@host`;
    expect(maskSshKey(key)).toMatch(/^ssh-ed25519 SHA256:[A-Za-z0-9+/]{43} me@host$/);
  });
});

describe('memoryReader', () => {
  it('counts what it hands out', async () => {
    const r = memoryReader(Buffer.alloc(100, 1));
    expect((await r.read(90, 20)).length).toBe(10);
    r.account(5);
    expect(r.bytesRead).toBe(15);
  });
});
