// Prepended to emscripten's glue (--pre-js). Two host facts the glue gets wrong
// for a program that must give the same bytes as native xorriso.
/* global ENV, FS */
Module.preRun = Module.preRun || [];
Module.preRun.push(() => {
  // 1. The host environment (SOURCE_DATE_EPOCH, LANG, ...): emscripten shows the
  // program only its own defaults. preRun runs on the main thread, before the C
  // constructors read the environment into environ.
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined) ENV[name] = value;
  }

  // 2. File times truncated, not rounded: Node rounds stat times to the nearest
  // millisecond (x.9995 s becomes x+1 s); the kernel hands C whole seconds.
  const fs = require('node:fs');
  const S_IFMT = 0o170000;
  // (BigInt() not a literal: the glue minifier here cannot print BigInt literals.)
  const NS_PER_MS = BigInt(1000000);
  const truncatedMs = (ns) => new Date(Number(ns / NS_PER_MS));
  const exact = (big) => {
    const mode = Number(big.mode);
    const kind = (bits) => (mode & S_IFMT) === bits;
    return {
      dev: Number(big.dev),
      ino: Number(big.ino),
      mode,
      nlink: Number(big.nlink),
      uid: Number(big.uid),
      gid: Number(big.gid),
      rdev: Number(big.rdev),
      size: Number(big.size),
      blksize: Number(big.blksize),
      blocks: Number(big.blocks),
      atime: truncatedMs(big.atimeNs),
      mtime: truncatedMs(big.mtimeNs),
      ctime: truncatedMs(big.ctimeNs),
      isFile: () => kind(0o100000),
      isDirectory: () => kind(0o040000),
      isSymbolicLink: () => kind(0o120000),
      isCharacterDevice: () => kind(0o020000),
      isBlockDevice: () => kind(0o060000),
      isFIFO: () => kind(0o010000),
      isSocket: () => kind(0o140000),
    };
  };
  // NODERAWFS maps Node's error codes to errno by wrapping FS calls; keep that.
  const wrap = (call) => (path) => {
    try {
      return exact(call(path, { bigint: true }));
    } catch (e) {
      if (e && e.code && typeof ERRNO_CODES === 'object' && e.code in ERRNO_CODES) {
        throw new FS.ErrnoError(ERRNO_CODES[e.code]);
      }
      throw e;
    }
  };
  FS.stat = wrap(fs.statSync);
  FS.lstat = wrap(fs.lstatSync);
});
