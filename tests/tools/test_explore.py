"""``wasmbox explore``: the recording agrees with ``wasmbox trace --json`` step by step, and the server
answers only its own run's page."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from wasmbox.cli import main
from wasmbox.inspect.explore.queries import RecordingIndex
from wasmbox.inspect.explore.recording import Recording, RecordingError
from wasmbox.inspect.explore.server import ExplorerServer

ROOT = Path(__file__).resolve().parents[2]
CALORIES = ROOT / "examples" / "calories" / "calories.wat"


def record(tmp_path: Path, *args: str) -> Recording:
    saved = tmp_path / "run.json"
    assert main(["explore", "--save", str(saved), *args]) == 0
    return Recording.from_json(saved.read_text())


def trace_records(tmp_path: Path, *args: str) -> dict[int, dict[str, Any]]:
    out = tmp_path / "trace.jsonl"
    assert main(["trace", "--json", "--memory", "-o", str(out), *args]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return {r["step"]: r for r in records if r["event"] == "instr"}


def states(recording: Recording) -> list[dict[str, Any]]:
    """Every position's state, rebuilt from checkpoints and deltas as the page rebuilds it."""
    built: list[dict[str, Any]] = []
    state: dict[str, Any] = {}
    for k in range(recording.chunk_count):
        chunk = json.loads(recording.chunk_json(k))
        for offset, record in enumerate(chunk["records"]):
            if offset == 0:
                state = json.loads(json.dumps(chunk["state"]))
            else:
                f, p, d = record[:3]
                pops, pushes, locals_, globals_ = (record[6:] + [0, [], [], []][len(record[6:]) :])[:4]
                frames = state["frames"]
                if pops == -1:
                    del frames[d:]
                    frames.append({"f": f, "p": p, "stack": [], "locals": []})
                else:
                    del frames[d + 1 :]
                    del frames[d]["stack"][len(frames[d]["stack"]) - pops :]
                frames[d]["f"], frames[d]["p"] = f, p
                frames[d]["stack"].extend(pushes)
                for index, value in locals_ or []:
                    while len(frames[d]["locals"]) <= index:
                        frames[d]["locals"].append(None)
                    frames[d]["locals"][index] = value
                for index, value in globals_ or []:
                    state["globals"][index] = value
            built.append(json.loads(json.dumps(state)))
    return built


def typed(values: list[dict[str, Any]]) -> list[str]:
    return [f"{v['type']}:{v['value']}" for v in values]


@pytest.fixture(scope="module")
def calories(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, dict[int, dict[str, Any]]]:
    tmp_path = tmp_path_factory.mktemp("calories")
    return record(tmp_path, str(CALORIES)), trace_records(tmp_path, str(CALORIES))


def test_every_step_matches_the_trace(calories: tuple[Recording, dict[int, dict[str, Any]]]) -> None:
    recording, trace = calories
    assert recording.steps == len(trace) == max(trace)
    built = states(recording)
    compared = 0
    for position in range(1, recording.steps):
        step = trace[position]  # trace step k is the instruction the page shows as run at position k
        ran = position - 1
        assert recording.position[ran] is not None
        function = recording.info["functions"][recording.func[ran]]
        assert function["name"] == step["func"] and function["offsets"][recording.position[ran]] == step["offset"]
        assert function["instrs"][recording.position[ran]] == step["instr"]
        same_frame = recording.depth[position] == recording.depth[ran] and recording.cont[ran] == position
        if same_frame:  # after a call or a return the trace shows another frame's stack
            frame = built[position]["frames"][-1]
            assert frame["stack"] == typed(step["stack"]), position
            compared += 1
    assert compared > recording.steps * 0.8


def test_memory_at_a_step_is_what_the_trace_read_or_wrote(
    calories: tuple[Recording, dict[int, dict[str, Any]]],
) -> None:
    recording, trace = calories
    index = RecordingIndex(recording)
    touched = [(step, record["memory"]) for step, record in trace.items() if "memory" in record]
    assert any(trace[step]["instr"] == "i32.store8" for step, _ in touched)
    for step, memory in touched:
        data = bytes.fromhex(memory["bytes"])
        assert index.memory(step, memory["address"], len(data)) == data
        kinds = {kind for kind, address, _ in recording.access[step - 1] if address == memory["address"]}
        assert kinds == ({"r"} if "load" in trace[step]["instr"] else {"w"})
    first_digit_store = next(step for step, _ in touched if trace[step]["instr"] == "i32.store8")
    address = trace[first_digit_store]["memory"]["address"]
    assert index.memory(first_digit_store - 1, address, 1) == b"\0"  # not written yet one step before
    assert index.memory(first_digit_store, address, 1) == b"0"  # 24000 ends in '0'


def test_searches_land_where_the_page_promises(calories: tuple[Recording, dict[int, dict[str, Any]]]) -> None:
    recording, trace = calories
    index = RecordingIndex(recording)
    functions = recording.info["functions"]
    max_index = next(i for i, f in enumerate(functions) if f["name"] == "$max")
    landed = index.find("call", 0, str(max_index))
    assert landed is not None and trace[landed]["instr"] == "call $max"
    assert recording.func[landed] == max_index and recording.position[landed] == 0
    out = index.find("out", landed)
    assert out is not None and trace[out]["instr"] == "end" and trace[out]["func"] == "$max"
    over = index.find("over", landed - 1)  # from just before the call: over it, back in $solve
    assert over is not None and trace[over]["func"] == "$max" and recording.func[over] != max_index
    line = trace[landed]["line"]
    assert index.find("line", 0, str(line)) == landed
    assert index.find("line", landed, f"{line},9999") not in (None, landed)
    fd_write = next(i for i, f in enumerate(functions) if f["name"] == "$fd_write")
    after_write = index.find("call", 0, str(fd_write))
    assert after_write is not None and trace[after_write]["instr"] == "call $fd_write"
    written = index.find("write", 0, "0x5f")  # the last digit, just before the newline at 0x60
    assert written is not None and trace[written]["instr"] == "i32.store8"
    assert index.find("write", written, "0x5f") is None


def test_host_calls_and_output_are_recorded(calories: tuple[Recording, dict[int, dict[str, Any]]]) -> None:
    recording, _ = calories
    index = RecordingIndex(recording)
    assert index.io(recording.steps - 3)["output"] == []
    io = index.io(recording.steps)
    assert [text for _, fd, text in io["output"] if fd == 1] == ["most calories: 24000\n"]
    [(step, func, args, results)] = io["calls"]
    assert recording.info["functions"][func]["name"] == "$fd_write"
    assert args == ["i32:1", "i32:0", "i32:2", "i32:32"] and results == ["i32:0"]


def test_a_saved_run_reopens_the_same(calories: tuple[Recording, dict[int, dict[str, Any]]]) -> None:
    recording, _ = calories
    text = recording.to_json()
    assert Recording.from_json(text).to_json() == text


def test_damaged_or_foreign_files_are_refused_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RecordingError, match="not a wasmbox-explore recording"):
        Recording.from_json('{"format": "other"}')
    with pytest.raises(RecordingError, match="damaged"):
        Recording.from_json('{"format": "wasmbox-explore", "version": 1, "meta": {}}')
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    assert main(["explore", "--open", str(bad)]) == 1
    assert capsys.readouterr().err.startswith(f"wasmbox: error: {bad}: not a JSON file")
    assert main(["explore"]) == 1
    assert "explore needs PROG" in capsys.readouterr().err


def test_limit_stops_the_run_and_keeps_what_was_recorded(tmp_path: Path) -> None:
    recording = record(tmp_path, "--limit", "100", str(CALORIES))
    assert recording.steps == 100 and recording.status == "stopped after 100 steps (--limit)"
    assert recording.cont[99] == 100


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("(i32.div_s (i32.const 1) (i32.const 0)) drop", "trapped: integer divide by zero"),
        ("(call $exit (i32.const 3))", "exited with code 3"),
    ],
)
def test_the_page_says_how_the_run_ended(tmp_path: Path, body: str, expected: str) -> None:
    """The trap's message or the exit code reaches the recording (and so the page), not only the terminal."""
    program = tmp_path / "ends.wat"
    program.write_text(
        '(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'
        f' (memory (export "memory") 1) (func (export "_start") {body}))'
    )
    saved = tmp_path / "run.json"
    main(["explore", "--save", str(saved), str(program)])
    recording = Recording.from_json(saved.read_text())
    assert recording.status.startswith(expected), recording.status


def test_html_page_carries_the_recording(tmp_path: Path) -> None:
    page = tmp_path / "run.html"
    assert main(["explore", "--html", str(page), str(CALORIES)]) == 0
    html = page.read_text()
    assert 'data-mode="embedded"' in html and "<script src" not in html and "http" not in html.split("<script>")[1]
    embedded = html.split('<script type="application/json" id="recording">')[1].split("</script>")[0]
    assert json.loads(embedded)["meta"]["steps"] == 1488


# --- the server ---------------------------------------------------------------------------------
@pytest.fixture
def server(calories: tuple[Recording, dict[int, dict[str, Any]]]) -> Any:
    server = ExplorerServer(calories[0])
    server.start()
    yield server
    server.shutdown()
    server.server_close()


def get(server: ExplorerServer, path: str, host: str | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Host": host} if host else {}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def test_server_listens_on_loopback_only(server: ExplorerServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    assert server.url.startswith(f"http://127.0.0.1:{server.port}/?t=")


def test_server_answers_with_the_token(server: ExplorerServer) -> None:
    status, body = get(server, f"/?t={server.token}")
    assert status == 200 and b'data-mode="server"' in body
    status, body = get(server, f"/api/chunk?t={server.token}&k=1")
    assert status == 200 and json.loads(body)["start"] == 1024
    status, body = get(server, f"/api/memory?t={server.token}&at=0&start=256&length=4")
    assert status == 200 and json.loads(body)["hex"] == b"1000".hex()


@pytest.mark.parametrize(
    "path",
    ["/", "/api/meta", "/api/chunk?k=0", "/api/meta?t=", "/api/meta?t=wrong-token"],
)
def test_server_refuses_requests_without_the_token(server: ExplorerServer, path: str) -> None:
    status, body = get(server, path)
    assert status == 403 and b"token" in body


def test_server_refuses_another_host_name(server: ExplorerServer) -> None:
    status, _ = get(server, f"/?t={server.token}", host=f"attacker.example:{server.port}")
    assert status == 403


@pytest.mark.parametrize(
    "path",
    ["/../../etc/passwd", "/explore.js", "/assets/explore.js", "/recording.py", "/api/../server.py", "/api/nothing"],
)
def test_server_serves_nothing_outside_its_page(server: ExplorerServer, path: str) -> None:
    joiner = "&" if "?" in path else "?"
    status, body = get(server, f"{path}{joiner}t={server.token}")
    assert status == 404 and body == b"not found"


def test_server_rejects_bad_queries_without_failing(server: ExplorerServer) -> None:
    status, _ = get(server, f"/api/chunk?t={server.token}&k=99")
    assert status == 400
    status, _ = get(server, f"/api/find?t={server.token}&what=teleport&at=0")
    assert status == 400
    status, _ = get(server, f"/api/meta?t={server.token}")
    assert status == 200
