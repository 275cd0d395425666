/* Every way out of a preopened directory, tried through the raw API.
   fd 3: a writable "box" holding inside.txt, sub/, and symlinks the test made:
   linkout -> ../outside.txt, linkabs -> an absolute path, loop1 <-> loop2,
   chain1 -> chain2 -> sub/../inside.txt, dirout -> .., dangling -> ../newfile.
   fd 4: a read-only preopen holding ro.txt. */
#include "probe.h"

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define READ_RIGHTS (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_FILESTAT_GET)
#define RW_RIGHTS (READ_RIGHTS | __WASI_RIGHTS_FD_WRITE)
#define RO_FD 4

static __wasi_errno_t try_open(__wasi_lookupflags_t lookup, const char *path, __wasi_oflags_t oflags,
                               __wasi_rights_t rights) {
  __wasi_fd_t fd;
  __wasi_errno_t e = __wasi_path_open(DIR_FD, lookup, path, oflags, rights, rights, 0, &fd);
  if (e == 0) __wasi_fd_close(fd);
  return e;
}

int main(void) {
  __wasi_filestat_t st;
  __wasi_size_t n;
  char buf[128];

  /* dot-dot and absolute paths */
  SHOW("open_dotdot", try_open(FOLLOW, "../outside.txt", 0, READ_RIGHTS));
  SHOW("open_absolute", try_open(FOLLOW, "/etc/passwd", 0, READ_RIGHTS));
  SHOW("open_dotdot_inside_first", try_open(FOLLOW, "sub/../../outside.txt", 0, READ_RIGHTS));
  SHOW("open_dotdot_and_back", try_open(FOLLOW, "../box/inside.txt", 0, READ_RIGHTS));
  SHOW("open_dotdot_within", try_open(FOLLOW, "sub/../inside.txt", 0, READ_RIGHTS));
  SHOW("open_create_dotdot", try_open(FOLLOW, "../created.txt", __WASI_OFLAGS_CREAT, RW_RIGHTS));

  /* symlinks */
  SHOW("open_symlink_out", try_open(FOLLOW, "linkout", 0, READ_RIGHTS));
  SHOW("open_symlink_out_nofollow", try_open(0, "linkout", 0, READ_RIGHTS));
  SHOW("open_symlink_absolute", try_open(FOLLOW, "linkabs", 0, READ_RIGHTS));
  SHOW("open_symlink_loop", try_open(FOLLOW, "loop1", 0, READ_RIGHTS));
  SHOW("open_symlink_chain_inside", try_open(FOLLOW, "chain1", 0, READ_RIGHTS));
  SHOW("open_through_dir_symlink_out", try_open(FOLLOW, "dirout/outside.txt", 0, READ_RIGHTS));
  SHOW("open_create_through_dangling", try_open(FOLLOW, "dangling", __WASI_OFLAGS_CREAT, RW_RIGHTS));
  SHOW("open_create_through_dir_symlink", try_open(FOLLOW, "dirout/created.txt", __WASI_OFLAGS_CREAT, RW_RIGHTS));
  SHOW("stat_symlink_out_follow", __wasi_path_filestat_get(DIR_FD, FOLLOW, "linkout", &st));
  SHOW("stat_symlink_out_nofollow", __wasi_path_filestat_get(DIR_FD, 0, "linkout", &st));
  SHOW("set_times_symlink_out_follow",
       __wasi_path_filestat_set_times(DIR_FD, FOLLOW, "linkout", 1, 1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  SHOW("readlink_symlink_out", __wasi_path_readlink(DIR_FD, "linkout", (uint8_t *)buf, sizeof buf, &n));
  /* linkabs holds the host's absolute path: reading it would reveal where the sandbox lives */
  SHOW("readlink_symlink_absolute", __wasi_path_readlink(DIR_FD, "linkabs", (uint8_t *)buf, sizeof buf, &n));

  /* changing things outside */
  SHOW("mkdir_dotdot", __wasi_path_create_directory(DIR_FD, "../newdir"));
  SHOW("mkdir_through_dir_symlink", __wasi_path_create_directory(DIR_FD, "dirout/newdir"));
  SHOW("unlink_dotdot", __wasi_path_unlink_file(DIR_FD, "../outside.txt"));
  SHOW("unlink_through_dir_symlink", __wasi_path_unlink_file(DIR_FD, "dirout/outside.txt"));
  SHOW("rmdir_dotdot", __wasi_path_remove_directory(DIR_FD, "../outdir"));
  SHOW("rename_out", __wasi_path_rename(DIR_FD, "inside.txt", DIR_FD, "../stolen.txt"));
  SHOW("rename_in", __wasi_path_rename(DIR_FD, "../outside.txt", DIR_FD, "taken.txt"));
  SHOW("hardlink_out_dotdot", __wasi_path_link(DIR_FD, 0, "../outside.txt", DIR_FD, "hl1"));
  SHOW("hardlink_out_follow", __wasi_path_link(DIR_FD, FOLLOW, "linkout", DIR_FD, "hl2"));
  SHOW("hardlink_to_outside_target", __wasi_path_link(DIR_FD, 0, "inside.txt", DIR_FD, "../hl3"));
  SHOW("hardlink_symlink_itself", __wasi_path_link(DIR_FD, 0, "linkout", DIR_FD, "hl4"));
  SHOW("open_hardlinked_symlink", try_open(FOLLOW, "hl4", 0, READ_RIGHTS));
  SHOW("symlink_absolute", __wasi_path_symlink("/etc/passwd", DIR_FD, "abs2"));
  SHOW("symlink_relative_out", __wasi_path_symlink("../outside.txt", DIR_FD, "rel2"));
  SHOW("open_created_symlink_out", try_open(FOLLOW, "rel2", 0, READ_RIGHTS));
  SHOW("write_through_symlink_out", try_open(FOLLOW, "rel2", __WASI_OFLAGS_TRUNC, RW_RIGHTS));

  /* a read-only preopen */
  __wasi_fdstat_t fs;
  SHOW("ro_fdstat", __wasi_fd_fdstat_get(RO_FD, &fs));
  printf("ro_can_create=%d\n", (fs.fs_rights_base & __WASI_RIGHTS_PATH_CREATE_FILE) != 0);
  __wasi_fd_t fd;
  SHOW("ro_read", __wasi_path_open(RO_FD, 0, "ro.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
  memset(buf, 0, sizeof buf);
  read_buf(fd, buf, sizeof buf - 1, &n);
  printf("ro_text=%s", buf);
  SHOW("ro_write_existing_fd", write_str(fd, "x", &n));
  __wasi_fd_close(fd);
  SHOW("ro_open_for_write", __wasi_path_open(RO_FD, 0, "ro.txt", 0, RW_RIGHTS, 0, 0, &fd));
  SHOW("ro_create", __wasi_path_open(RO_FD, 0, "new.txt", __WASI_OFLAGS_CREAT, READ_RIGHTS, 0, 0, &fd));
  SHOW("ro_truncate", __wasi_path_open(RO_FD, 0, "ro.txt", __WASI_OFLAGS_TRUNC, READ_RIGHTS, 0, 0, &fd));
  SHOW("ro_mkdir", __wasi_path_create_directory(RO_FD, "d"));
  SHOW("ro_unlink", __wasi_path_unlink_file(RO_FD, "ro.txt"));
  SHOW("ro_rename", __wasi_path_rename(RO_FD, "ro.txt", RO_FD, "moved.txt"));
  SHOW("ro_symlink", __wasi_path_symlink("ro.txt", RO_FD, "l"));
  SHOW("ro_set_times", __wasi_path_filestat_set_times(RO_FD, 0, "ro.txt", 1, 1, __WASI_FSTFLAGS_MTIM));
  SHOW("ro_link_into_writable", __wasi_path_link(RO_FD, 0, "ro.txt", DIR_FD, "ro_link"));
  SHOW("ro_rename_into_writable", __wasi_path_rename(RO_FD, "ro.txt", DIR_FD, "ro_moved"));
  SHOW("ro_gain_rights", __wasi_fd_fdstat_set_rights(RO_FD, fs.fs_rights_base | __WASI_RIGHTS_PATH_CREATE_FILE,
                                                     fs.fs_rights_inheriting));
  return 0;
}
