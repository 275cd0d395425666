/* args, environ, clocks, random, sched_yield, proc_raise and proc_exit.
   Exits with the status given as argv[1]. */
#include <stdlib.h>
#include "probe.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
int32_t raw_proc_raise(int32_t signal);

int main(int argc, char **argv) {
  __wasi_size_t count, size;
  SHOW("args_sizes_get", __wasi_args_sizes_get(&count, &size));
  printf("argc=%lu argv_bytes=%lu\n", count, size);
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  SHOW("environ_sizes_get", __wasi_environ_sizes_get(&count, &size));
  printf("envc=%lu env_bytes=%lu\n", count, size);
  const char *greeting = getenv("GREETING");
  printf("GREETING=%s\n", greeting ? greeting : "(unset)");
  printf("HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(unset)");

  __wasi_timestamp_t res, t1, t2;
  for (__wasi_clockid_t id = 0; id < 4; id++) {
    printf("clock_res_get[%u]=%d positive=%d\n", id, __wasi_clock_res_get(id, &res), res > 0);
    __wasi_errno_t e1 = __wasi_clock_time_get(id, 1, &t1);
    for (volatile int spin = 0; spin < 100000; spin++) {}
    __wasi_errno_t e2 = __wasi_clock_time_get(id, 1, &t2);
    printf("clock_time_get[%u]=%d,%d nondecreasing=%d\n", id, e1, e2, t2 >= t1);
  }
  __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t1);
  printf("realtime_after_2020=%d\n", t1 > 1577836800000000000ull);
  SHOW("clock_res_get_bad", __wasi_clock_res_get(9, &res));
  SHOW("clock_time_get_bad", __wasi_clock_time_get(9, 1, &t1));

  unsigned char a[32] = {0}, b[32] = {0};
  SHOW("random_get", __wasi_random_get(a, sizeof a));
  __wasi_random_get(b, sizeof b);
  printf("random_differs=%d\n", memcmp(a, b, sizeof a) != 0);
  SHOW("random_get_empty", __wasi_random_get(a, 0));

  SHOW("sched_yield", __wasi_sched_yield());
  SHOW("proc_raise_none", raw_proc_raise(0));
  SHOW("proc_raise_bad", raw_proc_raise(99));
  SHOW("proc_raise_pipe", raw_proc_raise(13 /* pipe: "Action: Ignored" */));
  fflush(stdout);
  if (argc > 2 && strcmp(argv[2], "raise") == 0) raw_proc_raise(6 /* abrt */);
  __wasi_proc_exit(argc > 1 ? atoi(argv[1]) : 0);
}
