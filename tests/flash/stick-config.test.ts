// Per-stick EMTCONFIG images for `emt-usb flash`: option binding, validation with
// the config validator, the ISO's identity from its manifest, reproducible bytes.
// Images are checked by fsck.fat and read back with mtools (tools we did not write).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindStickOptions } from '../../electron/cli/stick-args.ts';
import { ConfigError } from '../../electron/config/config-error.ts';
import { parseConfigText } from '../../electron/config/load.ts';
import { sha512Crypt } from '../../electron/config/sha512-crypt.ts';
import { readIsoRootFile } from '../../electron/flash/iso-root-file.ts';
import {
  describeStick,
  FALLBACK_EPOCH,
  isoIdentity,
  planStickConfigs,
  type StickSpec,
  stickOverride,
} from '../../electron/flash/stick-config.ts';

const SITE = `user_name: edge
host_type: container
hostname: site-default
dns_name_server: [10.0.0.1]
sticks:
  - name: left
    hostname: node-left
    static_ip: 10.0.0.21/24
`;
const PLAIN = 'Pl41n-Text-Secret';
const VALUE_FLAGS = new Set(['config', 'config-image', 'password-file', 'log-dir']);

let dir: string;
let iso: string;
let site: string;
let pw: string;
let pwHashed: string;

/** A small ISO with a manifest in its root, mastered by the real xorriso. */
function makeIso(path: string, manifest: object | null): void {
  const tree = mkdtempSync(join(dir, 'tree-'));
  mkdirSync(join(tree, 'boot'));
  writeFileSync(join(tree, 'boot', 'x.txt'), 'x');
  if (manifest) writeFileSync(join(tree, 'emt-installer.json'), JSON.stringify(manifest));
  execFileSync(
    'xorriso',
    ['-as', 'mkisofs', '-o', path, '-iso-level', '3', '-full-iso9660-filenames', '-R', '-J', tree],
    { stdio: 'ignore' },
  );
}

/** Runs mtools on a FAT image file: the text of one file. */
const mtype = (img: string, file: string): string =>
  execFileSync('mtype', ['-i', img, `::${file}`], { encoding: 'utf8' });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'emt-stick-unit-'));
  iso = join(dir, 'inst.iso');
  makeIso(iso, { buildId: 'abcdef0123456789', sourceDateEpoch: 1764115200, label: 'EMT' });
  site = join(dir, 'site.yaml');
  writeFileSync(site, SITE);
  pw = join(dir, 'pw.txt');
  writeFileSync(pw, `${PLAIN}\n`);
  pwHashed = join(dir, 'pw-hashed.txt');
  writeFileSync(pwHashed, `${sha512Crypt(PLAIN, 'stickSalt0123456')}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bindStickOptions', () => {
  it('binds each per-stick option to the --device before it, in order', () => {
    const r = bindStickOptions(
      [
        'x.iso',
        '--config',
        'site.yaml',
        '--device',
        '\\\\.\\PhysicalDrive2',
        '--hostname',
        'node-01',
        '--static-ip=10.0.0.11/24',
        '--device=/dev/sdc',
        '--stick',
        'left',
        '--yes',
      ],
      VALUE_FLAGS,
    );
    expect(r.sticks).toEqual([
      { device: '\\\\.\\PhysicalDrive2', options: { hostname: 'node-01', 'static-ip': '10.0.0.11/24' } },
      { device: '/dev/sdc', options: { stick: 'left' } },
    ]);
    expect(r.rest).toEqual([
      'x.iso',
      '--config=site.yaml',
      '--device=\\\\.\\PhysicalDrive2',
      '--device=/dev/sdc',
      '--yes',
    ]);
  });

  it('--dns may repeat for one device; the values join into one list', () => {
    const r = bindStickOptions(['--device', 'd', '--dns', '1.1.1.1', '--dns=8.8.8.8,9.9.9.9'], VALUE_FLAGS);
    expect(r.sticks[0]!.options).toEqual({ dns: '1.1.1.1,8.8.8.8,9.9.9.9' });
  });

  it('a value of another option is never read as a per-stick option', () => {
    const r = bindStickOptions(['--log-dir', '--hostname', '--device', 'd'], VALUE_FLAGS);
    expect(r.rest).toEqual(['--log-dir=--hostname', '--device=d']);
    expect(r.sticks).toEqual([{ device: 'd', options: {} }]);
  });

  it('refuses a per-stick option before any --device, twice for one device, or without a value', () => {
    expect(() => bindStickOptions(['--hostname', 'a', '--device', 'd'], VALUE_FLAGS)).toThrow(
      /--hostname a: per-stick options follow the --device/,
    );
    expect(() =>
      bindStickOptions(['--device', 'd', '--hostname', 'a', '--hostname', 'b'], VALUE_FLAGS),
    ).toThrow(/--hostname given twice for --device d/);
    expect(() => bindStickOptions(['--device', 'd', '--gateway'], VALUE_FLAGS)).toThrow(
      /--gateway needs a value/,
    );
  });
});

describe('stickOverride: the config validator checks every value', () => {
  const config = parseConfigText(SITE, 'site.yaml').config;
  const spec = (options: StickSpec['options']): StickSpec => ({ device: '/dev/sdx', options });

  it('merges a named sticks entry with command-line values', () => {
    expect(stickOverride(config, spec({}))).toBeUndefined();
    expect(stickOverride(config, spec({ stick: 'left', gateway: '10.0.0.1' }))).toEqual({
      name: 'left',
      hostname: 'node-left',
      static_ip: '10.0.0.21',
      subnet_mask: 24,
      default_gate_way: '10.0.0.1',
    });
    // The named entry's prefix carries over to a new address.
    expect(stickOverride(config, spec({ stick: 'left', 'static-ip': '10.0.0.99' }))).toMatchObject({
      static_ip: '10.0.0.99',
      subnet_mask: 24,
    });
    expect(
      stickOverride(
        config,
        spec({ hostname: 'n-1', 'static-ip': '192.168.7.9/255.255.255.0', dns: '1.1.1.1,8.8.8.8' }),
      ),
    ).toEqual({
      hostname: 'n-1',
      static_ip: '192.168.7.9',
      subnet_mask: 24,
      dns_name_server: ['1.1.1.1', '8.8.8.8'],
    });
  });

  it('names the device, the option and the problem', () => {
    const msg = (o: StickSpec['options']): string => {
      try {
        stickOverride(config, spec(o));
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(msg({ hostname: 'bad_host' })).toMatch(
      /^--device \/dev\/sdx: --hostname: 'bad_host' is not a valid host name/,
    );
    expect(msg({ hostname: '-x' })).toMatch(/--hostname: '-x' is not a valid host name/);
    expect(msg({ 'static-ip': '10.0.0.300/24' })).toBe(
      "--device /dev/sdx: --static-ip: '10.0.0.300' is not an IPv4 address like 192.168.1.24",
    );
    expect(msg({ 'static-ip': '10.0.0.3' })).toMatch(/needs its prefix length, e.g. 10.0.0.3\/24/);
    expect(msg({ 'static-ip': '10.0.0.3/33' })).toMatch(/--static-ip: '33' is not a prefix length/);
    expect(msg({ gateway: 'router' })).toMatch(/--gateway: 'router' is not an IPv4 address/);
    expect(msg({ dns: '1.1.1.1,nope' })).toMatch(/--dns: 'nope' is not an IPv4 address/);
    expect(msg({ stick: 'right' })).toMatch(
      /--stick: 'right' is not in the config's sticks list \(it has left\)/,
    );
  });
});

describe('the ISO identity', () => {
  it('comes from /emt-installer.json in the ISO root', async () => {
    expect(JSON.parse(String(await readIsoRootFile(iso, 'emt-installer.json')))).toMatchObject({
      buildId: 'abcdef0123456789',
    });
    expect(await isoIdentity(iso)).toEqual({
      buildId: 'abcdef0123456789',
      sourceDateEpoch: 1764115200,
      fromManifest: true,
    });
  });

  it('is fixed when the image has no manifest or is no ISO', async () => {
    const bare = join(dir, 'bare.iso');
    makeIso(bare, null);
    const junk = join(dir, 'junk.img');
    writeFileSync(junk, Buffer.alloc(80_000, 0x41));
    for (const f of [bare, junk]) {
      expect(await readIsoRootFile(f, 'emt-installer.json')).toBeNull();
      expect(await isoIdentity(f)).toMatchObject({ sourceDateEpoch: FALLBACK_EPOCH, fromManifest: false });
    }
  });
});

describe('planStickConfigs', () => {
  const sticks: StickSpec[] = [
    { device: 'a', options: { hostname: 'node-01', 'static-ip': '10.0.0.11/24' } },
    { device: 'b', options: { hostname: 'node-02' } },
    { device: 'c', options: { hostname: 'node-01', 'static-ip': '10.0.0.11/24' } },
  ];

  it('one fsck-clean EMTCONFIG image per stick with its own values and only the password hash', async () => {
    const plan = await planStickConfigs({ imagePath: iso, configFile: site, passwordFile: pw, sticks });
    expect(plan.identity.fromManifest).toBe(true);
    expect(plan.images.map((i) => i.device)).toEqual(['a', 'b', 'c']);
    const [a, b, c] = plan.images;
    expect(a!.bytes.equals(c!.bytes)).toBe(true); // same values, same image
    expect(a!.bytes.equals(b!.bytes)).toBe(false);
    expect(a!.serial).not.toBe(b!.serial);
    for (const [i, img] of [a!, b!].entries()) {
      const f = join(dir, `stick-${i}.img`);
      writeFileSync(f, img.bytes);
      execFileSync('fsck.fat', ['-n', f], { stdio: 'pipe' });
      const env = mtype(f, '/emt/config.env');
      expect(env).toContain(`hostname=node-0${i + 1}\n`);
      expect(env).toContain('password_hash=1\n');
      const hash = mtype(f, '/emt/password.hash').trim();
      const salt = /^\$6\$([^$]+)\$/.exec(hash)?.[1];
      expect(sha512Crypt(PLAIN, salt!)).toBe(hash);
      expect(img.bytes.includes(Buffer.from(PLAIN))).toBe(false);
    }
    expect(mtype(join(dir, 'stick-0.img'), '/emt/config.env')).toContain(
      'static_ip=10.0.0.11\nsubnet_mask=24\n',
    );
    // The FAT volume serial is the one the plan reports (blkid's UUID).
    const uuid = execFileSync('blkid', ['-s', 'UUID', '-o', 'value', join(dir, 'stick-1.img')], {
      encoding: 'utf8',
    }).trim();
    expect(uuid.replace('-', '')).toBe(b!.serial.toString(16).toUpperCase().padStart(8, '0'));
  });

  it('describes each stick in one line for the person flashing', () => {
    const line = (override: StickSpec['options'] | undefined) =>
      describeStick({
        device: '/dev/sdb',
        serial: 0x9add0d76,
        bytes: Buffer.alloc(0),
        override:
          override && stickOverride(parseConfigText(SITE, 's').config, { device: 'd', options: override }),
      });
    expect(line(undefined)).toBe('/dev/sdb: EMTCONFIG 9ADD-0D76 (site config)');
    expect(line({ stick: 'left', gateway: '10.0.0.1', dns: '9.9.9.9' })).toBe(
      '/dev/sdb: EMTCONFIG 9ADD-0D76 (stick left, hostname node-left, ip 10.0.0.21/24, gateway 10.0.0.1, dns 9.9.9.9)',
    );
  });

  it('is reproducible: the same inputs give the same bytes; another build id changes them', async () => {
    // Reproducible with a pre-hashed password; a plaintext gets a new random salt each time.
    const one = await planStickConfigs({ imagePath: iso, configFile: site, passwordFile: pwHashed, sticks });
    const two = await planStickConfigs({ imagePath: iso, configFile: site, passwordFile: pwHashed, sticks });
    expect(two.images.every((img, i) => img.bytes.equals(one.images[i]!.bytes))).toBe(true);
    const plainOne = await planStickConfigs({ imagePath: iso, configFile: site, passwordFile: pw, sticks });
    const plainTwo = await planStickConfigs({ imagePath: iso, configFile: site, passwordFile: pw, sticks });
    expect(plainTwo.images[0]!.bytes.equals(plainOne.images[0]!.bytes)).toBe(false);
    const other = join(dir, 'other.iso');
    makeIso(other, { buildId: '1111111111111111', sourceDateEpoch: 1764115200 });
    const three = await planStickConfigs({
      imagePath: other,
      configFile: site,
      passwordFile: pwHashed,
      sticks,
    });
    expect(three.images[0]!.bytes.equals(one.images[0]!.bytes)).toBe(false);
  });

  it('without --config: no images, and per-stick values or a password are refused', async () => {
    expect(
      (await planStickConfigs({ imagePath: iso, sticks: [{ device: 'a', options: {} }] })).images,
    ).toEqual([]);
    await expect(planStickConfigs({ imagePath: iso, sticks })).rejects.toThrow(
      /--device a: per-stick values need --config/,
    );
    await expect(
      planStickConfigs({ imagePath: iso, passwordFile: pw, sticks: [{ device: 'a', options: {} }] }),
    ).rejects.toThrow(/--password-file needs --config/);
  });

  it('a partition image given as --config points to --config-image; a bad value builds nothing', async () => {
    const img = join(dir, 'cfg.img');
    execFileSync('mkfs.fat', ['-C', '-F', '32', '-n', 'EMTCONFIG', img, '33792'], { stdio: 'ignore' });
    await expect(planStickConfigs({ imagePath: iso, configFile: img, sticks: [] })).rejects.toThrow(
      /cfg\.img: is a partition image, not a site config: give it with --config-image/,
    );
    await expect(
      planStickConfigs({
        imagePath: iso,
        configFile: site,
        sticks: [sticks[0]!, { device: 'z', options: { hostname: 'no_underscores' } }],
      }),
    ).rejects.toThrow(/^--device z: --hostname: 'no_underscores'/);
  });
});
