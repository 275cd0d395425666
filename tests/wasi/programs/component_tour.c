/* A command component's tour of WASI 0.2 through wasi-libc and the preview-1 adapter: arguments,
 * environment, stdin, files (create, write, read, append, stat, rename, unlink), directories (mkdir,
 * listing, rmdir), an escape attempt, clocks, random, stderr, and an exit status. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int compare(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");

    char line[256];
    if (fgets(line, sizeof line, stdin)) printf("stdin: %s", line);

    FILE *f = fopen("work/notes.txt", "w");
    if (!f) { printf("create failed: %s\n", strerror(errno)); return 2; }
    fprintf(f, "first line\n");
    fclose(f);
    f = fopen("work/notes.txt", "a");
    fprintf(f, "appended\n");
    fclose(f);
    f = fopen("work/notes.txt", "r");
    size_t n = fread(line, 1, sizeof line - 1, f);
    line[n] = 0;
    fclose(f);
    printf("notes (%zu bytes): %s", n, line);

    struct stat st;
    if (stat("work/notes.txt", &st) == 0) printf("size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    printf("rename=%d\n", rename("work/notes.txt", "work/renamed.txt"));
    printf("mkdir=%d\n", mkdir("work/sub", 0755));
    f = fopen("work/sub/inner.txt", "w");
    fputs("x", f);
    fclose(f);

    DIR *dir = opendir("work");
    char *names[64];
    int count = 0;
    struct dirent *entry;
    while (dir && (entry = readdir(dir)) && count < 64)
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")) names[count++] = strdup(entry->d_name);
    if (dir) closedir(dir);
    qsort(names, count, sizeof *names, compare);
    for (int i = 0; i < count; i++) printf("entry: %s\n", names[i]);

    printf("unlink=%d\n", unlink("work/sub/inner.txt"));
    printf("rmdir=%d\n", rmdir("work/sub"));
    errno = 0;
    printf("escape=%d denied=%d\n", open("../outside.txt", O_RDONLY) >= 0, errno != 0);
    printf("absolute=%d\n", open("/etc/passwd", O_RDONLY) >= 0);
    printf("missing=%d errno_noent=%d\n", open("work/missing", O_RDONLY) >= 0, errno == ENOENT);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("realtime_after_2020=%d\n", ts.tv_sec > 1577836800);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("monotonic_ok=%d\n", ts.tv_sec >= 0);
    unsigned char random_bytes[16];
    getentropy(random_bytes, sizeof random_bytes);
    int nonzero = 0;
    for (int i = 0; i < 16; i++) nonzero |= random_bytes[i];
    printf("random_nonzero=%d\n", nonzero != 0);

    fprintf(stderr, "to stderr\n");
    return argc > 2 ? 0 : 7;
}
