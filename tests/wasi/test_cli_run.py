"""``wasmbox run`` as a user types it: options before PROG, the rest to the guest, stdio inherited."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.wasi.harness import Outcome, compile_c
from tests.wasi.test_escape import make_layout

from wasmbox.wasi.abi import ERRNO


def wasmbox_run(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None) -> Outcome:
    result = subprocess.run(
        [sys.executable, "-m", "wasmbox", "run", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    return Outcome(result.returncode, result.stdout.decode(), result.stderr.decode())


def test_everything_after_prog_goes_to_the_guest_and_its_status_comes_back() -> None:
    wasm = compile_c("process")
    outcome = wasmbox_run("--env", "GREETING=hi", str(wasm), "5", "--smt2", "-m", "/x.smt2", "--dir", ".")
    assert outcome.status == 5, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert f"argv[0]={wasm}" in lines
    assert ["argv[1]=5", "argv[2]=--smt2", "argv[3]=-m", "argv[4]=/x.smt2", "argv[5]=--dir", "argv[6]=."] == [
        line for line in lines if line.startswith("argv[") and not line.startswith("argv[0]")
    ]
    assert "GREETING=hi" in lines


def test_env_without_a_value_passes_the_hosts() -> None:
    outcome = wasmbox_run(
        "--env", "GREETING", "--env", "ABSENT", str(compile_c("process")), env={"GREETING": "from host"}
    )
    assert "GREETING=from host" in outcome.stdout.splitlines()
    assert "envc=1 env_bytes=19" in outcome.stdout  # ABSENT is not in the host's environment either


def test_dir_mapping_and_inherited_stdin(tmp_path: Path) -> None:
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "f.txt").write_text("x\n")
    outcome = wasmbox_run(
        "--dir", f"{tmp_path / 'tree'}::/data", str(compile_c("tree_tool")), "/data", stdin=b"b a b\n"
    )
    assert outcome.status == 0, outcome.stderr
    assert "stdin: 3 words, 2 unique, 3 letters, first=a last=b" in outcome.stdout
    assert "file /data/sub/f.txt size=2 fnv=" in outcome.stdout
    assert outcome.stderr == "done: 2 entries\n"
    assert (tmp_path / "tree" / "report.txt").read_text().startswith("2 entries\n")


def test_dir_without_guest_name_is_seen_under_its_host_path(tmp_path: Path) -> None:
    (tmp_path / "here.txt").write_text("1\n")
    outcome = wasmbox_run("--dir", ".", str(compile_c("tree_tool")), ".", cwd=tmp_path)
    assert outcome.status == 0 and "file ./here.txt size=2" in outcome.stdout


def test_ro_dir_withholds_every_change(tmp_path: Path) -> None:
    make_layout(tmp_path)
    outcome = wasmbox_run(
        "--dir", f"{tmp_path / 'box'}::/box", "--ro-dir", f"{tmp_path / 'ro'}::/ro", str(compile_c("escape"))
    )
    values = outcome.values()
    assert values["ro_read"] == 0 and values["ro_create"] == values["ro_unlink"] == ERRNO["notcapable"]
    assert values["open_dotdot"] == ERRNO["perm"]
    assert sorted(p.name for p in (tmp_path / "ro").iterdir()) == ["ro.txt"]


def test_missing_preopen_is_a_clean_error(tmp_path: Path) -> None:
    outcome = wasmbox_run("--dir", str(tmp_path / "nope"), str(compile_c("process")))
    assert outcome.status == 1
    assert "nope" in outcome.stderr and "No such file or directory" in outcome.stderr
    assert "Traceback" not in outcome.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_tcplisten_hands_a_listener_to_the_guest(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("some data\n")
    port = free_port()
    replies: list[bytes] = []

    def client() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
                    connection.sendall(b"ping")
                    replies.append(connection.recv(4))
                    return
            except OSError:
                time.sleep(0.05)

    thread = threading.Thread(target=client)
    thread.start()
    outcome = wasmbox_run(
        "--dir",
        f"{tmp_path}::/work",
        "--tcplisten",
        f"127.0.0.1:{port}",
        str(compile_c("poll_sockets")),
        stdin=b"input\n",
    )
    thread.join(timeout=60)
    assert outcome.status == 0, outcome.stderr
    assert "received=ping roflags=0" in outcome.stdout and replies == [b"pong"]
