/* A guest that passes bad pointers, bad descriptors, huge lengths and values
   outside every enum: each call must come back with an errno, and the guest
   must live on to print "alive".  fd 3 is a writable preopen. */
#include "probe.h"

#define IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))
/* Raw imports that take (pointer, length) for paths, so lengths can lie. */
IMPORT("path_open") int32_t raw_path_open(int32_t fd, int32_t dirflags, const void *path, uint32_t path_len,
                                          int32_t oflags, uint64_t base, uint64_t inheriting, int32_t fdflags,
                                          void *opened);
IMPORT("path_create_directory") int32_t raw_mkdir(int32_t fd, const void *path, uint32_t path_len);
IMPORT("path_filestat_get") int32_t raw_path_stat(int32_t fd, int32_t flags, const void *path, uint32_t len,
                                                  void *out);
IMPORT("fd_seek") int32_t raw_seek(int32_t fd, int64_t offset, int32_t whence, void *out);
IMPORT("fd_advise") int32_t raw_advise(int32_t fd, uint64_t offset, uint64_t len, int32_t advice);
IMPORT("fd_fdstat_set_flags") int32_t raw_set_flags(int32_t fd, int32_t flags);
IMPORT("fd_filestat_set_times") int32_t raw_set_times(int32_t fd, uint64_t a, uint64_t m, int32_t flags);
IMPORT("poll_oneoff") int32_t raw_poll(const void *in, void *out, uint32_t n, void *nevents);
IMPORT("args_get") int32_t raw_args_get(void *argv, void *buf);
IMPORT("random_get") int32_t raw_random(void *buf, uint32_t len);
IMPORT("fd_write") int32_t raw_write(int32_t fd, const void *iovs, uint32_t n, void *written);
IMPORT("fd_read") int32_t raw_read(int32_t fd, const void *iovs, uint32_t n, void *nread);
IMPORT("fd_readdir") int32_t raw_readdir(int32_t fd, void *buf, uint32_t len, uint64_t cookie, void *used);
IMPORT("sock_accept") int32_t raw_accept(int32_t fd, int32_t flags, void *out);
IMPORT("sock_shutdown") int32_t raw_shutdown(int32_t fd, int32_t how);

#define ALL ((uint64_t)0x1fffffff)

int main(void) {
  char buf[64];
  uint32_t n;
  uint64_t big;
  uint32_t iov[2] = {(uint32_t)(uintptr_t)"boom\n", 5};
  uint32_t huge_iov[2] = {(uint32_t)(uintptr_t)buf, 0xffffffffu};
  uint32_t bad_iov[2] = {0xfffffff0u, 16};

  /* bad pointers */
  SHOW("write_bad_iovs", raw_write(1, BAD_PTR, 1, &n));
  SHOW("write_bad_buffer", raw_write(1, bad_iov, 1, &n));
  SHOW("write_bad_result", raw_write(1, iov, 1, BAD_PTR));
  SHOW("read_bad_buffer", raw_read(0, bad_iov, 1, &n));
  SHOW("args_get_bad", raw_args_get(BAD_PTR, BAD_PTR));
  SHOW("random_bad", raw_random(BAD_PTR, 16));
  SHOW("clock_bad_result", __wasi_clock_time_get(0, 1, BAD_PTR));
  SHOW("prestat_name_bad", __wasi_fd_prestat_dir_name(DIR_FD, BAD_PTR, 100));
  SHOW("open_bad_path", raw_path_open(DIR_FD, 0, BAD_PTR, 8, __WASI_OFLAGS_CREAT, ALL, ALL, 0, &n));
  SHOW("open_bad_result", raw_path_open(DIR_FD, 0, "made.txt", 8, __WASI_OFLAGS_CREAT, ALL, ALL, 0, BAD_PTR));
  SHOW("stat_bad_result", raw_path_stat(DIR_FD, 0, ".", 1, BAD_PTR));
  SHOW("poll_bad_input", raw_poll(BAD_PTR, buf, 1, &n));
  SHOW("accept_bad_result", raw_accept(DIR_FD, 0, BAD_PTR));

  /* huge lengths */
  SHOW("write_huge_length", raw_write(1, huge_iov, 1, &n));
  SHOW("write_huge_count", raw_write(1, iov, 0x20000000u, &n));
  SHOW("read_huge_length", raw_read(0, huge_iov, 1, &n));
  SHOW("random_huge", raw_random(buf, 0xffffffffu));
  SHOW("readdir_huge", raw_readdir(DIR_FD, buf, 0xffffffffu, 0, &n));
  SHOW("mkdir_huge_path", raw_mkdir(DIR_FD, "x", 0xfffffff0u));
  SHOW("poll_huge_count", raw_poll(buf, buf, 0x10000000u, &n));

  /* bad descriptors */
  SHOW("write_bad_fd", raw_write(99, iov, 1, &n));
  SHOW("write_negative_fd", raw_write(-1, iov, 1, &n));
  SHOW("close_bad_fd", __wasi_fd_close(1000));
  SHOW("seek_bad_fd", __wasi_fd_seek(77, 0, __WASI_WHENCE_SET, &big));
  SHOW("stat_bad_fd", __wasi_fd_filestat_get(77, (void *)buf));
  SHOW("renumber_to_bad_fd", __wasi_fd_renumber(DIR_FD, 99));
  SHOW("mkdir_bad_fd", raw_mkdir(55, "x", 1));
  SHOW("prestat_bad_fd", __wasi_fd_prestat_get(55, (void *)buf));
  SHOW("readdir_bad_fd", raw_readdir(55, buf, sizeof buf, 0, &n));
  SHOW("shutdown_not_socket", raw_shutdown(1, 3));
  SHOW("accept_not_socket", raw_accept(DIR_FD, 0, &n));

  /* values outside their enums and flag sets */
  SHOW("seek_bad_whence", raw_seek(1, 0, 7, &big));
  SHOW("advise_bad", raw_advise(DIR_FD, 0, 0, 99));
  SHOW("set_flags_bad", raw_set_flags(1, 0x40));
  SHOW("set_times_bad_flags", raw_set_times(DIR_FD, 0, 0, 0x30));
  SHOW("open_bad_oflags", raw_path_open(DIR_FD, 0, "made.txt", 8, 0x100, ALL, ALL, 0, &n));
  SHOW("open_bad_fdflags", raw_path_open(DIR_FD, 0, "made.txt", 8, __WASI_OFLAGS_CREAT, ALL, ALL, 0x80, &n));
  SHOW("stat_bad_lookupflags", raw_path_stat(DIR_FD, 0x10, ".", 1, buf));
  SHOW("open_not_utf8", raw_path_open(DIR_FD, 0, "\xff\xfe", 2, __WASI_OFLAGS_CREAT, ALL, ALL, 0, &n));
  SHOW("open_nul_in_path", raw_path_open(DIR_FD, 0, "a\0b", 3, __WASI_OFLAGS_CREAT, ALL, ALL, 0, &n));
  SHOW("poll_no_subscriptions", raw_poll(buf, buf, 0, &n));
  SHOW("shutdown_bad_how", raw_shutdown(1, 9));
  printf("alive\n");
  return 0;
}
