"""``wasmbox explore``: record PROG (or ``--open`` a saved run), then save it, write a page, or serve it."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path
from typing import Any

from ...binary.reader import Reader
from ...errors import WasiExit, WasmError
from ...ir.module import Module
from ...ir.types import ExternKind
from ...load import is_binary, load_module_file
from ..view import ModuleView
from .arguments import DEFAULT_LIMIT as DEFAULT_LIMIT
from .arguments import add_arguments as add_arguments
from .page import embedded_page
from .recorder import ExploreLimitReached, Recorder
from .recording import Recording, RecordingError
from .source import DwarfSource, source_text


def describe(module: Module, path: str) -> dict[str, Any]:
    """What the page shows of the module besides the run: its text, functions, globals."""
    data = Path(path).read_bytes()
    wat = None if is_binary(data) else data.decode("utf-8", "replace")
    source = source_text(module, wat)
    view = ModuleView(module)
    source_lines = DwarfSource.of(module, data, Path(path).parent) if wat is None else None
    functions: list[dict[str, Any]] = []
    for index in range(len(module.func_types())):
        entry: dict[str, Any] = {"name": view.names[index], "imported": index < view.first_defined}
        if not entry["imported"]:
            body = view.function(index).body
            entry["locals"] = [view.local_name(index, local) for local in range(len(view.local_types(index)))]
            entry["instrs"] = [view.text(index, position) for position in range(len(body))]
            entry["offsets"] = [view.offset(index, position) for position in range(len(body))]
            if source_lines is not None:
                entry["src"] = [source_lines.index_of(offset) for offset in entry["offsets"]]
        functions.append(entry)
    exported = {e.index: e.name for e in module.exports if e.kind is ExternKind.GLOBAL}
    named = _global_names(module.names.others.get(7, b""))
    global_count = len(module.imported(ExternKind.GLOBAL)) + len(module.globals)
    return {
        "program": Path(path).name,
        "source": {"text": source.text, "kind": source.kind, "lines": source.lines},
        "first_defined": view.first_defined,
        "functions": functions,
        "globals": [_global_name(index, named, exported) for index in range(global_count)],
        "source_lines": source_lines.texts if source_lines is not None else [],
    }


def record(args: argparse.Namespace) -> Recording | int:
    """Run PROG under the recorder; the recording, or an exit status when the run could not start."""
    from ...cli import execute

    module = load_module_file(args.input, features=args.features)
    limit = DEFAULT_LIMIT if args.limit is None else args.limit
    recorder = Recorder(module, limit=limit)
    try:
        status = execute(args, recorder)
    except ExploreLimitReached:
        ended = f"stopped after {limit} steps (--limit)"
    else:
        if recorder.count == 0 and status != 0:
            return status  # nothing ran: the error is already reported
        ended = _how_it_ended(recorder, status)
    recording = recorder.finish(ended)
    recording.info = describe(module, args.input)
    return recording


def _global_names(payload: bytes) -> dict[int, str]:
    """The name section's global names (subsection 7, which linkers such as wasm-ld write):
    a vector of (index, name); an unreadable payload names nothing."""
    try:
        reader = Reader(payload)
        return {reader.u32(): "$" + reader.name() for _ in range(reader.u32())} if payload else {}
    except WasmError:
        return {}


def _global_name(index: int, named: dict[int, str], exported: dict[int, str]) -> str:
    return named.get(index) or exported.get(index) or f"global[{index}]"


def _how_it_ended(recorder: Recorder, status: int) -> str:
    """The run's end as the page shows it: the trap's message (first line), the exit code, or success."""
    reason = recorder.ended_by
    if isinstance(reason, WasiExit):
        return f"exited with code {reason.code} (proc_exit; status {status})"
    if reason is not None:
        return f"trapped: {str(reason).splitlines()[0]} (status {status})"
    if recorder.unwound_at:
        return f"ended with a trap or exit (status {status})"
    return f"finished (status {status})"


def cmd_explore(args: argparse.Namespace) -> int:
    from ...cli import _fail

    if args.limit is not None and args.limit < 1:
        return _fail("--limit must be at least 1")
    if args.open:
        if args.input:
            return _fail("give either PROG or --open RUN.json, not both")
        try:
            recording = Recording.from_json(Path(args.open).read_text(encoding="utf-8"))
        except (RecordingError, UnicodeDecodeError) as error:
            return _fail(f"{args.open}: {error}")
    elif not args.input:
        return _fail("explore needs PROG (or --open RUN.json)")
    else:
        recorded = record(args)
        if isinstance(recorded, int):
            return recorded
        recording = recorded
        print(f"wasmbox explore: recorded {recording.steps} steps; {recording.status}", file=sys.stderr)
    if args.save:
        Path(args.save).write_text(recording.to_json(), encoding="utf-8")
    if args.html:
        Path(args.html).write_text(embedded_page(recording), encoding="utf-8")
    if args.save or args.html:
        return 0
    return serve(recording, args.port, not args.no_browser)


def serve(recording: Recording, port: int, open_browser: bool) -> int:
    from .server import ExplorerServer

    server = ExplorerServer(recording, port)
    print(f"wasmbox explore: serving on {server.url}  (Ctrl-C to stop)", file=sys.stderr, flush=True)
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
