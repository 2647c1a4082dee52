// Linked with --js-library: fsync() that reaches the disk. Emscripten's fd_sync
// does nothing for NODERAWFS files; xorriso syncs its image file every 32 MiB
// (-stdio_sync), which keeps the page cache from filling with dirty pages and
// means the same as with native xorriso when it reports success.
/* global mergeInto, LibraryManager, SYSCALLS, FS, ERRNO_CODES */
mergeInto(LibraryManager.library, {
  fd_sync__proxy: 'sync',
  fd_sync__sig: 'ii',
  fd_sync__deps: ['$SYSCALLS', '$ERRNO_CODES'],
  fd_sync: function (fd) {
    try {
      var stream = SYSCALLS.getStreamFromFD(fd);
      // NODERAWFS streams carry Node's fd in nfd and have no stream_ops.
      if (!stream.stream_ops && typeof stream.nfd === 'number' && !stream.tty) {
        require('fs').fsyncSync(stream.nfd);
      }
      return 0;
    } catch (e) {
      if (typeof FS !== 'undefined' && e instanceof FS.ErrnoError) return e.errno;
      return (e && ERRNO_CODES[e.code]) || {{{ cDefine('EIO') }}};
    }
  },
});
