/* A program a user would write, in plain C with libc: it reads words from
   stdin, walks the directory tree given as argv[1], checksums every file,
   writes a report and a scratch area back into the tree, and uses the clock
   and the random source.  Its output and the tree it leaves behind must be
   the same under wasmbox and under wasmtime. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS 256

static char *paths[MAX_PATHS];
static int path_count;

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    printf("opendir %s: %s\n", dir, strerror(errno));
    return;
  }
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
    if (path_count < MAX_PATHS) paths[path_count++] = strdup(path);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) walk(path);
  }
  closedir(d);
}

static unsigned long checksum_file(const char *path, long *size) {
  FILE *f = fopen(path, "rb");
  unsigned long hash = 2166136261u;
  *size = 0;
  if (!f) return 0;
  int c;
  while ((c = fgetc(f)) != EOF) {
    hash = (hash ^ (unsigned char)c) * 16777619u;
    (*size)++;
  }
  fclose(f);
  return hash & 0xffffffffu;
}

static void read_words(void) {
  char word[128];
  char *words[1024];
  int count = 0;
  long letters = 0;
  while (count < 1024 && scanf("%127s", word) == 1) {
    words[count++] = strdup(word);
    letters += strlen(word);
  }
  qsort(words, count, sizeof *words, compare_strings);
  int unique = 0;
  for (int i = 0; i < count; i++)
    if (i == 0 || strcmp(words[i], words[i - 1])) unique++;
  printf("stdin: %d words, %d unique, %ld letters, first=%s last=%s\n", count, unique, letters,
         count ? words[0] : "-", count ? words[count - 1] : "-");
}

int main(int argc, char **argv) {
  const char *root = argc > 1 ? argv[1] : ".";
  printf("argc=%d root=%s mode=%s\n", argc, root, getenv("TOOL_MODE") ? getenv("TOOL_MODE") : "(unset)");
  read_words();

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  walk(root);
  qsort(paths, path_count, sizeof *paths, compare_strings);
  for (int i = 0; i < path_count; i++) {
    struct stat st;
    if (lstat(paths[i], &st) != 0) {
      printf("%s: lstat failed: %s\n", paths[i], strerror(errno));
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      printf("dir  %s\n", paths[i]);
    } else if (S_ISLNK(st.st_mode)) {
      char target[256] = {0};
      readlink(paths[i], target, sizeof target - 1);
      printf("link %s -> %s\n", paths[i], target);
    } else {
      long size;
      unsigned long hash = checksum_file(paths[i], &size);
      printf("file %s size=%ld fnv=%08lx\n", paths[i], size, hash);
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("walk took nonnegative time: %d\n", (t1.tv_sec > t0.tv_sec) || (t1.tv_sec == t0.tv_sec && t1.tv_nsec >= t0.tv_nsec));
  printf("wall clock after 2020: %d\n", time(NULL) > 1577836800);

  unsigned char a[16], b[16];
  getentropy(a, sizeof a);
  getentropy(b, sizeof b);
  printf("random draws differ: %d\n", memcmp(a, b, sizeof a) != 0);

  /* Write back: a report, a scratch directory with renamed and removed files. */
  char path[512];
  snprintf(path, sizeof path, "%s/scratch", root);
  printf("mkdir scratch: %d\n", mkdir(path, 0755));
  printf("mkdir scratch again: %d errno=%s\n", mkdir(path, 0755), strerror(errno));
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/scratch/part%d.txt", root, i);
    FILE *f = fopen(path, "w");
    for (int line = 0; line <= i * 10; line++) fprintf(f, "part %d line %d\n", i, line);
    fclose(f);
  }
  char from[512], to[512];
  snprintf(from, sizeof from, "%s/scratch/part0.txt", root);
  snprintf(to, sizeof to, "%s/scratch/renamed.txt", root);
  printf("rename: %d\n", rename(from, to));
  snprintf(path, sizeof path, "%s/scratch/part1.txt", root);
  printf("unlink: %d\n", unlink(path));
  printf("unlink again: %d errno=%s\n", unlink(path), strerror(errno));
  snprintf(path, sizeof path, "%s/scratch/part2.txt", root);
  int fd = open(path, O_RDWR | O_APPEND);
  write(fd, "appended\n", 9);
  off_t end = lseek(fd, 0, SEEK_END);
  printf("appended file ends at %ld\n", (long)end);
  close(fd);
  printf("open missing: %d errno=%s\n", open("no/such/file", O_RDONLY), strerror(errno));

  snprintf(path, sizeof path, "%s/report.txt", root);
  FILE *report = fopen(path, "w");
  fprintf(report, "%d entries\n", path_count);
  for (int i = 0; i < path_count; i++) fprintf(report, "%s\n", paths[i]);
  fclose(report);
  fprintf(stderr, "done: %d entries\n", path_count);
  return path_count > 0 ? 0 : 3;
}
