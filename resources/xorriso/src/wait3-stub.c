/* xorriso links wait3() for its external filter programs, which this build
 * disables; emscripten's libc has no wait3. There are never child processes. */
#include <errno.h>
#include <sys/types.h>

struct rusage;

pid_t wait3(int *status, int options, struct rusage *usage)
{
    (void) status;
    (void) options;
    (void) usage;
    errno = ECHILD;
    return -1;
}
