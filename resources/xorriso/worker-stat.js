// Linked with --js-library: stat(), lstat() and access() answered in the thread
// that calls them. Emscripten proxies every file-system call of a pthread to the main JS
// thread (a round trip of ~15 us); xorriso makes about a dozen stats per file it
// adds, and Node's fs works in any thread. Results match pre.js's main-thread
// stat: whole seconds, truncated (not rounded as Node's Date fields are).
/* global mergeInto, LibraryManager, UTF8ToString, ERRNO_CODES */
mergeInto(LibraryManager.library, {
  $emtStatHere__deps: ['$ERRNO_CODES'],
  $emtStatHere: function (pathPtr, buf, nofollow) {
    var st;
    try {
      var fs = require('fs');
      var path = UTF8ToString(pathPtr);
      st = nofollow ? fs.lstatSync(path, { bigint: true }) : fs.statSync(path, { bigint: true });
    } catch (e) {
      return -(ERRNO_CODES[e.code] || {{{ cDefine('EIO') }}});
    }
    var NS_PER_S = BigInt(1000000000);
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_dev, 'Number(st.dev)', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.__st_dev_padding, '0', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.__st_ino_truncated, 'Number(st.ino)', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_mode, 'Number(st.mode)', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_nlink, 'Number(st.nlink)', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_uid, 'Number(st.uid)', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_gid, 'Number(st.gid)', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_rdev, 'Number(st.rdev)', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.__st_rdev_padding, '0', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_size, 'Number(st.size)', 'i64') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_blksize, '4096', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_blocks, 'Number(st.blocks)', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_atim.tv_sec, 'Number(st.atimeNs / NS_PER_S)|0', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_atim.tv_nsec, '0', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_mtim.tv_sec, 'Number(st.mtimeNs / NS_PER_S)|0', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_mtim.tv_nsec, '0', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_ctim.tv_sec, 'Number(st.ctimeNs / NS_PER_S)|0', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_ctim.tv_nsec, '0', 'i32') }}};
    {{{ makeSetValue('buf', C_STRUCTS.stat.st_ino, 'Number(st.ino)', 'i64') }}};
    return 0;
  },

  __syscall_stat64__proxy: false,
  __syscall_stat64__deps: ['$emtStatHere'],
  __syscall_stat64: function (path, buf) {
    return emtStatHere(path, buf, false);
  },

  __syscall_lstat64__proxy: false,
  __syscall_lstat64__deps: ['$emtStatHere'],
  __syscall_lstat64: function (path, buf) {
    return emtStatHere(path, buf, true);
  },

  // access() (xorriso checks each file it adds). Paths are relative to the
  // process's cwd, as NODERAWFS has them; another dirfd is not used by xorriso.
  __syscall_faccessat__proxy: false,
  __syscall_faccessat__deps: ['$ERRNO_CODES'],
  __syscall_faccessat: function (dirfd, path, amode, flags) {
    var p = UTF8ToString(path);
    if (dirfd !== {{{ cDefine('AT_FDCWD') }}} && p[0] !== '/') return -{{{ cDefine('ENOSYS') }}};
    if (flags !== 0) return -{{{ cDefine('EINVAL') }}};
    try {
      require('fs').accessSync(p, amode);
      return 0;
    } catch (e) {
      return -(ERRNO_CODES[e.code] || {{{ cDefine('EIO') }}});
    }
  },
});
