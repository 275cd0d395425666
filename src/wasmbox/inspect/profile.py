"""The profiler: exact call counts and self/total time per function, by instrumentation.

Every wasm function (and every import it calls) reports its entry and exit
to the profiler, so call counts are exact, not sampled.  Time is wall-clock
``perf_counter_ns`` between those events; the instrumentation itself costs
time, which lands mostly in the self time of small, hot functions, so read
times as relative.  Total time counts a recursive function once, from its
outermost activation.

Three outputs besides the table: speedscope's evented JSON format (open it at
https://www.speedscope.app), collapsed stacks (``a;b;c <ns>`` lines, the input
of flamegraph.pl and many viewers), and a flame graph drawn as SVG here.
"""

from __future__ import annotations

import json
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from .. import __version__
from ..ir.module import Module
from ..runtime.observer import Observer
from .view import ModuleView


@dataclass
class _Activation:
    func_index: int
    started: int
    children: int = 0  # ns spent in callees
    path: tuple[int, ...] = ()


@dataclass
class FunctionProfile:
    calls: int = 0
    self_ns: int = 0
    total_ns: int = 0


@dataclass
class Profiler(Observer):
    module: Module
    name: str = "wasm"
    functions: dict[int, FunctionProfile] = field(default_factory=dict)
    stacks: Counter[tuple[int, ...]] = field(default_factory=Counter)  # path -> self ns
    events: list[tuple[str, int, int]] = field(default_factory=list)  # (O|C, func, ns since start)
    record_events: bool = True
    _open: list[_Activation] = field(default_factory=list)
    _on_stack: Counter[int] = field(default_factory=Counter)
    _start: int = field(default_factory=time.perf_counter_ns)
    _end: int | None = None

    def __post_init__(self) -> None:
        self.view = ModuleView(self.module)

    # --- events ------------------------------------------------------------------
    def enter(self, func_index: int, params: tuple[Any, ...]) -> None:
        now = time.perf_counter_ns()
        parent = self._open[-1].path if self._open else ()
        self._open.append(_Activation(func_index, now, 0, (*parent, func_index)))
        self._on_stack[func_index] += 1
        profile = self.functions.get(func_index)
        if profile is None:
            profile = self.functions[func_index] = FunctionProfile()
        profile.calls += 1
        if self.record_events:
            self.events.append(("O", func_index, now - self._start))

    def leave(self, func_index: int, results: Any) -> Any:
        self._close(time.perf_counter_ns())
        return results

    def unwound(self, reason: BaseException | None = None) -> None:
        now = time.perf_counter_ns()
        while self._open:
            self._close(now)
        self._end = now

    def caught(self, func_index: int) -> None:
        now = time.perf_counter_ns()
        while self._open and self._open[-1].func_index != func_index:
            self._close(now)

    def _close(self, now: int) -> None:
        activation = self._open.pop()
        elapsed = now - activation.started
        index = activation.func_index
        profile = self.functions[index]
        own = elapsed - activation.children
        profile.self_ns += own
        self._on_stack[index] -= 1
        if self._on_stack[index] == 0:
            profile.total_ns += elapsed
        self.stacks[activation.path] += own
        if self._open:
            self._open[-1].children += elapsed
        if self.record_events:
            self.events.append(("C", index, now - self._start))

    # --- reports -------------------------------------------------------------------
    def elapsed_ns(self) -> int:
        end = self._end if self._end is not None else time.perf_counter_ns()
        return max(end - self._start, 1)

    def table(self) -> str:
        """Functions by self time, with calls, self and total time."""
        whole = self.elapsed_ns()
        rows = sorted(self.functions.items(), key=lambda item: (-item[1].self_ns, item[0]))
        lines = [f"{'calls':>10}  {'self ms':>10} {'self %':>7}  {'total ms':>10} {'total %':>7}  function"]
        for index, p in rows:
            lines.append(
                f"{p.calls:>10}  {p.self_ns / 1e6:>10.3f} {100 * p.self_ns / whole:>6.1f}%"
                f"  {p.total_ns / 1e6:>10.3f} {100 * p.total_ns / whole:>6.1f}%  {self.view.names[index]}"
            )
        lines.append(f"total run time {whole / 1e6:.3f} ms (instrumented)")
        return "\n".join(lines)

    def collapsed(self) -> str:
        """``name;name;name ns`` per distinct call stack (self time), flamegraph.pl's input."""
        names = self.view.names
        return "".join(
            f"{';'.join(names[i] for i in path)} {ns}\n" for path, ns in sorted(self.stacks.items()) if ns > 0
        )

    def speedscope(self) -> str:
        """The run as speedscope's evented profile (file format schema 0.0.1)."""
        frame_of: dict[int, int] = {}
        frames: list[dict[str, str]] = []
        events = []
        for kind, func_index, at in self.events:
            if func_index not in frame_of:
                frame_of[func_index] = len(frames)
                frames.append({"name": self.view.names[func_index]})
            events.append({"type": kind, "frame": frame_of[func_index], "at": at})
        end = events[-1]["at"] if events else 0
        document = {
            "$schema": "https://www.speedscope.app/file-format-schema.json",
            "shared": {"frames": frames},
            "profiles": [
                {
                    "type": "evented",
                    "name": self.name,
                    "unit": "nanoseconds",
                    "startValue": 0,
                    "endValue": end,
                    "events": events,
                }
            ],
            "name": self.name,
            "activeProfileIndex": 0,
            "exporter": f"wasmbox {__version__}",
        }
        return json.dumps(document)

    def flamegraph_svg(self, width: int = 1200, row: int = 17) -> str:
        """A flame graph: one box per call stack, as wide as its total time, callers below callees."""
        tree = _Node("all")
        for path, ns in self.stacks.items():
            node = tree
            node.value += ns
            for index in path:
                node = node.children.setdefault(index, _Node(self.view.names[index]))
                node.value += ns
        depth = tree.depth()
        height = (depth + 2) * row + 30
        scale = (width - 20) / max(tree.value, 1)
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">',
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fdfdf6"/>',
            f'<text x="{width // 2}" y="18" text-anchor="middle" font-size="14">'
            f"{escape(self.name)}: {tree.value / 1e6:.3f} ms in wasm</text>",
        ]
        self._draw(tree, 10.0, height - row - 5, scale, row, parts, tree.value)
        parts.append("</svg>")
        return "\n".join(parts) + "\n"

    def _draw(self, node: _Node, x: float, y: int, scale: float, row: int, parts: list[str], whole: int) -> None:
        box = node.value * scale
        if box >= 0.5:
            hue = zlib.crc32(node.name.encode()) % 60
            label = node.name if len(node.name) * 7 < box - 4 else node.name[: max(int((box - 4) / 7) - 2, 0)] + ".."
            percent = 100 * node.value / max(whole, 1)
            parts.append(
                f"<g><title>{escape(node.name)} ({node.value / 1e6:.3f} ms, {percent:.1f}%)</title>"
                f'<rect x="{x:.1f}" y="{y}" width="{box:.1f}" height="{row - 1}" fill="hsl({hue}, 85%, 60%)" rx="2"/>'
                + (f'<text x="{x + 3:.1f}" y="{y + row - 5}">{escape(label)}</text>' if box > 20 else "")
                + "</g>"
            )
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            self._draw(child, child_x, y - row, scale, row, parts, whole)
            child_x += child.value * scale


@dataclass
class _Node:
    name: str
    value: int = 0
    children: dict[int, _Node] = field(default_factory=dict)

    def depth(self) -> int:
        return 1 + max((child.depth() for child in self.children.values()), default=0)
