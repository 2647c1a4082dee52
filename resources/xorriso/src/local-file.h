/* libisofs' local-file reads, served without proxying to the main thread. See local-file.c. */
#ifndef EMT_LOCAL_FILE_H
#define EMT_LOCAL_FILE_H
#include <sys/types.h>

int emt_local_open(const char *path);
ssize_t emt_local_read(int h, void *dst, size_t count);
off_t emt_local_lseek(int h, off_t offset, int whence);
int emt_local_close(int h);
/* open() + close() as a readability check (libisofs' iso_eaccess); 0 or -1 with errno. */
int emt_local_access(const char *path);

#endif
