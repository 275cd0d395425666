/* Shared helpers for the WASI test programs: each call's errno is printed as
   "label=N", so the Python test can check it against the witx's numbers. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define SHOW(label, expr) printf("%s=%d\n", (label), (int)(expr))

/* The first preopened directory; the tests always grant one as fd 3. */
#define DIR_FD 3

/* An address past the end of any memory these programs have: EFAULT territory. */
#define BAD_PTR ((void *)0xfffffff0u)

static inline __wasi_errno_t open_at(__wasi_fd_t dir, const char *path, __wasi_oflags_t oflags,
                                     __wasi_rights_t rights, __wasi_fdflags_t fdflags, __wasi_fd_t *out) {
  return __wasi_path_open(dir, 0, path, oflags, rights, rights, fdflags, out);
}

static inline __wasi_errno_t write_str(__wasi_fd_t fd, const char *text, __wasi_size_t *written) {
  __wasi_ciovec_t iov = {(const uint8_t *)text, strlen(text)};
  return __wasi_fd_write(fd, &iov, 1, written);
}

static inline __wasi_errno_t read_buf(__wasi_fd_t fd, char *buf, size_t len, __wasi_size_t *got) {
  __wasi_iovec_t iov = {(uint8_t *)buf, len};
  return __wasi_fd_read(fd, &iov, 1, got);
}
