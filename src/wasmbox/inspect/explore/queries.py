"""What the page asks of a recording, answered without rebuilding whole steps.

Positions count executed steps: position ``n`` is the machine after step
``n - 1`` ran and before step ``n`` runs (0: nothing ran yet; the number of
steps: the run is over).  The page asks for

* a chunk of records (:meth:`.recording.Recording.chunk_json`), from which
  it rebuilds the stack, locals and call stack itself;
* a window of linear memory at a position (:meth:`RecordingIndex.memory`),
  read from the nearest memory checkpoint before it plus the writes since;
* the next position where something happens (:meth:`RecordingIndex.find`):
  a line with a breakpoint runs, a function is called, an address is
  written, or where "step over" and "step out" land;
* the host calls made and the output written so far (:meth:`RecordingIndex.io`).

Memory checkpoints are built once, when the index is made: every
:data:`MEMORY_CHECKPOINT` writes, the memory as a map from 4 KiB block to
its bytes, sharing unchanged blocks with the checkpoint before.
"""

from __future__ import annotations

import bisect
import json
from array import array
from typing import Any

from .recording import Recording

MEMORY_CHECKPOINT = 1024  # writes between two memory checkpoints
BLOCK = 4096
OUTPUT_SHOWN = 20_000  # characters of output sent with a position (the latest)
CALLS_SHOWN = 40


class RecordingIndex:
    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.write_steps = array("i", (step for step, _, _ in recording.writes))
        self.size_steps = [step for step, _ in recording.sizes]
        self._checkpoints: list[dict[int, bytes]] = []
        self._build_memory_checkpoints()
        self._lines: array[int] | None = None
        self._entries: dict[int, list[int]] | None = None
        self._host_calls: dict[int, list[int]] = {}
        for step, func, _, _ in recording.calls:
            self._host_calls.setdefault(func, []).append(step)
        self.call_steps = [step for step, _, _, _ in recording.calls]
        self.output_steps = [step for step, _, _ in recording.output]

    # --- memory ----------------------------------------------------------------------
    def _build_memory_checkpoints(self) -> None:
        image = bytearray(self.recording.initial_memory)
        blocks = {b // BLOCK: bytes(image[b : b + BLOCK]) for b in range(0, len(image), BLOCK)}
        self._checkpoints.append(blocks)
        dirty: set[int] = set()
        for number, (_, address, data) in enumerate(self.recording.writes, 1):
            end = address + len(data)
            if end > len(image):
                image.extend(bytes(end - len(image)))
            image[address:end] = data
            dirty.update(range(address // BLOCK, (end - 1) // BLOCK + 1))
            if number % MEMORY_CHECKPOINT == 0:
                blocks = dict(blocks)
                for block in dirty:
                    blocks[block] = bytes(image[block * BLOCK : (block + 1) * BLOCK])
                dirty.clear()
                self._checkpoints.append(blocks)

    def memory_size(self, position: int) -> int:
        at = bisect.bisect_left(self.size_steps, position)
        return self.recording.sizes[at - 1][1] if at else len(self.recording.initial_memory)

    def memory(self, position: int, start: int, length: int) -> bytes:
        """Bytes ``start`` to ``start + length`` (cut at the memory's end) at ``position``."""
        size = self.memory_size(position)
        start = max(0, min(start, size))
        end = max(start, min(start + max(length, 0), size))
        applied = bisect.bisect_left(self.write_steps, position)  # writes made by steps before ``position``
        checkpoint = min(applied // MEMORY_CHECKPOINT, len(self._checkpoints) - 1)
        blocks = self._checkpoints[checkpoint]
        window = bytearray(end - start)
        for block in range(start // BLOCK, (end - 1) // BLOCK + 1 if end > start else start // BLOCK):
            data = blocks.get(block)
            if data is None:
                continue
            block_start = block * BLOCK
            low, high = max(start, block_start), min(end, block_start + len(data))
            if low < high:
                window[low - start : high - start] = data[low - block_start : high - block_start]
        for _, address, data in self.recording.writes[checkpoint * MEMORY_CHECKPOINT : applied]:
            low, high = max(start, address), min(end, address + len(data))
            if low < high:
                window[low - start : high - start] = data[low - address : high - address]
        return bytes(window)

    # --- searches ------------------------------------------------------------------
    def find(self, what: str, position: int, argument: str = "") -> int | None:
        """The position a search lands on, from ``position`` forwards; None when nothing matches.

        ``line`` (argument: comma-separated lines): just after the next step on one of those lines;
        ``call`` (a function index): just after the call, at the callee's entry (or after a host
        call returned); ``write`` (an address): just after the next step that writes it;
        ``over``/``out``: where stepping over the next instruction, or out of this frame, lands.
        """
        recording = self.recording
        steps = recording.steps
        position = max(0, position)
        if what == "over":
            return recording.cont[position] if position < steps else None
        if what == "out":
            if position >= steps:
                return None
            parent = recording.parent[position]
            return steps if parent < 0 else recording.cont[parent]
        if what == "line":
            lines = self._step_lines()
            found = [_index(lines, int(line), position) for line in argument.split(",") if line.strip()]
            hits = [step for step in found if step is not None]
            return min(hits) + 1 if hits else None
        if what == "call":
            func = int(argument)
            if func in self._host_calls:
                calls = self._host_calls[func]
                at = bisect.bisect_left(calls, position)
                return calls[at] + 1 if at < len(calls) else None
            entries = self._function_entries().get(func, [])
            at = bisect.bisect_right(entries, position)
            return entries[at] if at < len(entries) else None
        if what == "write":
            address = int(argument, 0)
            for step, start, data in recording.writes[bisect.bisect_left(self.write_steps, position) :]:
                if start <= address < start + len(data):
                    return step + 1
            return None
        raise ValueError(f"unknown search {what!r}")

    def _step_lines(self) -> array[int]:
        if self._lines is None:
            tables = self.recording.info.get("source", {}).get("lines", [])
            first = self.recording.info.get("first_defined", 0)
            recording = self.recording
            lines = array("i", bytes(4 * recording.steps))
            for step in range(recording.steps):
                table = tables[recording.func[step] - first]
                if table is not None:
                    lines[step] = table[recording.position[step]]
            self._lines = lines
        return self._lines

    def _function_entries(self) -> dict[int, list[int]]:
        if self._entries is None:
            entries: dict[int, list[int]] = {}
            recording = self.recording
            for step, position in enumerate(recording.position):
                if position == 0:
                    entries.setdefault(recording.func[step], []).append(step)
            self._entries = entries
        return self._entries

    # --- host calls and output -------------------------------------------------------
    def io(self, position: int) -> dict[str, Any]:
        """The last host calls made, and the output written, by the steps before ``position``."""
        recording = self.recording
        calls_done = bisect.bisect_left(self.call_steps, position)
        outputs_done = bisect.bisect_left(self.output_steps, position)
        shown: list[list[Any]] = []
        characters = 0
        for step, fd, text in reversed(recording.output[:outputs_done]):
            if characters >= OUTPUT_SHOWN:
                break
            shown.append([step, fd, text[-(OUTPUT_SHOWN - characters) :]])
            characters += len(text)
        return {
            "calls": [
                [step, func, json.loads(args), json.loads(results)]
                for step, func, args, results in recording.calls[max(0, calls_done - CALLS_SHOWN) : calls_done]
            ],
            "calls_total": calls_done,
            "output": shown[::-1],
            "output_truncated": characters >= OUTPUT_SHOWN,
        }


def _index(values: array[int], wanted: int, start: int) -> int | None:
    try:
        return values.index(wanted, start)
    except ValueError:
        return None
