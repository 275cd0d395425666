/* The preview-1 rules a conformance suite checks and that are easy to get wrong:
   path length, trailing slashes on link destinations, empty paths, directory
   descriptors' rights, O_DIRECTORY with read/write rights, the sync flags'
   rights, symlinks the host made, iovec counts.
   fd 3: a writable directory holding file.txt (5 bytes), sub/, and two symlinks
   the test made on the host: hostabs -> an absolute host path, hostrel -> ../outside.txt. */
#include <stdlib.h>

#include "probe.h"

#define FILE_RIGHTS (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL)
#define PATH_MAX_WASI 4096

/* Rights of a directory opened the way wasi-testsuite's create_tmp_dir does: no fd_sync in its base. */
#define TMP_DIR_BASE                                                                                                  \
  (__WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_CREATE_FILE |                        \
   __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_REMOVE_DIRECTORY | __WASI_RIGHTS_PATH_OPEN |              \
   __WASI_RIGHTS_PATH_UNLINK_FILE | __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES)
/* The rights that apply to a directory: wasi-testsuite's list for every directory, and
   fd_fdstat_set_flags, fd_sync, fd_advise, path_filestat_set_size, which apply to directories too. */
#define DIRECTORY_BASE                                                                                                \
  (__WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_CREATE_FILE | __WASI_RIGHTS_PATH_LINK_SOURCE |            \
   __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR |                              \
   __WASI_RIGHTS_PATH_READLINK | __WASI_RIGHTS_PATH_RENAME_SOURCE | __WASI_RIGHTS_PATH_RENAME_TARGET |                \
   __WASI_RIGHTS_PATH_SYMLINK | __WASI_RIGHTS_PATH_REMOVE_DIRECTORY | __WASI_RIGHTS_PATH_UNLINK_FILE |                \
   __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES | __WASI_RIGHTS_FD_FILESTAT_GET |          \
   __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC |                  \
   __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE)
#define TMP_DIR_INHERITING                                                                                            \
  (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_FD_FILESTAT_GET |        \
   __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_SYNC | __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_PATH_FILESTAT_GET)

/* SHOW for a path_open whose descriptor is used afterwards: close_opened closes it only if it was opened. */
static __wasi_errno_t last_open;
#define SHOW_OPEN(label, call) SHOW(label, last_open = (call))
static void close_opened(__wasi_fd_t fd) {
  if (last_open == 0) __wasi_fd_close(fd);
}

static __wasi_errno_t open_close(const char *path, __wasi_oflags_t oflags, __wasi_rights_t rights,
                                 __wasi_fdflags_t fdflags) {
  __wasi_fd_t fd;
  __wasi_errno_t e = __wasi_path_open(DIR_FD, 0, path, oflags, rights, 0, fdflags, &fd);
  if (e == 0) __wasi_fd_close(fd);
  return e;
}

/* A path of exactly n bytes that names `name`: "./" repeated, one more "/" if needed, then the name. */
static char *padded_name(size_t n, const char *name) {
  size_t len = strlen(name);
  char *path = malloc(n + 1);
  size_t i = 0;
  for (; n - i > len + 1; i += 2) memcpy(path + i, "./", 2);
  if (n - i == len + 1) path[i++] = '/';
  memcpy(path + i, name, len);
  path[n] = 0;
  return path;
}

static char *padded_path(size_t n) { return padded_name(n, "file.txt"); }

static void path_length(void) {
  __wasi_filestat_t st;
  __wasi_fd_t fd;
  __wasi_size_t n;
  char buf[16];
  char *below = padded_path(PATH_MAX_WASI - 1);
  char *at_limit = padded_path(PATH_MAX_WASI);
  char *over = padded_path(PATH_MAX_WASI + 1);
  char *huge = padded_path(1 << 20);
  char *sub_at_limit = padded_name(PATH_MAX_WASI, "sub");
  SHOW("len_below", strlen(below) == PATH_MAX_WASI - 1);
  SHOW("len_over", strlen(over) == PATH_MAX_WASI + 1);
  SHOW("stat_below", __wasi_path_filestat_get(DIR_FD, 0, below, &st));
  SHOW("stat_at_limit", __wasi_path_filestat_get(DIR_FD, 0, at_limit, &st));
  SHOW("stat_over", __wasi_path_filestat_get(DIR_FD, 0, over, &st));
  SHOW("stat_huge", __wasi_path_filestat_get(DIR_FD, 0, huge, &st));
  SHOW_OPEN("open_at_limit", __wasi_path_open(DIR_FD, 0, at_limit, 0, FILE_RIGHTS, 0, 0, &fd));
  close_opened(fd);
  SHOW_OPEN("open_huge", __wasi_path_open(DIR_FD, 0, huge, __WASI_OFLAGS_CREAT, FILE_RIGHTS, 0, 0, &fd));
  close_opened(fd);
  SHOW("mkdir_at_limit", __wasi_path_create_directory(DIR_FD, at_limit));
  SHOW("set_times_at_limit", __wasi_path_filestat_set_times(DIR_FD, 0, at_limit, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
  SHOW("link_source_at_limit", __wasi_path_link(DIR_FD, 0, at_limit, DIR_FD, "sub"));
  SHOW("link_target_at_limit", __wasi_path_link(DIR_FD, 0, "file.txt", DIR_FD, at_limit));
  SHOW("readlink_at_limit", __wasi_path_readlink(DIR_FD, at_limit, (uint8_t *)buf, sizeof buf, &n));
  SHOW("rmdir_at_limit", __wasi_path_remove_directory(DIR_FD, at_limit));
  SHOW("rename_source_at_limit", __wasi_path_rename(DIR_FD, at_limit, DIR_FD, "sub"));
  SHOW("rename_target_at_limit", __wasi_path_rename(DIR_FD, "sub", DIR_FD, at_limit));
  SHOW("symlink_contents_below", __wasi_path_symlink(below, DIR_FD, "long_symlink"));
  SHOW("symlink_contents_at_limit", __wasi_path_symlink(at_limit, DIR_FD, "new_symlink"));
  SHOW("symlink_path_at_limit", __wasi_path_symlink("file.txt", DIR_FD, at_limit));
  SHOW("unlink_at_limit", __wasi_path_unlink_file(DIR_FD, sub_at_limit));
  /* the file is still there, and nothing else was made */
  SHOW("stat_after_length", __wasi_path_filestat_get(DIR_FD, 0, "file.txt", &st));
  printf("file_type_after_length=%d\n", st.filetype);
  SHOW("stat_sub_after_length", __wasi_path_filestat_get(DIR_FD, 0, "sub", &st));
  printf("sub_type_after_length=%d\n", st.filetype);
  SHOW("stat_new_symlink", __wasi_path_filestat_get(DIR_FD, 0, "new_symlink", &st));
  SHOW("unlink_long_symlink", __wasi_path_unlink_file(DIR_FD, "long_symlink"));
  free(below);
  free(at_limit);
  free(over);
  free(huge);
  free(sub_at_limit);
}

static void trailing_slashes(void) {
  SHOW("symlink_slash_missing", __wasi_path_symlink("source", DIR_FD, "target/"));
  SHOW("symlink_slash_directory", __wasi_path_symlink("source", DIR_FD, "sub/"));
  SHOW("symlink_slash_file", __wasi_path_symlink("source", DIR_FD, "file.txt/"));
  SHOW("link_slash_missing", __wasi_path_link(DIR_FD, 0, "file.txt", DIR_FD, "link/"));
  SHOW("link_slash_directory", __wasi_path_link(DIR_FD, 0, "file.txt", DIR_FD, "sub/"));
  SHOW("link_slash_file", __wasi_path_link(DIR_FD, 0, "file.txt", DIR_FD, "file.txt/"));
  SHOW("link_source_slash_file", __wasi_path_link(DIR_FD, 0, "file.txt/", DIR_FD, "link"));
  /* nothing was created on the way */
  __wasi_filestat_t st;
  SHOW("after_symlink_slash", __wasi_path_filestat_get(DIR_FD, 0, "target", &st));
  SHOW("after_link_slash", __wasi_path_filestat_get(DIR_FD, 0, "link", &st));
  /* a slash after a directory's name is fine where a directory is wanted */
  SHOW("mkdir_slash", __wasi_path_create_directory(DIR_FD, "made/"));
  SHOW("rename_dir_to_slash", __wasi_path_rename(DIR_FD, "made", DIR_FD, "moved/"));
  SHOW("rename_dir_from_slash", __wasi_path_rename(DIR_FD, "moved/", DIR_FD, "made"));
  SHOW("rmdir_slash", __wasi_path_remove_directory(DIR_FD, "made/"));
  /* and refused where a file would be made */
  SHOW("rename_file_to_slash", __wasi_path_rename(DIR_FD, "file.txt", DIR_FD, "renamed/"));
  SHOW("open_create_slash", open_close("created/", __WASI_OFLAGS_CREAT, FILE_RIGHTS, 0));
  SHOW("after_rename_slash", __wasi_path_filestat_get(DIR_FD, 0, "renamed", &st));
  SHOW("after_create_slash", __wasi_path_filestat_get(DIR_FD, 0, "created", &st));
}

static void empty_paths(void) {
  __wasi_filestat_t st;
  __wasi_fd_t fd;
  __wasi_size_t n;
  char buf[16];
  SHOW("empty_open", __wasi_path_open(DIR_FD, 0, "", 0, 0, 0, 0, &fd));
  SHOW("empty_open_directory", __wasi_path_open(DIR_FD, 0, "", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd));
  SHOW("empty_stat", __wasi_path_filestat_get(DIR_FD, 0, "", &st));
  SHOW("empty_stat_follow", __wasi_path_filestat_get(DIR_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "", &st));
  SHOW("empty_set_times", __wasi_path_filestat_set_times(DIR_FD, 0, "", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
  SHOW("empty_mkdir", __wasi_path_create_directory(DIR_FD, ""));
  SHOW("empty_rmdir", __wasi_path_remove_directory(DIR_FD, ""));
  SHOW("empty_unlink", __wasi_path_unlink_file(DIR_FD, ""));
  SHOW("empty_readlink", __wasi_path_readlink(DIR_FD, "", (uint8_t *)buf, sizeof buf, &n));
  SHOW("empty_rename_source", __wasi_path_rename(DIR_FD, "", DIR_FD, "renamed"));
  SHOW("empty_rename_target", __wasi_path_rename(DIR_FD, "file.txt", DIR_FD, ""));
  SHOW("empty_link_source", __wasi_path_link(DIR_FD, 0, "", DIR_FD, "new_link"));
  SHOW("empty_link_target", __wasi_path_link(DIR_FD, 0, "file.txt", DIR_FD, ""));
  SHOW("empty_symlink_path", __wasi_path_symlink("file.txt", DIR_FD, ""));
  /* "." still names the directory itself */
  SHOW("dot_stat", __wasi_path_filestat_get(DIR_FD, 0, ".", &st));
}

static void directories(void) {
  __wasi_fd_t fd;
  __wasi_fdstat_t fs;
  __wasi_filestat_t st;
  __wasi_size_t n;
  char buf[16];
  __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
  SHOW("dir_read_write",
       open_close(".", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0));
  SHOW("dir_write", open_close("sub", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_WRITE, 0));
  SHOW("dir_read", open_close("sub", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READ, 0));
  SHOW("dir_no_rights", open_close("sub", __WASI_OFLAGS_DIRECTORY, 0, 0));
  SHOW("dir_create", open_close("newdir", __WASI_OFLAGS_DIRECTORY | __WASI_OFLAGS_CREAT, 0, 0));
  SHOW("dir_truncate", open_close("sub", __WASI_OFLAGS_DIRECTORY | __WASI_OFLAGS_TRUNC, 0, 0));
  SHOW("dir_exclusive", open_close("sub", __WASI_OFLAGS_DIRECTORY | __WASI_OFLAGS_EXCL, 0, 0));
  SHOW("dir_flag_on_file", open_close("file.txt", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READ, 0));
  SHOW("dir_flag_on_file_write", open_close("file.txt", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_WRITE, 0));

  SHOW_OPEN("dir_seek_rights",
            __wasi_path_open(DIR_FD, 0, "sub", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_SEEK, 0, 0, &fd));
  SHOW("dir_seek", __wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &(__wasi_filesize_t){0}));
  SHOW("dir_tell", __wasi_fd_tell(fd, &(__wasi_filesize_t){0}));
  __wasi_fd_fdstat_get(fd, &fs);
  printf("dir_has_seek=%d\n", (fs.fs_rights_base & __WASI_RIGHTS_FD_SEEK) != 0);
  printf("dir_has_tell=%d\n", (fs.fs_rights_base & __WASI_RIGHTS_FD_TELL) != 0);
  close_opened(fd);

  /* A directory opened without O_DIRECTORY, asking for what a file opened read-only would get. */
  SHOW_OPEN("dir_as_file",
            __wasi_path_open(DIR_FD, 0, "sub", 0, FILE_RIGHTS & ~__WASI_RIGHTS_FD_WRITE, 0, 0, &fd));
  __wasi_fd_fdstat_get(fd, &fs);
  printf("dir_as_file_type=%d\n", fs.fs_filetype);
  printf("dir_as_file_has_seek=%d\n", (fs.fs_rights_base & (__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL)) != 0);
  printf("dir_as_file_rights_are_directory_rights=%d\n", (fs.fs_rights_base & ~DIRECTORY_BASE) == 0);
  SHOW("dir_as_file_read", __wasi_fd_read(fd, &iov, 1, &n));
  close_opened(fd);
  SHOW("dir_as_file_write", open_close("sub", 0, FILE_RIGHTS, 0));
  SHOW("dir_as_file_allocate", open_close("sub", 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_ALLOCATE, 0));

  /* The preopen itself carries no file rights, but passes them on. */
  __wasi_fd_fdstat_get(DIR_FD, &fs);
  printf("preopen_has_seek=%d\n", (fs.fs_rights_base & (__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL)) != 0);
  printf("preopen_passes_seek=%d\n", (fs.fs_rights_inheriting & __WASI_RIGHTS_FD_SEEK) != 0);

  /* A directory opened as wasi-testsuite's create_tmp_dir does (fd_sync only in what it passes on):
     path_filestat_get works through it, and so do opens with the sync flags it can pass on. */
  __wasi_fd_t tmp;
  __wasi_errno_t tmp_opened =
      __wasi_path_open(DIR_FD, 0, "sub", __WASI_OFLAGS_DIRECTORY, TMP_DIR_BASE, TMP_DIR_INHERITING, 0, &tmp);
  SHOW("tmp_dir_open", tmp_opened);
  __wasi_rights_t file_rights = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_PATH_FILESTAT_GET;
  SHOW_OPEN("tmp_open_sync", __wasi_path_open(tmp, 0, "synced", __WASI_OFLAGS_CREAT, file_rights, 0,
                                         __WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_SYNC, &fd));
  __wasi_fd_fdstat_get(fd, &fs);
  printf("tmp_sync_flags=%d\n", fs.fs_flags);
  close_opened(fd);
  SHOW_OPEN("tmp_open_rsync",
            __wasi_path_open(tmp, 0, "synced", 0, __WASI_RIGHTS_FD_READ, 0, __WASI_FDFLAGS_RSYNC, &fd));
  close_opened(fd);
  SHOW_OPEN("tmp_open_dsync",
            __wasi_path_open(tmp, 0, "synced", 0, __WASI_RIGHTS_FD_READ, 0, __WASI_FDFLAGS_DSYNC, &fd));
  close_opened(fd);
  SHOW("tmp_stat", __wasi_path_filestat_get(tmp, 0, "synced", &st));
  printf("tmp_stat_type=%d\n", st.filetype);
  /* Without fd_sync to pass on, the sync flags are not granted. */
  SHOW("tmp_drop_sync",
       __wasi_fd_fdstat_set_rights(tmp, TMP_DIR_BASE, TMP_DIR_INHERITING & ~__WASI_RIGHTS_FD_SYNC));
  SHOW_OPEN("tmp_open_sync_dropped",
            __wasi_path_open(tmp, 0, "synced", 0, __WASI_RIGHTS_FD_READ, 0, __WASI_FDFLAGS_SYNC, &fd));
  close_opened(fd);
  SHOW_OPEN("tmp_open_dsync_dropped",
            __wasi_path_open(tmp, 0, "synced", 0, __WASI_RIGHTS_FD_READ, 0, __WASI_FDFLAGS_DSYNC, &fd));
  close_opened(fd);
  SHOW("tmp_unlink", __wasi_path_unlink_file(tmp, "synced"));
  if (tmp_opened == 0) __wasi_fd_close(tmp);
}

static void links(void) {
  __wasi_size_t n;
  char buf[64];
  memset(buf, 0, sizeof buf);
  SHOW("readlink_host_absolute", __wasi_path_readlink(DIR_FD, "hostabs", (uint8_t *)buf, sizeof buf, &n));
  SHOW("readlink_host_relative", __wasi_path_readlink(DIR_FD, "hostrel", (uint8_t *)buf, sizeof buf, &n));
  printf("readlink_host_relative_text=%.*s\n", (int)n, buf);
}

static void rights(void) {
  __wasi_fd_t fd;
  __wasi_filesize_t where;
  SHOW_OPEN("seek_only_open", __wasi_path_open(DIR_FD, 0, "file.txt", 0, __WASI_RIGHTS_FD_SEEK, 0, 0, &fd));
  SHOW("seek_implies_tell", __wasi_fd_tell(fd, &where));
  SHOW("seek_implies_tell_by_seek", __wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &where));
  close_opened(fd);
  SHOW_OPEN("tell_only_open", __wasi_path_open(DIR_FD, 0, "file.txt", 0, __WASI_RIGHTS_FD_TELL, 0, 0, &fd));
  SHOW("tell_only_tell", __wasi_fd_tell(fd, &where));
  SHOW("tell_does_not_seek", __wasi_fd_seek(fd, 1, __WASI_WHENCE_SET, &where));
  close_opened(fd);
}

static void iovec_counts(void) {
  static __wasi_ciovec_t iovs[1025];
  static const char byte = 'x';
  __wasi_fd_t fd;
  __wasi_size_t n;
  for (int i = 0; i < 1025; i++) iovs[i] = (__wasi_ciovec_t){(const uint8_t *)&byte, i == 0};
  SHOW("iov_open", __wasi_path_open(DIR_FD, 0, "iov.txt", __WASI_OFLAGS_CREAT, FILE_RIGHTS, 0, 0, &fd));
  SHOW("write_1024_iovecs", __wasi_fd_write(fd, iovs, 1024, &n));
  SHOW("write_1025_iovecs", __wasi_fd_write(fd, iovs, 1025, &n));
  SHOW("pwrite_1025_iovecs", __wasi_fd_pwrite(fd, iovs, 1025, 0, &n));
  SHOW("read_1025_iovecs", __wasi_fd_read(fd, (const __wasi_iovec_t *)iovs, 1025, &n));
  SHOW("pread_1025_iovecs", __wasi_fd_pread(fd, (const __wasi_iovec_t *)iovs, 1025, 0, &n));
  __wasi_fd_close(fd);
  __wasi_path_unlink_file(DIR_FD, "iov.txt");
}

int main(void) {
  path_length();
  trailing_slashes();
  empty_paths();
  directories();
  links();
  rights();
  iovec_counts();
  printf("done\n");
  return 0;
}
