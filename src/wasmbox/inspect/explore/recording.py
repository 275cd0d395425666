"""A recorded run, and its file format (``wasmbox explore --save run.json``).

The format is built so that a page can show any step of a run of millions
of steps while holding only a few thousand: steps are stored as deltas and
grouped in chunks of :data:`CHUNK_SIZE`, each chunk opening with a
checkpoint of the whole state, so one chunk rebuilds every step in it.

The file is one JSON object::

    {"format": "wasmbox-explore", "version": 1,
     "meta":   {...},                      what the page shows besides steps (below)
     "chunks": [CHUNK, ...],               chunk k holds steps k*chunk_size ...
     "memory": {"size": BYTES, "initial": [[ADDRESS, HEX], ...],
                "writes": [[STEP, ADDRESS, HEX], ...], "sizes": [[STEP, BYTES], ...]},
     "calls":  [[STEP, FUNC, ARGS, RESULTS], ...],   host (import) calls made by STEP
     "output": [[STEP, FD, TEXT], ...]}               what fd_write wrote during STEP

A CHUNK is ``{"k": k, "start": FIRST_STEP, "state": STATE, "records": [RECORD, ...]}``.
STATE is the machine as step ``start`` sees it (before it runs):
``{"frames": [{"f": FUNC, "p": POSITION, "stack": [VALUE...], "locals": [VALUE...]}, ...],
"globals": [VALUE...]}``, outermost frame first.  A RECORD is the list
``[f, p, d, cont, parent, access, pops, pushes, locals, globals]`` for one
step, trailing empty items left out:

* ``f``, ``p``: the function index and the instruction's position in its
  body; ``d``: the call depth (0 for the function the run called);
* ``cont``: the next step at depth ``d`` or less (where "step over" lands;
  the number of steps if none), ``parent``: the step of the caller that made
  this frame's call (-1 at depth 0) — "step out" lands at ``cont[parent]``;
* ``access``: what the instruction read and wrote, ``[["r"|"w", ADDRESS,
  LENGTH], ...]`` (0 when nothing);
* ``pops``, ``pushes``: how the frame's operand stack as this step sees it
  differs from the last time the same frame was seen: ``pops`` values gone
  from the top, then ``pushes`` added; ``pops`` is -1 for the first step of
  a new frame (which replaces any frame at depth ``d`` or deeper);
* ``locals``: ``[[INDEX, VALUE], ...]`` that changed (all of them for a new
  frame), ``globals``: ``[[INDEX, VALUE], ...]`` changed since the step before.

A VALUE is text, ``type:value`` as ``wasmbox trace`` prints it (``i32:-1``,
``f64:0.5``).  Memory at a step is the initial image with every write of an
earlier step applied; a reader keeps its own checkpoints of it (see
:mod:`.queries`).  Step ``i`` is the ``i+1``-th line ``wasmbox trace --json``
writes for an instruction (its ``"step"`` field).
"""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass, field
from typing import Any

FORMAT = "wasmbox-explore"
VERSION = 1
CHUNK_SIZE = 1024
MEMORY_BLOCK = 4096  # the initial image is stored by blocks, all-zero blocks left out


class RecordingError(Exception):
    """A file that is not a recording this version can read."""


@dataclass
class Recording:
    func: array[int] = field(default_factory=lambda: array("i"))
    position: array[int] = field(default_factory=lambda: array("i"))
    depth: array[int] = field(default_factory=lambda: array("i"))
    cont: array[int] = field(default_factory=lambda: array("i"))
    parent: array[int] = field(default_factory=lambda: array("i"))
    deltas: list[str] = field(default_factory=list)  # per step: the JSON of [pops, pushes, locals, globals]
    access: dict[int, list[tuple[str, int, int]]] = field(default_factory=dict)
    checkpoints: list[str] = field(default_factory=list)  # JSON STATE at steps k * CHUNK_SIZE
    writes: list[tuple[int, int, bytes]] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    initial_memory: bytes = b""
    segments: list[tuple[int, int, str]] = field(default_factory=list)
    calls: list[tuple[int, int, str, str]] = field(default_factory=list)  # args and results as JSON lists
    output: list[tuple[int, int, str]] = field(default_factory=list)
    initial_globals: list[str] = field(default_factory=list)
    final_globals: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    status: str = ""
    info: dict[str, Any] = field(default_factory=dict)  # program, source, functions, globals: see .page
    _interned: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def steps(self) -> int:
        return len(self.func)

    @property
    def chunk_count(self) -> int:
        return (self.steps + CHUNK_SIZE - 1) // CHUNK_SIZE

    def add_step(
        self,
        func_index: int,
        position: int,
        depth: int,
        parent: int,
        pops: int,
        pushes: list[str],
        locals_: list[list[Any]],
        globals_: list[list[Any]],
    ) -> None:
        self.func.append(func_index)
        self.position.append(position)
        self.depth.append(depth)
        self.cont.append(-1)
        self.parent.append(parent)
        parts: list[Any] = [pops, pushes, locals_, globals_]
        while parts and not parts[-1]:
            parts.pop()
        delta = json.dumps(parts, separators=(",", ":"))[1:-1]
        self.deltas.append(self._interned.setdefault(delta, delta))  # loops repeat their deltas

    def meta(self) -> dict[str, Any]:
        """Everything the page needs besides the steps and memory contents."""
        return {
            **self.info,
            "steps": self.steps,
            "chunk_size": CHUNK_SIZE,
            "status": self.status,
            "results": self.results,
            "initial_globals": self.initial_globals,
            "final_globals": self.final_globals,
            "memory_size": len(self.initial_memory),
            "segments": [list(segment) for segment in self.segments],
        }

    def record_json(self, step: int) -> str:
        access = self.access.get(step)
        access_text = json.dumps(access, separators=(",", ":")) if access else "0"
        delta = self.deltas[step]
        head = f"{self.func[step]},{self.position[step]},{self.depth[step]},{self.cont[step]},{self.parent[step]}"
        return f"[{head},{access_text}{',' + delta if delta else ''}]"

    def chunk_json(self, k: int) -> str:
        if not 0 <= k < self.chunk_count:
            raise IndexError(k)
        start = k * CHUNK_SIZE
        records = ",".join(self.record_json(step) for step in range(start, min(start + CHUNK_SIZE, self.steps)))
        return f'{{"k":{k},"start":{start},"state":{self.checkpoints[k]},"records":[{records}]}}'

    def to_json(self) -> str:
        """The whole recording as the file described above."""
        initial = [
            [address, self.initial_memory[address : address + MEMORY_BLOCK].hex()]
            for address in range(0, len(self.initial_memory), MEMORY_BLOCK)
            if any(self.initial_memory[address : address + MEMORY_BLOCK])
        ]
        memory = {
            "size": len(self.initial_memory),
            "initial": initial,
            "writes": [[step, address, data.hex()] for step, address, data in self.writes],
            "sizes": [list(size) for size in self.sizes],
        }
        rest = {
            "memory": memory,
            "calls": [[step, func, json.loads(args), json.loads(results)] for step, func, args, results in self.calls],
            "output": [list(item) for item in self.output],
        }
        head = json.dumps({"format": FORMAT, "version": VERSION, "meta": self.meta()}, separators=(",", ":"))
        tail = json.dumps(rest, separators=(",", ":"))
        chunks = ",".join(self.chunk_json(k) for k in range(self.chunk_count))
        return f'{head[:-1]},"chunks":[{chunks}],{tail[1:]}'

    @classmethod
    def from_json(cls, text: str) -> Recording:
        """Read a file written by :meth:`to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise RecordingError(f"not a JSON file ({error})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RecordingError(f"not a {FORMAT} recording")
        if data.get("version") != VERSION:
            raise RecordingError(f"recording version {data.get('version')!r}; this wasmbox reads version {VERSION}")
        try:
            return cls._from_data(data)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise RecordingError(f"damaged recording ({type(error).__name__}: {error})") from None

    @classmethod
    def _from_data(cls, data: dict[str, Any]) -> Recording:
        meta = data["meta"]
        recording = cls()
        known = {"steps", "chunk_size", "status", "results", "initial_globals", "final_globals", "memory_size"}
        recording.info = {key: value for key, value in meta.items() if key not in known | {"segments"}}
        recording.status = meta["status"]
        recording.results = list(meta["results"])
        recording.initial_globals = list(meta["initial_globals"])
        recording.final_globals = list(meta["final_globals"])
        recording.segments = [(int(s), int(n), str(name)) for s, n, name in meta["segments"]]
        if meta["chunk_size"] != CHUNK_SIZE:
            raise ValueError(f"chunk size {meta['chunk_size']}")
        for k, chunk in enumerate(data["chunks"]):
            if chunk["k"] != k or chunk["start"] != k * CHUNK_SIZE:
                raise ValueError(f"chunk {k} out of place")
            recording.checkpoints.append(json.dumps(chunk["state"], separators=(",", ":")))
            for record in chunk["records"]:
                step = recording.steps
                f, p, d, c, u, access = record[:6]
                recording.func.append(f)
                recording.position.append(p)
                recording.depth.append(d)
                recording.cont.append(c)
                recording.parent.append(u)
                if access:
                    recording.access[step] = [(str(kind), int(a), int(n)) for kind, a, n in access]
                delta = json.dumps(record[6:], separators=(",", ":"))[1:-1]
                recording.deltas.append(recording._interned.setdefault(delta, delta))
        if recording.steps != meta["steps"]:
            raise ValueError(f"{recording.steps} steps in the chunks, {meta['steps']} in the header")
        memory = data["memory"]
        image = bytearray(memory["size"])
        for address, hex_ in memory["initial"]:
            block = bytes.fromhex(hex_)
            image[address : address + len(block)] = block
        recording.initial_memory = bytes(image)
        recording.writes = [(int(step), int(address), bytes.fromhex(hex_)) for step, address, hex_ in memory["writes"]]
        recording.sizes = [(int(step), int(size)) for step, size in memory["sizes"]]
        recording.calls = [(int(s), int(f), json.dumps(a), json.dumps(r)) for s, f, a, r in data["calls"]]
        recording.output = [(int(s), int(fd), str(text)) for s, fd, text in data["output"]]
        return recording
