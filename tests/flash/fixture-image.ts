// Test images made by code: a hybrid ISO mastered by the real xorriso with the
// installer's GPT layout (appended ESP + an EMTCONFIG FAT partition), cached by recipe.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const DATA_TYPE = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';

/** Deterministic bytes (counter-mode sha256), so the image is reproducible. */
export function pseudoRandom(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0, off = 0; off < size; i++, off += 32)
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
}

export function makeFat(path: string, label: string, kib: number, files: Record<string, string> = {}): void {
  rmSync(path, { force: true });
  execFileSync('mkfs.fat', ['-C', '-n', label, '-i', '12345678', path, String(kib)], { stdio: 'ignore' });
  for (const [name, text] of Object.entries(files)) {
    const src = `${path}.${name}`;
    writeFileSync(src, text);
    execFileSync('mcopy', ['-i', path, src, `::${name}`]);
    rmSync(src);
  }
}

export interface TestIso {
  path: string;
  size: number;
}

/** A ~40 MiB installer-shaped ISO (payload in the ISO tree, ESP p2, EMTCONFIG p3). */
export function testIso(payloadMiB = 24): TestIso {
  const recipe = createHash('sha256').update(`flash-test-iso v1 ${payloadMiB}`).digest('hex').slice(0, 16);
  const cache = join(process.env.EMT_CACHE_DIR || join(homedir(), '.cache', 'emt-usb'), 'test-flash');
  const path = join(cache, `installer-${recipe}.iso`);
  if (!existsSync(path)) {
    mkdirSync(cache, { recursive: true });
    const work = mkdtempSync(join(tmpdir(), 'emt-flash-fixture-'));
    try {
      mkdirSync(join(work, 'tree', 'images'), { recursive: true });
      writeFileSync(join(work, 'tree', 'images', 'payload.bin'), pseudoRandom('payload', payloadMiB << 20));
      writeFileSync(join(work, 'tree', 'emt-installer.json'), '{"test":true}\n');
      makeFat(join(work, 'esp.img'), 'ESP', 2048, { 'MARKER.TXT': 'esp' });
      makeFat(join(work, 'cfg.img'), 'EMTCONFIG', 4096, { 'CONFIG.TXT': 'build-time config\n' });
      const tmp = join(cache, `.installer-${recipe}.${process.pid}.tmp`);
      execFileSync(
        'xorriso',
        [
          '-as',
          'mkisofs',
          '-o',
          tmp,
          '-iso-level',
          '3',
          '-R',
          '-J',
          '-V',
          'EMT_TEST',
          '-partition_offset',
          '16',
          '-append_partition',
          '2',
          ESP_TYPE,
          join(work, 'esp.img'),
          '-append_partition',
          '3',
          DATA_TYPE,
          join(work, 'cfg.img'),
          '-appended_part_as_gpt',
          join(work, 'tree'),
        ],
        { stdio: 'ignore', env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } },
      );
      renameSync(tmp, path);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return { path, size: Number(execFileSync('stat', ['-c', '%s', path], { encoding: 'utf8' }).trim()) };
}

/** Attaches a loop device to `file` for the duration of `fn`, always detaching it. */
export async function withLoop<T>(file: string, fn: (dev: string) => Promise<T>): Promise<T> {
  const dev = execFileSync('losetup', ['-f', '--show', file], { encoding: 'utf8' }).trim();
  try {
    return await fn(dev);
  } finally {
    execFileSync('losetup', ['-d', dev]);
  }
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
