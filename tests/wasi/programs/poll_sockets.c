/* poll_oneoff on clocks and descriptors, then the socket calls on a listener
   the host preopened.  fd 3: a preopen holding data.txt; fd 4: the listener;
   stdin: a pipe holding "input\n".  A client connects, sends "ping", expects
   "pong" and closes. */
#include "probe.h"

#define LISTENER 4

static void subscribe_clock(__wasi_subscription_t *s, uint64_t userdata, __wasi_clockid_t id,
                            uint64_t timeout, int absolute) {
  memset(s, 0, sizeof *s);
  s->userdata = userdata;
  s->u.tag = __WASI_EVENTTYPE_CLOCK;
  s->u.u.clock.id = id;
  s->u.u.clock.timeout = timeout;
  s->u.u.clock.flags = absolute ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
}

static void subscribe_fd(__wasi_subscription_t *s, uint64_t userdata, __wasi_eventtype_t type, __wasi_fd_t fd) {
  memset(s, 0, sizeof *s);
  s->userdata = userdata;
  s->u.tag = type;
  s->u.u.fd_read.file_descriptor = fd;
}

static void report(const char *label, __wasi_errno_t e, __wasi_event_t *events, __wasi_size_t n) {
  printf("%s=%d events=%lu", label, e, n);
  for (__wasi_size_t i = 0; i < n; i++)
    printf(" [userdata=%llu error=%u type=%u nbytes=%llu]", (unsigned long long)events[i].userdata,
           events[i].error, events[i].type, (unsigned long long)events[i].fd_readwrite.nbytes);
  printf("\n");
}

int main(void) {
  __wasi_subscription_t subs[3];
  __wasi_event_t events[3];
  __wasi_size_t n;
  __wasi_timestamp_t before, after;

  subscribe_clock(&subs[0], 11, __WASI_CLOCKID_MONOTONIC, 20000000ull, 0);
  __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &before);
  __wasi_errno_t e = __wasi_poll_oneoff(subs, events, 1, &n);
  __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &after);
  report("relative_clock", e, events, n);
  printf("slept_at_least_20ms=%d\n", after - before >= 20000000ull);

  __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &before);
  subscribe_clock(&subs[0], 12, __WASI_CLOCKID_REALTIME, before - 1000000000ull, 1);
  report("absolute_clock_past", __wasi_poll_oneoff(subs, events, 1, &n), events, n);

  subscribe_clock(&subs[0], 13, __WASI_CLOCKID_MONOTONIC, 5000000000ull, 0);
  subscribe_clock(&subs[1], 14, __WASI_CLOCKID_MONOTONIC, 1000000ull, 0);
  report("earlier_clock_wins", __wasi_poll_oneoff(subs, events, 2, &n), events, n);

  __wasi_fd_t file;
  open_at(DIR_FD, "data.txt", 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_POLL_FD_READWRITE, 0, &file);
  subscribe_fd(&subs[0], 21, __WASI_EVENTTYPE_FD_READ, file);
  subscribe_clock(&subs[1], 22, __WASI_CLOCKID_MONOTONIC, 5000000000ull, 0);
  report("file_ready", __wasi_poll_oneoff(subs, events, 2, &n), events, n);

  subscribe_fd(&subs[0], 31, __WASI_EVENTTYPE_FD_READ, 0);
  report("stdin_ready", __wasi_poll_oneoff(subs, events, 1, &n), events, n);
  char line[32] = {0};
  read_buf(0, line, sizeof line - 1, &n);
  printf("stdin_text=%s", line);

  subscribe_fd(&subs[0], 41, __WASI_EVENTTYPE_FD_READ, 999);
  report("bad_fd_event", __wasi_poll_oneoff(subs, events, 1, &n), events, n);

  /* poll_fd_readwrite covers fd_read events only with fd_read, fd_write events only with fd_write */
  __wasi_fd_t write_only;
  open_at(DIR_FD, "data.txt", 0, __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_POLL_FD_READWRITE, 0, &write_only);
  subscribe_fd(&subs[0], 42, __WASI_EVENTTYPE_FD_READ, write_only);
  subscribe_fd(&subs[1], 43, __WASI_EVENTTYPE_FD_WRITE, write_only);
  report("write_only_events", __wasi_poll_oneoff(subs, events, 2, &n), events, n);
  subscribe_fd(&subs[0], 44, __WASI_EVENTTYPE_FD_WRITE, file);
  report("read_only_write_event", __wasi_poll_oneoff(subs, events, 1, &n), events, n);
  __wasi_fd_close(write_only);

  /* sockets */
  __wasi_fdstat_t fs;
  SHOW("listener_fdstat", __wasi_fd_fdstat_get(LISTENER, &fs));
  printf("listener_type=%u\n", fs.fs_filetype);
  __wasi_fd_t conn;
  SHOW("accept", __wasi_sock_accept(LISTENER, 0, &conn));
  subscribe_fd(&subs[0], 51, __WASI_EVENTTYPE_FD_READ, conn);
  report("socket_readable", __wasi_poll_oneoff(subs, events, 1, &n), events, n);
  char data[16] = {0};
  __wasi_iovec_t iov = {(uint8_t *)data, 4};
  __wasi_roflags_t roflags;
  SHOW("recv_peek", __wasi_sock_recv(conn, &iov, 1, __WASI_RIFLAGS_RECV_PEEK, &n, &roflags));
  printf("peeked=%.*s\n", (int)n, data);
  memset(data, 0, sizeof data);
  SHOW("recv", __wasi_sock_recv(conn, &iov, 1, __WASI_RIFLAGS_RECV_WAITALL, &n, &roflags));
  printf("received=%.*s roflags=%u\n", (int)n, data, roflags);
  __wasi_ciovec_t out = {(const uint8_t *)"pong", 4};
  SHOW("send_with_flags", __wasi_sock_send(conn, &out, 1, 1, &n));
  SHOW("send", __wasi_sock_send(conn, &out, 1, 0, &n));
  printf("sent=%lu\n", n);
  SHOW("shutdown_write", __wasi_sock_shutdown(conn, __WASI_SDFLAGS_WR));
  SHOW("recv_after_peer_closed", __wasi_sock_recv(conn, &iov, 1, 0, &n, &roflags));
  printf("received_after_close=%lu\n", n);
  SHOW("close_connection", __wasi_fd_close(conn));
  SHOW("listener_nonblocking", __wasi_fd_fdstat_set_flags(LISTENER, __WASI_FDFLAGS_NONBLOCK));
  SHOW("accept_nothing_pending", __wasi_sock_accept(LISTENER, 0, &conn));
  SHOW("recv_on_file", __wasi_sock_recv(file, &iov, 1, 0, &n, &roflags));
  return 0;
}
