/* Every fd_* and path_* call of WASI preview 1, through the raw API, with
   their error paths.  Run with an empty writable directory preopened as fd 3. */
#include "probe.h"

#define ALL_RIGHTS ((__wasi_rights_t)0x1fffffff)

static void data_calls(void) {
  __wasi_fd_t fd, other;
  __wasi_size_t n;
  __wasi_filesize_t pos;
  char buf[64];

  SHOW("open_create", open_at(DIR_FD, "data.txt", __WASI_OFLAGS_CREAT, ALL_RIGHTS, 0, &fd));
  SHOW("open_excl_exists", open_at(DIR_FD, "data.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, ALL_RIGHTS, 0, &other));
  SHOW("open_missing", open_at(DIR_FD, "missing.txt", 0, ALL_RIGHTS, 0, &other));
  SHOW("open_file_as_directory", open_at(DIR_FD, "data.txt", __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0, &other));

  SHOW("write", write_str(fd, "hello, wasi\n", &n));
  printf("write_count=%u\n", n);
  SHOW("tell", __wasi_fd_tell(fd, &pos));
  printf("tell_value=%llu\n", (unsigned long long)pos);
  SHOW("seek_set", __wasi_fd_seek(fd, 7, __WASI_WHENCE_SET, &pos));
  printf("seek_value=%llu\n", (unsigned long long)pos);
  memset(buf, 0, sizeof buf);
  SHOW("read", read_buf(fd, buf, sizeof buf - 1, &n));
  printf("read_text=%s", buf);
  SHOW("read_at_eof", read_buf(fd, buf, 8, &n));
  printf("read_at_eof_count=%u\n", n);
  SHOW("seek_end", __wasi_fd_seek(fd, -5, __WASI_WHENCE_END, &pos));
  printf("seek_end_value=%llu\n", (unsigned long long)pos);
  SHOW("seek_negative", __wasi_fd_seek(fd, -100, __WASI_WHENCE_SET, &pos));

  __wasi_ciovec_t piece = {(const uint8_t *)"HELLO", 5};
  SHOW("pwrite", __wasi_fd_pwrite(fd, &piece, 1, 0, &n));
  memset(buf, 0, sizeof buf);
  __wasi_iovec_t two[2] = {{(uint8_t *)buf, 3}, {(uint8_t *)buf + 3, 4}};
  SHOW("pread", __wasi_fd_pread(fd, two, 2, 0, &n));
  printf("pread_text=%s count=%u\n", buf, n);
  SHOW("tell_after_pread", __wasi_fd_tell(fd, &pos));
  printf("tell_after_pread_value=%llu\n", (unsigned long long)pos);

  SHOW("advise", __wasi_fd_advise(fd, 0, 10, __WASI_ADVICE_SEQUENTIAL));
  SHOW("allocate", __wasi_fd_allocate(fd, 0, 4096));
  SHOW("sync", __wasi_fd_sync(fd));
  SHOW("datasync", __wasi_fd_datasync(fd));

  __wasi_filestat_t st;
  SHOW("filestat_get", __wasi_fd_filestat_get(fd, &st));
  printf("filestat_size=%llu type=%u nlink=%llu\n", (unsigned long long)st.size, st.filetype,
         (unsigned long long)st.nlink);
  SHOW("set_size", __wasi_fd_filestat_set_size(fd, 5));
  __wasi_fd_filestat_get(fd, &st);
  printf("size_after_truncate=%llu\n", (unsigned long long)st.size);
  SHOW("set_times", __wasi_fd_filestat_set_times(fd, 1000000000ull, 2000000000ull,
                                                 __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  __wasi_fd_filestat_get(fd, &st);
  printf("times=%llu,%llu\n", (unsigned long long)st.atim, (unsigned long long)st.mtim);
  SHOW("set_times_conflict", __wasi_fd_filestat_set_times(fd, 1, 1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW));

  __wasi_fdstat_t fs;
  SHOW("fdstat_get", __wasi_fd_fdstat_get(fd, &fs));
  printf("fdstat_type=%u flags=%u\n", fs.fs_filetype, fs.fs_flags);
  SHOW("set_flags_append", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND));
  __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos);
  write_str(fd, "+tail", &n);
  __wasi_fd_filestat_get(fd, &st);
  printf("size_after_append=%llu\n", (unsigned long long)st.size);
  __wasi_fd_fdstat_get(fd, &fs);
  printf("flags_after_set=%u\n", fs.fs_flags);

  SHOW("drop_write_right", __wasi_fd_fdstat_set_rights(fd, fs.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE, 0));
  SHOW("write_without_right", write_str(fd, "x", &n));
  SHOW("regain_write_right", __wasi_fd_fdstat_set_rights(fd, fs.fs_rights_base, 0));

  SHOW("open_second", open_at(DIR_FD, "data.txt", 0, __WASI_RIGHTS_FD_READ, 0, &other));
  SHOW("write_read_only_fd", write_str(other, "x", &n));
  SHOW("renumber", __wasi_fd_renumber(other, fd));
  SHOW("renumber_bad", __wasi_fd_renumber(12345, fd));
  memset(buf, 0, sizeof buf);
  SHOW("read_renumbered", read_buf(fd, buf, sizeof buf - 1, &n));
  printf("renumbered_text=%s\n", buf);
  SHOW("read_old_number", read_buf(other, buf, 4, &n));
  SHOW("close", __wasi_fd_close(fd));
  SHOW("close_again", __wasi_fd_close(fd));
  SHOW("read_closed", read_buf(fd, buf, 4, &n));
}

static void directory_calls(void) {
  __wasi_fd_t fd, dir;
  __wasi_size_t n;
  char buf[256];

  __wasi_prestat_t pre;
  SHOW("prestat_get", __wasi_fd_prestat_get(DIR_FD, &pre));
  printf("prestat_len=%u\n", pre.u.dir.pr_name_len);
  memset(buf, 0, sizeof buf);
  SHOW("prestat_dir_name", __wasi_fd_prestat_dir_name(DIR_FD, (uint8_t *)buf, pre.u.dir.pr_name_len));
  printf("prestat_name=%s\n", buf);
  SHOW("prestat_dir_name_short", __wasi_fd_prestat_dir_name(DIR_FD, (uint8_t *)buf, 0));
  SHOW("prestat_not_preopen", __wasi_fd_prestat_get(1, &pre));

  SHOW("mkdir", __wasi_path_create_directory(DIR_FD, "sub"));
  SHOW("mkdir_exists", __wasi_path_create_directory(DIR_FD, "sub"));
  SHOW("mkdir_nested_missing", __wasi_path_create_directory(DIR_FD, "nope/deeper"));
  SHOW("open_in_sub", open_at(DIR_FD, "sub/a.txt", __WASI_OFLAGS_CREAT, ALL_RIGHTS, 0, &fd));
  write_str(fd, "alpha", &n);
  __wasi_fd_close(fd);
  SHOW("mkdir_via_file_fd", __wasi_path_create_directory(1, "x"));

  SHOW("symlink", __wasi_path_symlink("sub/a.txt", DIR_FD, "link"));
  SHOW("symlink_exists", __wasi_path_symlink("sub/a.txt", DIR_FD, "link"));
  SHOW("readlink", __wasi_path_readlink(DIR_FD, "link", (uint8_t *)buf, sizeof buf, &n));
  printf("readlink_text=%.*s\n", (int)n, buf);
  SHOW("readlink_short", __wasi_path_readlink(DIR_FD, "link", (uint8_t *)buf, 3, &n));
  printf("readlink_short_count=%u\n", n);
  SHOW("readlink_not_link", __wasi_path_readlink(DIR_FD, "sub", (uint8_t *)buf, sizeof buf, &n));

  __wasi_filestat_t st;
  SHOW("stat_nofollow", __wasi_path_filestat_get(DIR_FD, 0, "link", &st));
  printf("stat_nofollow_type=%u\n", st.filetype);
  SHOW("stat_follow", __wasi_path_filestat_get(DIR_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link", &st));
  printf("stat_follow_type=%u size=%llu\n", st.filetype, (unsigned long long)st.size);
  SHOW("stat_missing", __wasi_path_filestat_get(DIR_FD, 0, "missing", &st));
  SHOW("set_times_path", __wasi_path_filestat_set_times(DIR_FD, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link",
                                                         3000000000ull, 4000000000ull,
                                                         __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  __wasi_path_filestat_get(DIR_FD, 0, "sub/a.txt", &st);
  printf("path_times=%llu,%llu\n", (unsigned long long)st.atim, (unsigned long long)st.mtim);
  SHOW("set_times_now", __wasi_path_filestat_set_times(DIR_FD, 0, "sub/a.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
  __wasi_path_filestat_get(DIR_FD, 0, "sub/a.txt", &st);
  printf("mtime_now_recent=%d\n", st.mtim > 4000000000ull);

  SHOW("link", __wasi_path_link(DIR_FD, 0, "sub/a.txt", DIR_FD, "hard.txt"));
  __wasi_path_filestat_get(DIR_FD, 0, "hard.txt", &st);
  printf("link_nlink=%llu\n", (unsigned long long)st.nlink);
  SHOW("link_exists", __wasi_path_link(DIR_FD, 0, "sub/a.txt", DIR_FD, "hard.txt"));
  SHOW("rename", __wasi_path_rename(DIR_FD, "hard.txt", DIR_FD, "sub/renamed.txt"));
  SHOW("rename_missing", __wasi_path_rename(DIR_FD, "hard.txt", DIR_FD, "x.txt"));

  /* A directory is not opened for writing (open(2): EISDIR); the file rights asked for besides are
     dropped, since they do not apply to a directory. */
  SHOW("open_directory_for_write", open_at(DIR_FD, "sub", __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0, &dir));
  SHOW("open_directory", open_at(DIR_FD, "sub", __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS & ~__WASI_RIGHTS_FD_WRITE, 0, &dir));
  SHOW("read_directory_fd", read_buf(dir, buf, 8, &n));
  /* Read the listing through a small buffer so the cookie must carry the walk. */
  __wasi_dircookie_t cookie = 0;
  int entries = 0, truncated_calls = 0;
  char names[512] = "";
  for (;;) {
    char small[40];
    __wasi_size_t used;
    __wasi_errno_t e = __wasi_fd_readdir(dir, (uint8_t *)small, sizeof small, cookie, &used);
    if (e) { SHOW("readdir_error", e); break; }
    size_t off = 0;
    int advanced = 0;
    while (off + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t d;
      memcpy(&d, small + off, sizeof d);
      if (off + sizeof d + d.d_namlen > used) break;
      strncat(names, small + off + sizeof d, d.d_namlen);
      strcat(names, ",");
      cookie = d.d_next;
      entries++;
      advanced = 1;
      off += sizeof d + d.d_namlen;
    }
    if (used < sizeof small) break;
    truncated_calls++;
    if (!advanced) { printf("readdir_stuck\n"); break; }
  }
  printf("readdir_entries=%d names=%s truncated_calls_positive=%d\n", entries, names, truncated_calls > 0);
  SHOW("readdir_on_file", __wasi_fd_readdir(1, (uint8_t *)buf, sizeof buf, 0, &n));
  SHOW("open_relative_to_opened_dir", open_at(dir, "a.txt", 0, __WASI_RIGHTS_FD_READ, 0, &fd));
  memset(buf, 0, sizeof buf);
  read_buf(fd, buf, sizeof buf - 1, &n);
  printf("read_via_subdir=%s\n", buf);
  __wasi_fd_close(fd);
  __wasi_fd_close(dir);

  SHOW("rmdir_not_empty", __wasi_path_remove_directory(DIR_FD, "sub"));
  SHOW("unlink_directory", __wasi_path_unlink_file(DIR_FD, "sub"));
  SHOW("rmdir_file", __wasi_path_remove_directory(DIR_FD, "link"));
  SHOW("unlink_link", __wasi_path_unlink_file(DIR_FD, "link"));
  SHOW("unlink_file", __wasi_path_unlink_file(DIR_FD, "sub/a.txt"));
  SHOW("unlink_renamed", __wasi_path_unlink_file(DIR_FD, "sub/renamed.txt"));
  SHOW("unlink_missing", __wasi_path_unlink_file(DIR_FD, "sub/a.txt"));
  SHOW("rmdir", __wasi_path_remove_directory(DIR_FD, "sub"));
  SHOW("open_trailing_slash_file", open_at(DIR_FD, "data.txt/", 0, __WASI_RIGHTS_FD_READ, 0, &fd));
}

int main(void) {
  data_calls();
  directory_calls();
  return 0;
}
