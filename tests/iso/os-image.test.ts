import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOsImage, parseSha256File, verifyOsImage } from '../../electron/iso/os-image.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emt-osimg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseSha256File', () => {
  it('reads sha256sum, bare and BSD forms', () => {
    expect(parseSha256File(`${A}  emt.raw.gz\n`, 'f', 'emt.raw.gz')).toBe(A);
    expect(parseSha256File(`${A.toUpperCase()} *emt.raw.gz\r\n`, 'f', 'x')).toBe(A);
    expect(parseSha256File(`${A}\n`, 'f', 'x')).toBe(A);
    expect(parseSha256File(`SHA256 (dir/emt.raw.gz) = ${A}\n`, 'f', 'emt.raw.gz')).toBe(A);
  });

  it('picks the line for the image among several', () => {
    expect(parseSha256File(`${A}  other.img\n${B}  ./imgs/emt.raw.gz\n`, 'f', 'emt.raw.gz')).toBe(B);
    expect(() => parseSha256File(`${A}  a.img\n${B}  b.img\n`, 'sums', 'emt.raw.gz')).toThrow(
      'sums lists 2 files but not exactly one emt.raw.gz',
    );
  });

  it('names the file and the bad line', () => {
    expect(() => parseSha256File('md5 1234  emt.raw.gz\n', 'sums.txt', 'x')).toThrow(
      "sums.txt: 'md5 1234  emt.raw.gz' is not a sha256 line",
    );
    expect(() => parseSha256File('\n# nothing\n', 'sums.txt', 'x')).toThrow('sums.txt holds no sha256');
  });
});

describe('checkOsImage / verifyOsImage', () => {
  it('refuses missing, folder and empty images, naming them', async () => {
    await expect(checkOsImage(join(dir, 'none.img'))).rejects.toThrow(
      `OS image ${join(dir, 'none.img')} does not exist`,
    );
    await mkdir(join(dir, 'folder.img'));
    await expect(checkOsImage(join(dir, 'folder.img'))).rejects.toThrow(/is not a regular file/);
    await writeFile(join(dir, 'empty.img'), '');
    await expect(checkOsImage(join(dir, 'empty.img'))).rejects.toThrow(/is empty/);
  });

  it('accepts the right sha256 and refuses a wrong one with both values', async () => {
    const p = join(dir, 'os.img');
    await writeFile(p, 'abc');
    const sha = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'; // sha256("abc")
    expect(await verifyOsImage(p, sha)).toEqual({ sha256: sha, size: 3 });
    await expect(verifyOsImage(p, A)).rejects.toThrow(
      `OS image ${p} has sha256 ${sha}, but ${A} was expected`,
    );
  });
});
