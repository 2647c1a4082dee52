// Hostile and broken inputs against the CLI (issue 13): each case is crafted
// here, and the rule is checked for each: one line naming the file and the
// problem, exit 2, nothing left beside the output or under the temp folder,
// every input byte for byte as it was. Signals: exit 130/143, temp files gone.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppLog } from '../../electron/app-log.ts';
import { commands, main } from '../../electron/cli/index.ts';
import { sampleBootkit } from '../fixtures/sample-bootkit.ts';
import { seededBytes } from '../iso/build-fixture.ts';

const bin = join(import.meta.dirname, '../../bin/emt-usb.js');
const scripts = join(import.meta.dirname, '../../installer-scripts');
const isRoot = process.getuid?.() === 0;
let dir: string;
let kit: string;
let os: string;
let site: string;

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-hostile-'));
  kit = join(dir, 'kit.tar.gz');
  writeFileSync(kit, readFileSync((await sampleBootkit('gzip')).tarball));
  os = join(dir, 'os.img');
  writeFileSync(os, seededBytes('hostile-os', 2 * 2 ** 20));
  site = join(dir, 'site.yaml');
  writeFileSync(site, 'user_name: edge\nhost_type: container\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false });
  return { code, out, err };
}

/** A fresh folder; returns it and a check that it holds exactly `keep` afterwards. */
function folder(name: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  return d;
}

/** The rule for bad input: exit 2, one stderr line matching `msg` that names `file`. */
async function refused(argv: string[], msg: RegExp, file?: string) {
  const r = await cli(argv);
  expect(r.code, r.err.join('\n')).toBe(2);
  expect(r.err, r.err.join('\n')).toHaveLength(1);
  expect(r.err[0]).toMatch(new RegExp(`^emt-usb ${argv[0]}: `));
  expect(r.err[0]).toMatch(msg);
  if (file) expect(r.err[0]).toContain(file);
  return r;
}

describe('1. a bootkit that is a folder or a pipe', () => {
  it('is refused by inspect, inject and build, naming it', async () => {
    const d = folder('dirkit');
    const fake = join(d, 'DIR.tar.gz');
    mkdirSync(fake);
    const fifo = join(d, 'pipe.tar.gz');
    execFileSync('mkfifo', [fifo]);
    for (const bad of [fake, fifo]) {
      const what = bad === fake ? /is a folder, not a regular file/ : /is a pipe, not a regular file/;
      await refused(['inspect', bad], what, bad);
      await refused(
        ['inject', '--bootkit', bad, '--installer-scripts', scripts, '--out', join(d, 'o.img')],
        what,
        bad,
      );
      await refused(['build', '--bootkit', bad, '--os-image', os, '--out', join(d, 'o.iso')], what, bad);
    }
    expect(readdirSync(d).sort()).toEqual(['DIR.tar.gz', 'pipe.tar.gz']);
  });
});

describe('3 and 10. an output that is an input', () => {
  it('build refuses when <out>.sha256 is the bootkit or the checksum file; inputs untouched', async () => {
    const d = folder('sha-out');
    const k = join(d, 'k.iso.sha256');
    writeFileSync(k, readFileSync(kit));
    const before = sha(k);
    await refused(
      ['build', '--bootkit', k, '--os-image', os, '--out', join(d, 'k.iso')],
      /k\.iso\.sha256, which is one of the inputs/,
    );
    const sum = join(d, 'os.iso.sha256');
    writeFileSync(sum, `${sha(os)}  os.img\n`);
    await refused(
      ['build', '--bootkit', kit, '--os-image', os, '--os-image-sha256', sum, '--out', join(d, 'os.iso')],
      /os\.iso\.sha256, which is one of the inputs/,
    );
    expect(sha(k)).toBe(before);
    expect(readdirSync(d).sort()).toEqual(['k.iso.sha256', 'os.iso.sha256']);
  });

  it('inject --bootkit X --out X refuses, also through a hard link or a symlink', async () => {
    const d = folder('same-out');
    const k = join(d, 'k.tar.gz');
    writeFileSync(k, readFileSync(kit));
    linkSync(k, join(d, 'hard.tar.gz'));
    symlinkSync(k, join(d, 'soft.tar.gz'));
    const before = sha(k);
    for (const out of [k, join(d, 'hard.tar.gz'), join(d, 'soft.tar.gz')])
      await refused(
        ['inject', '--bootkit', k, '--installer-scripts', scripts, '--out', out],
        /is one of the inputs/,
      );
    expect(sha(k)).toBe(before);
    expect(readdirSync(d).sort()).toEqual(['hard.tar.gz', 'k.tar.gz', 'soft.tar.gz']);
  });
});

describe('5. password files', () => {
  it('a 64 KiB or 1 MiB line and a NUL byte are refused at once, saying the cap', async () => {
    const d = folder('pw');
    const cases: [string, Buffer, RegExp][] = [
      ['long', Buffer.from(`${'x'.repeat(64 * 1024)}\n`), /at most 256 characters/],
      ['huge', Buffer.alloc(1 << 20, 0x61), /at most 256 characters/],
      ['three-hundred', Buffer.from(`${'y'.repeat(300)}\n`), /longer than 256 characters/],
      ['nul', Buffer.from('pass\0word\n'), /NUL byte/],
    ];
    for (const [name, bytes, msg] of cases) {
      const pw = join(d, name);
      writeFileSync(pw, bytes);
      const t = performance.now();
      for (const argv of [
        [
          'build',
          '--bootkit',
          kit,
          '--os-image',
          os,
          '--config',
          site,
          '--password-file',
          pw,
          '--out',
          join(d, 'o.iso'),
        ],
        ['flash', os, '--config', site, '--password-file', pw, '--device', join(d, 'o.img'), '--yes'],
      ])
        await refused(argv, msg, pw);
      expect(performance.now() - t).toBeLessThan(5000);
    }
    expect(readdirSync(d).sort()).toEqual(['huge', 'long', 'nul', 'three-hundred']);
  });
});

describe('6. SOURCE_DATE_EPOCH', () => {
  it('one reader with the range every written format holds', async () => {
    const d = folder('epoch');
    for (const v of ['4294967296', '99999999999999', '-1', '1e9', ''])
      await refused(
        [
          'inject',
          '--bootkit',
          kit,
          '--installer-scripts',
          scripts,
          '--out',
          join(d, 'o.img'),
          '--source-date-epoch',
          v,
        ],
        /--source-date-epoch/,
      );
    for (const v of ['4294967296', '315532799'])
      await refused(
        ['build', '--bootkit', kit, '--os-image', os, '--out', join(d, 'o.iso'), '--source-date-epoch', v],
        /out of range: give 315532800 to 4294967295/,
      );
    const saved = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = '4294967296';
    try {
      await refused(
        ['build', '--bootkit', kit, '--os-image', os, '--out', join(d, 'o.iso')],
        /^emt-usb build: SOURCE_DATE_EPOCH 4294967296 is out of range/,
      );
      await refused(
        ['inject', '--bootkit', kit, '--installer-scripts', scripts, '--out', join(d, 'o.img')],
        /SOURCE_DATE_EPOCH 4294967296 is out of range/,
      );
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('9. outputs that cannot be written', () => {
  it('config --out: a missing folder, /proc/x, a folder, a character device; inject --out a folder', async () => {
    const d = folder('outs');
    await refused(
      ['config', site, '--to', 'yaml', '--out', join(d, 'no/x.yaml')],
      /the folder .*no does not exist/,
    );
    await refused(['config', site, '--to', 'yaml', '--out', '/proc/x'], /--out \/proc\/x: cannot be written/);
    await refused(['config', site, '--to', 'yaml', '--out', d], /is a folder; give a file name in it/);
    // A character device of our own (never one of the machine's /dev nodes).
    const dev = join(dir, 'full-dev');
    if (isRoot) {
      execFileSync('mknod', [dev, 'c', '1', '7']);
      await refused(
        ['config', site, '--to', 'yaml', '--out', dev],
        /is a character device, not a file we may replace/,
      );
    }
    await refused(
      ['inject', '--bootkit', kit, '--installer-scripts', scripts, '--out', d],
      /is a folder; give a file name in it/,
    );
    expect(readdirSync(d)).toEqual([]);
  });

  it.skipIf(!isRoot)('a full disk: config and inject say so and leave nothing', async () => {
    const m = folder('full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', m]);
    try {
      await refused(
        ['inject', '--bootkit', kit, '--installer-scripts', scripts, '--out', join(m, 'o.img')],
        /not enough space|no space/,
      );
      writeFileSync(join(m, 'x.yaml'), 'old\n');
      execFileSync('sh', ['-c', `dd if=/dev/zero of=${m}/fill bs=4k 2>/dev/null || true`]);
      await refused(
        ['config', site, '--to', 'yaml', '--out', join(m, 'x.yaml')],
        /no space left on the disk/,
      );
      expect(readFileSync(join(m, 'x.yaml'), 'utf8')).toBe('old\n');
      expect(readdirSync(m).sort()).toEqual(['fill', 'x.yaml']);
    } finally {
      execFileSync('umount', [m]);
    }
  });
});

describe('16. control characters in a value', () => {
  it('are escaped: the message stays one line', async () => {
    const r = await refused(
      ['build', '--bootkit', kit, '--os-image', os, '--out', join(dir, 'l.iso'), '--label', 'AB\nCD\x1b[31m'],
      /AB\\nCD\\x1b\[31m/,
    );
    expect(r.err[0]).not.toMatch(/[\n\x1b]/);
  });
});

describe('a bug of ours', () => {
  it('is one line naming the log, exit 1; the stack only in the log', async () => {
    const logDir = join(dir, 'state');
    commands.push({
      name: 'boom',
      summary: 'test only',
      load: async () => ({
        name: 'boom',
        summary: 'test only',
        usage: '',
        run: async () => {
          const o: { a?: { b: number } } = {};
          return o.a!.b;
        },
      }),
    });
    try {
      const out: string[] = [];
      const err: string[] = [];
      const log = AppLog.for('cli', logDir);
      const code = await main(
        ['boom', '--json'],
        { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false },
        { log },
      );
      expect(code).toBe(1);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/^emt-usb boom: internal error: .*undefined.* \(details: .*cli\.log\)$/);
      expect(err[0]).not.toMatch(/\n|at .*\.ts:\d+/);
      expect(JSON.parse(out.at(-1)!)).toMatchObject({
        type: 'error',
        error: { area: 'internal', code: 'INTERNAL', log: log.file },
      });
      expect(readFileSync(log.file, 'utf8')).toMatch(
        /internal error in emt-usb boom --json: TypeError[\s\S]*hostile-inputs\.test\.ts/,
      );
    } finally {
      commands.pop();
    }
  });
});

/** Runs the real CLI; `when` says when to send `signal`. Returns exit code, output and the child's temp folder. */
function interrupted(argv: string[], signal: 'SIGINT' | 'SIGTERM', when: (stdout: string) => boolean) {
  const tmp = join(dir, `tmp-${Math.random().toString(36).slice(2)}`);
  mkdirSync(tmp);
  return new Promise<{ code: number | null; stdout: string; stderr: string; tmp: string[] }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...argv, '--json'], {
        env: { ...process.env, TMPDIR: tmp },
      });
      let stdout = '';
      let stderr = '';
      let sent = false;
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString();
        if (!sent && when(stdout)) {
          sent = true;
          child.kill(signal);
        }
      });
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(timer);
        // tsx (the launcher of the TypeScript sources) keeps its compile cache there: not ours.
        resolve({ code, stdout, stderr, tmp: readdirSync(tmp).filter((n) => !n.startsWith('tsx-')) });
      });
    },
  );
}

const progressOf = (stage: string) => (s: string) => s.includes(`"type":"progress","stage":"${stage}"`);

describe('11. Ctrl-C and SIGTERM', () => {
  it('during inject: exit 130, nothing beside the output, nothing in the temp folder', async () => {
    const d = folder('int-inject');
    const r = await interrupted(
      [
        'inject',
        '--bootkit',
        kit,
        '--installer-scripts',
        scripts,
        '--out',
        join(d, 'k.img'),
        '--mode',
        'single',
      ],
      'SIGINT',
      (s) => /"done":[1-9]/.test(s),
    );
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout.trim().split('\n').at(-1)).toContain('"code":"CANCELLED"');
    expect(readdirSync(d)).toEqual([]);
    expect(r.tmp).toEqual([]);
  });

  it('during inspect of a tar.gz: SIGTERM exits 143 and leaves nothing in the temp folder', async () => {
    const r = await interrupted(['inspect', kit], 'SIGTERM', (s) => s.includes('"type":"progress"'));
    expect(r.code, r.stderr).toBe(143);
    expect(r.tmp).toEqual([]);
  });

  it('during build: exit 130, the output folder stays empty', async () => {
    const d = folder('int-build');
    const r = await interrupted(
      ['build', '--bootkit', kit, '--os-image', os, '--out', join(d, 'k.iso')],
      'SIGINT',
      progressOf('inject'),
    );
    expect(r.code, r.stderr).toBe(130);
    expect(readdirSync(d)).toEqual([]);
    expect(r.tmp).toEqual([]);
  });

  it('17. during a flash to an existing image file: exit 130, the file intact, the message says so', async () => {
    const d = folder('int-flash');
    const big = join(d, 'big.iso');
    writeFileSync(big, seededBytes('hostile-big', 96 * 2 ** 20));
    const target = join(d, 'stick.img');
    writeFileSync(target, 'precious\n');
    const r = await interrupted(['flash', big, '--device', target, '--yes', '--log-dir', d], 'SIGINT', (s) =>
      /"stage":"write","done":[1-9]/.test(s),
    );
    expect(r.code, r.stderr).toBe(130);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(result.results[0].status).toBe('cancelled');
    expect(result.results[0].message).toMatch(/stick\.img is as it was/);
    expect(result.results[0].message).not.toMatch(/not usable/);
    expect(
      readdirSync(d)
        .filter((n) => !n.endsWith('.log'))
        .sort(),
    ).toEqual(['big.iso', 'stick.img']);
    expect(r.tmp).toEqual([]);
  });
});

describe('7 and 8. config files that would exhaust memory', () => {
  it('a YAML alias bomb is refused in one line, at once, by config, build and flash', async () => {
    const d = folder('laughs');
    let yaml = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (const [i, n] of [...'bcdefghi'].entries())
      yaml += `${n}: &${n} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]\n`;
    const bomb = join(d, 'laughs.yaml');
    writeFileSync(bomb, `user_name: edge\n${yaml}`);
    // The same bomb after a legacy config-file's lines, where its YAML tail is parsed.
    const legacy = join(d, 'laughs-legacy');
    writeFileSync(legacy, `user_name=edge\nhost_type=container\n${yaml}`);
    const t = performance.now();
    for (const f of [bomb, legacy]) {
      await refused(['config', f], /YAML aliases .* expand past 100 nodes/, f);
      await refused(
        ['build', '--bootkit', kit, '--os-image', os, '--config', f, '--out', join(d, 'o.iso')],
        /YAML aliases .* expand past 100 nodes/,
        f,
      );
      await refused(['flash', os, '--config', f, '--device', join(d, 'o.img'), '--yes'], /YAML aliases/, f);
    }
    expect(performance.now() - t).toBeLessThan(5000);
    expect(readdirSync(d).sort()).toEqual(['laughs-legacy', 'laughs.yaml']);
  });

  it('a config over 1 MiB is refused before it is read, saying the cap and why', async () => {
    const d = folder('big-config');
    const big = join(d, 'big.yaml');
    // Sparse: 150 MB claimed, nothing on disk; a parse would take gigabytes.
    writeFileSync(big, 'user_name: edge\n');
    execFileSync('truncate', ['-s', '150M', big]);
    const just = join(d, 'just-over.yaml');
    writeFileSync(just, `user_name: edge\n#${'x'.repeat(2 ** 20)}\n`);
    const t = performance.now();
    for (const f of [big, just]) {
      const cap = /is \d+ bytes; a site config is at most 1048576 bytes \(1 MiB: .*only cost memory\)/;
      await refused(['config', f], cap, f);
      await refused(
        ['build', '--bootkit', kit, '--os-image', os, '--config', f, '--out', join(d, 'o.iso')],
        cap,
        f,
      );
      await refused(['flash', os, '--config', f, '--device', join(d, 'o.img'), '--yes'], cap, f);
    }
    expect(performance.now() - t).toBeLessThan(5000);
    expect(readdirSync(d).sort()).toEqual(['big.yaml', 'just-over.yaml']);
  });
});

describe('13. flash --config-image that is not an EMTCONFIG image of ours', () => {
  it('random bytes, an empty file, a sparse 200 MB file: refused before a byte is written', async () => {
    const d = folder('cfg-image');
    const target = join(d, 'stick.img');
    writeFileSync(target, 'precious\n');
    const cases: [string, (p: string) => void, RegExp][] = [
      ['random.img', (p) => writeFileSync(p, seededBytes('cfg-random', 1000)), /is not a FAT file system/],
      ['empty.img', (p) => writeFileSync(p, ''), /is empty, not a FAT file system/],
      [
        'huge.img',
        (p) => execFileSync('truncate', ['-s', '200M', p]),
        /is 209715200 bytes; an EMTCONFIG image is at most 67108864 bytes/,
      ],
    ];
    for (const [name, make, msg] of cases) {
      const img = join(d, name);
      make(img);
      const r = await cli(['flash', os, '--config-image', img, '--device', target, '--yes']);
      expect(r.code, r.err.join('\n')).toBe(2);
      expect(r.err.join('\n')).toMatch(
        new RegExp(`config image ${img.replace(/[.]/g, '\\.')}: ${msg.source}`),
      );
      expect(r.out.join('\n')).not.toMatch(/written and verified/);
    }
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(readdirSync(d).sort()).toEqual(['empty.img', 'huge.img', 'random.img', 'stick.img']);
  });
});

describe('4. the OS image content', () => {
  /** 4 MiB of a compressible "disk", gzip-compressed by the real gzip. */
  const disk = () => {
    const raw = Buffer.alloc(4 * 2 ** 20);
    for (let i = 0; i < raw.length; i += 128 * 1024) seededBytes(`disk${i}`, 8192).copy(raw, i);
    return execFileSync('gzip', ['-n', '-c'], { input: raw, maxBuffer: 1 << 26 });
  };

  it('random bytes named .raw.gz, a gzip cut short, a gzip with 4 bytes zeroed: exit 2 naming the file, nothing left', async () => {
    const d = folder('os-bad');
    const gz = disk();
    const cases: [string, Buffer, RegExp][] = [
      ['random.raw.gz', seededBytes('os-random', 3 * 2 ** 20), /is named as gzip but is not gzip data/],
      ['cut.raw.gz', gz.subarray(0, Math.floor(gz.length / 2)), /its gzip stream is truncated or corrupt/],
      [
        'zeroed.raw.gz',
        Buffer.concat([gz.subarray(0, gz.length / 2), Buffer.alloc(4), gz.subarray(gz.length / 2 + 4)]),
        /its gzip stream is truncated or corrupt/,
      ],
    ];
    for (const [name, bytes, msg] of cases) {
      const p = join(d, name);
      writeFileSync(p, bytes);
      const before = sha(p);
      await refused(['build', '--bootkit', kit, '--os-image', p, '--out', join(d, 'o.iso')], msg, p);
      expect(sha(p)).toBe(before);
    }
    expect(readdirSync(d).sort()).toEqual(['cut.raw.gz', 'random.raw.gz', 'zeroed.raw.gz']);
  });

  it('the build output says which check it made: the whole stream without a checksum, header and trailer with one', async () => {
    const d = folder('os-good');
    const p = join(d, 'emt.raw.gz');
    writeFileSync(p, disk());
    const plain = await cli(['build', '--bootkit', kit, '--os-image', p, '--out', join(d, 'a.iso')]);
    expect(plain.code, plain.err.join('\n')).toBe(0);
    expect(plain.out).toContain(
      'OS image: gzip, no checksum given (--os-image-sha256): its whole stream was decompressed (4.0 MiB) and is intact',
    );
    writeFileSync(`${p}.sha256`, `${sha(p)}  emt.raw.gz\n`);
    const summed = await cli([
      'build',
      '--bootkit',
      kit,
      '--os-image',
      p,
      '--os-image-sha256',
      `${p}.sha256`,
      '--out',
      join(d, 'b.iso'),
    ]);
    expect(summed.code, summed.err.join('\n')).toBe(0);
    expect(summed.out).toContain(
      'OS image: gzip, its sha256 matches the given checksum; the gzip header and trailer were checked',
    );
    // Without a checksum, no claim of a header-and-trailer check.
    expect(plain.out.join('\n')).not.toMatch(/header and trailer/);
  });
});

describe('also cover: flash and build targets', () => {
  it('flash to a folder, to the image itself, to a null or full character device of our own: refused on stderr', async () => {
    const d = folder('flash-targets');
    const img = join(d, 'img.iso');
    writeFileSync(img, seededBytes('flash-target', 3 * 2 ** 20));
    const before = sha(img);
    const targets: [string, RegExp][] = [
      [join(d, 'adir'), /adir: is neither a drive, a loop device nor a regular file/],
      [img, /img\.iso: is the image itself/],
    ];
    mkdirSync(join(d, 'adir'));
    if (isRoot) {
      execFileSync('mknod', [join(d, 'mynull'), 'c', '1', '3']);
      execFileSync('mknod', [join(d, 'myfull'), 'c', '1', '7']);
      targets.push(
        [join(d, 'mynull'), /mynull: is neither a drive/],
        [join(d, 'myfull'), /myfull: is neither a drive/],
      );
    }
    for (const [t, msg] of targets) {
      const r = await cli(['flash', img, '--device', t, '--yes', '--log-dir', join(dir, 'flash-logs')]);
      expect(r.code, r.err.join('\n')).toBe(2);
      expect(r.err.join('\n')).toMatch(msg);
      expect(r.out.join('\n')).not.toMatch(/REFUSED|written and verified/);
    }
    expect(sha(img)).toBe(before);
  });

  it('two builds to one output at once: the ISO left matches its .sha256, no temp file stays', async () => {
    const d = folder('two-builds');
    const out = join(d, 'k.iso');
    const run = () =>
      new Promise<number | null>((res) => {
        const c = spawn(
          process.execPath,
          [bin, 'build', '--bootkit', kit, '--os-image', os, '--out', out, '--json'],
          {
            stdio: 'ignore',
          },
        );
        c.on('exit', res);
      });
    const codes = await Promise.all([run(), run()]);
    expect(
      codes.every((c) => c === 0 || c === 2),
      String(codes),
    ).toBe(true);
    expect(codes).toContain(0);
    expect(readdirSync(d).sort()).toEqual(['k.iso', 'k.iso.sha256']);
    expect(readFileSync(`${out}.sha256`, 'utf8').slice(0, 64)).toBe(sha(out));
  });
});
