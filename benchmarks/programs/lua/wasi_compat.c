/* What Lua's standard library calls and WASI preview 1 does not have: no temporary files, no shell.
 * wasi-libc declares these (deprecated) but does not define them; Lua reports the failure to the script
 * as it would on a host without them (io.tmpfile and os.tmpname return an error, os.execute() is false). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

FILE *tmpfile(void) {
    errno = ENOTSUP;
    return NULL;
}

char *tmpnam(char *buffer) {
    (void)buffer;
    return NULL;
}

int system(const char *command) {
    return command == NULL ? 0 : -1;
}
