/* Reading the content of local files for libisofs (fs_local.c), fast under wasm.
 *
 * With emscripten's NODERAWFS every read() made by a worker thread is proxied
 * to the main JS thread (~15 us each), and libisofs reads file content 2 KiB at
 * a time: a 1 GiB file costs half a million round trips. Here the thread that
 * reads calls Node's fs directly (Node fds are process-wide, so no proxying),
 * and reads ahead 1 MiB at a time. The bytes handed to libisofs are the same.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef __EMSCRIPTEN__
#error "local-file.c is the wasm build's reader; native builds use fs_local.c as is"
#endif
#include <emscripten.h>

#include "local-file.h"

#define READ_AHEAD (1024 * 1024)
#define MAX_FILES 1024

/* Opens for reading; a Node error code comes back as a small negative number
 * (see errnos[] below), a non-regular file as -(fd + 10). */
EM_JS(int, emt_js_open, (const char *path), {
  var heap = new Uint8Array(wasmMemory.buffer);
  var end = path;
  while (heap[end]) end++;
  var name = Buffer.from(heap.slice(path, end)).toString('utf8');
  try {
    var fs = require('fs');
    var fd = fs.openSync(name, 'r');
    return fs.fstatSync(fd).isFile() ? fd : -(fd + 10);
  } catch (e) {
    var kinds = { ENOENT: 1, EACCES: 2, EPERM: 2, EISDIR: 3, EMFILE: 4, ENFILE: 4, ENOMEM: 5 };
    return -(kinds[e.code] || 6);
  }
});

/* Reads into wasm memory at buf; pos < 0 reads at the current position. */
EM_JS(double, emt_js_read, (int nfd, char *buf, double count, double pos), {
  try {
    return require('fs').readSync(nfd, new Uint8Array(wasmMemory.buffer, buf, count), 0, count, pos < 0 ? null : pos);
  } catch (e) {
    return -1;
  }
});

EM_JS(double, emt_js_size, (int nfd), {
  try {
    return require('fs').fstatSync(nfd).size;
  } catch (e) {
    return -1;
  }
});

EM_JS(int, emt_js_close, (int nfd), {
  try {
    require('fs').closeSync(nfd);
    return 0;
  } catch (e) {
    return -1;
  }
});

struct local_file {
    int nfd;          /* Node's (the OS's) file descriptor */
    int sequential;   /* not a regular file: no positioned reads */
    off_t pos;        /* where libisofs reads next */
    off_t buf_pos;    /* file offset of buf[0] */
    size_t buf_len;   /* valid bytes in buf */
    char *buf;
};

static struct local_file *files[MAX_FILES];
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;

static struct local_file *get(int h)
{
    if (h < 0 || h >= MAX_FILES)
        return NULL;
    return files[h];
}

int emt_local_open(const char *path)
{
    int nfd = emt_js_open(path), sequential = 0;
    if (nfd <= -10) {
        nfd = -nfd - 10;
        sequential = 1;
    } else if (nfd < 0) {
        static const int errnos[] = { 0, ENOENT, EACCES, EISDIR, EMFILE, ENOMEM, EIO };
        errno = errnos[-nfd];
        return -1;
    }
    struct local_file *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        emt_js_close(nfd);
        errno = ENOMEM;
        return -1;
    }
    f->nfd = nfd;
    f->sequential = sequential;
    pthread_mutex_lock(&files_lock);
    int h;
    for (h = 0; h < MAX_FILES && files[h] != NULL; h++)
        ;
    if (h < MAX_FILES)
        files[h] = f;
    pthread_mutex_unlock(&files_lock);
    if (h == MAX_FILES) {
        emt_js_close(nfd);
        free(f);
        errno = EMFILE;
        return -1;
    }
    return h;
}

ssize_t emt_local_read(int h, void *dst, size_t count)
{
    struct local_file *f = get(h);
    if (f == NULL) {
        errno = EBADF;
        return -1;
    }
    if (f->sequential) {
        double n = emt_js_read(f->nfd, dst, (double) count, -1);
        if (n < 0) {
            errno = EIO;
            return -1;
        }
        f->pos += (off_t) n;
        return (ssize_t) n;
    }
    char *out = dst;
    size_t done = 0;
    while (done < count) {
        if (f->pos >= f->buf_pos && f->pos < f->buf_pos + (off_t) f->buf_len) {
            size_t at = (size_t) (f->pos - f->buf_pos);
            size_t n = f->buf_len - at;
            if (n > count - done)
                n = count - done;
            memcpy(out + done, f->buf + at, n);
            f->pos += (off_t) n;
            done += n;
            continue;
        }
        if (f->buf == NULL && (f->buf = malloc(READ_AHEAD)) == NULL) {
            errno = ENOMEM;
            return done > 0 ? (ssize_t) done : -1;
        }
        double n = emt_js_read(f->nfd, f->buf, READ_AHEAD, (double) f->pos);
        if (n < 0) {
            f->buf_len = 0;
            errno = EIO;
            return done > 0 ? (ssize_t) done : -1;
        }
        f->buf_pos = f->pos;
        f->buf_len = (size_t) n;
        if (n == 0) /* end of file */
            break;
    }
    return (ssize_t) done;
}

off_t emt_local_lseek(int h, off_t offset, int whence)
{
    struct local_file *f = get(h);
    if (f == NULL) {
        errno = EBADF;
        return -1;
    }
    if (f->sequential) {
        errno = ESPIPE;
        return -1;
    }
    off_t base;
    if (whence == SEEK_SET) {
        base = 0;
    } else if (whence == SEEK_CUR) {
        base = f->pos;
    } else if (whence == SEEK_END) {
        double size = emt_js_size(f->nfd);
        if (size < 0) {
            errno = EIO;
            return -1;
        }
        base = (off_t) size;
    } else {
        errno = EINVAL;
        return -1;
    }
    if (base + offset < 0) {
        errno = EINVAL;
        return -1;
    }
    f->pos = base + offset;
    return f->pos;
}

int emt_local_close(int h)
{
    pthread_mutex_lock(&files_lock);
    struct local_file *f = get(h);
    if (f != NULL)
        files[h] = NULL;
    pthread_mutex_unlock(&files_lock);
    if (f == NULL) {
        errno = EBADF;
        return -1;
    }
    int ret = emt_js_close(f->nfd);
    free(f->buf);
    free(f);
    if (ret != 0) {
        errno = EIO;
        return -1;
    }
    return 0;
}

int emt_local_access(const char *path)
{
    int h = emt_local_open(path);
    if (h < 0)
        return -1; /* errno set by emt_local_open */
    emt_local_close(h);
    return 0;
}
