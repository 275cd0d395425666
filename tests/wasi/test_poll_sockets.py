"""poll_oneoff on clocks, files, stdin and sockets; the sock_* calls on a preopened listener."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from tests.wasi.harness import compile_c, run_wasmbox

from wasmbox.wasi.abi import ERRNO, EVENTTYPE_CLOCK, EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE, FILETYPE


def talk(port: int, replies: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(b"ping")
        replies.append(client.recv(4))


def test_poll_and_sockets(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("some data\n")
    listener = socket.create_server(("127.0.0.1", 0))
    replies: list[bytes] = []
    client = threading.Thread(target=talk, args=(listener.getsockname()[1], replies))
    client.start()  # the connection waits in the backlog until the guest accepts it
    outcome = run_wasmbox(compile_c("poll_sockets"), preopens={"/work": tmp_path}, stdin=b"input\n", sockets=[listener])
    client.join(timeout=30)
    assert outcome.status == 0, outcome.stderr
    lines = outcome.stdout.splitlines()
    clock, read = EVENTTYPE_CLOCK, EVENTTYPE_FD_READ
    assert f"relative_clock=0 events=1 [userdata=11 error=0 type={clock} nbytes=0]" in lines
    assert "slept_at_least_20ms=1" in lines
    assert f"absolute_clock_past=0 events=1 [userdata=12 error=0 type={clock} nbytes=0]" in lines
    assert f"earlier_clock_wins=0 events=1 [userdata=14 error=0 type={clock} nbytes=0]" in lines
    assert f"file_ready=0 events=1 [userdata=21 error=0 type={read} nbytes=10]" in lines
    assert any(line.startswith("stdin_ready=0 events=1 [userdata=31 error=0") for line in lines)
    assert "stdin_text=input" in lines
    assert f"bad_fd_event=0 events=1 [userdata=41 error={ERRNO['badf']} type={read} nbytes=0]" in lines
    write = EVENTTYPE_FD_WRITE
    notcapable = ERRNO["notcapable"]
    assert (
        f"write_only_events=0 events=2 [userdata=42 error={notcapable} type={read} nbytes=0]"
        f" [userdata=43 error=0 type={write} nbytes=0]" in lines
    )
    assert f"read_only_write_event=0 events=1 [userdata=44 error={notcapable} type={write} nbytes=0]" in lines
    assert f"listener_type={FILETYPE['socket_stream']}" in lines
    assert any(line.startswith("socket_readable=0 events=1 [userdata=51 error=0") for line in lines)
    assert "peeked=ping" in lines and "received=ping roflags=0" in lines and "sent=4" in lines
    assert "received_after_close=0" in lines
    values = outcome.values()
    for label in ("accept", "recv_peek", "recv", "send", "shutdown_write", "close_connection"):
        assert values[label] == 0, label
    assert values["accept_nothing_pending"] == ERRNO["again"]
    assert values["recv_on_file"] == ERRNO["notsock"]
    assert values["send_with_flags"] == ERRNO["inval"]  # siflags: none are defined, "it must be set to zero"
    assert replies == [b"pong"]
    listener.close()
