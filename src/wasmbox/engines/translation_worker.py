"""Compilation off the main thread: a second process turns hot functions into Python code or machine code.

Translating a function to Python (the portable engine's tier) costs about
15 µs per instruction, mostly CPython's own ``compile``; done on the main
thread, a large program waits for every function that gets hot.  A machine
with a second core can do it meanwhile: this worker process decodes the
module itself, translates and compiles what it is asked for, and sends back
the marshalled code object, which the main process installs in a few
microseconds.  Until then the function keeps running on the baseline
interpreter.

The native engine's tier works the same way: the worker lowers a function
(or, for a small module, the whole module) to LLVM IR and compiles it to
object code, which the main process links into its JIT (the code names
nothing of the process that made it; see ``engines.native``).

The protocol is frames of a 4-byte length and a pickle, over the worker's
stdin and stdout; the worker only ever sees the module's bytes and function
indices.  If the worker cannot start or dies, ``TranslationWorker.request``
says so and the caller translates in-process.
"""

from __future__ import annotations

import atexit
import functools
import marshal
import os
import struct
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

# What a delivery receives: the kind ("python" or "native"), the code object or object code,
# and for Python code (lines before the body, line map).
Delivery = Callable[[str, Any, Any], None]
Key = tuple[str, int, bool]  # (kind, function index, interruptible)


_background = threading.Lock()
_exiting = False


def in_background(work: Callable[[], None]) -> None:
    """Run ``work`` (on a daemon thread: installing what the worker made, loading machine code) so
    that the process never exits in the middle of it: LLVM's own state is torn down at exit, and a
    thread still inside it then crashes the process.  At exit, work in progress is waited for (it is
    short: linking object code, exec of code objects) and no new work starts."""
    with _background:
        if not _exiting:
            work()


@atexit.register
def _stop_background_work() -> None:
    global _exiting
    _exiting = True
    _background.acquire()  # waits for work in progress; held to the end, so none starts again


# pickle and subprocess are imported when a worker starts, not with this module: most runs
# never start one (a warm cache has the code), and they are a few percent of start-up.


def _write_frame(stream: IO[bytes], payload: object) -> None:
    import pickle

    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<I", len(data)) + data)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> Any:
    import pickle

    header = stream.read(4)
    if len(header) < 4:
        raise EOFError
    (size,) = struct.unpack("<I", header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - frames come from our own worker process


class TranslationWorker:
    """One worker process for one module's binary; requests are answered in order."""

    def __init__(self, data: bytes, features: frozenset[str]) -> None:
        import subprocess

        package_root = str(Path(__file__).resolve().parents[2])
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, environment.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wasmbox.engines.translation_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests = self.process.stdin
        self.replies = self.process.stdout
        self.lock = threading.Lock()
        self.waiting: dict[Key, list[Delivery]] = {}
        self.alive = True
        _write_frame(self.requests, (data, sorted(features)))
        self.thread = threading.Thread(target=self._receive, name="wasmbox-translations", daemon=True)
        self.thread.start()
        atexit.register(self.detach)

    def request(self, kind: str, index: int, interruptible: bool, priority: float, deliver: Delivery) -> bool:
        """Ask for function ``index`` as ``kind`` code; ``deliver`` runs (on the receiving thread)
        when it is ready.  The worker takes the highest ``priority`` first.  False when the
        worker is gone: make it in-process instead."""
        with self.lock:
            if not self.alive:
                return False
            key = (kind, index, interruptible)
            first = key not in self.waiting
            self.waiting.setdefault(key, []).append(deliver)
            if first and not self._send((*key, priority)):
                del self.waiting[key]
                return False
        return True

    def prioritize(self, kind: str, index: int, interruptible: bool, priority: float) -> None:
        """A waiting function got hotter: the worker should take it sooner."""
        with self.lock:
            if self.alive and (kind, index, interruptible) in self.waiting:
                self._send((kind, index, interruptible, priority))

    def _send(self, frame: tuple[str, int, bool, float]) -> bool:
        try:
            _write_frame(self.requests, frame)
            return True
        except OSError:
            self.alive = False
            return False

    def _receive(self) -> None:
        import pickle

        try:
            while True:
                kind, index, interruptible, payload, extra = _read_frame(self.replies)
                with self.lock:
                    deliveries = self.waiting.pop((kind, index, interruptible), [])
                if payload is None:
                    continue  # the worker could not make it: the function stays where it is
                code = marshal.loads(payload) if kind == "python" else payload
                for deliver in deliveries:
                    try:
                        in_background(functools.partial(deliver, kind, code, extra))
                    except Exception:  # noqa: BLE001, S112 - that function stays on its tier; the rest go on
                        continue
        except (EOFError, OSError, pickle.UnpicklingError, ValueError):
            pass
        finally:
            with self.lock:
                self.alive = False
                self.waiting.clear()

    def close(self) -> None:
        """Stop the worker now: what it was making is no longer wanted (a compilation in progress
        may take seconds; its cache file is written atomically, or not at all)."""
        self.detach()
        if self.process.poll() is None:
            self.process.terminate()

    def detach(self) -> None:
        """The process is ending: ask nothing more.  The worker finishes the optimised code it was
        making for the code cache (the next run starts on it) and exits by itself."""
        with self.lock:
            self.alive = False
        try:
            self.requests.close()
        except OSError:
            pass


def serve() -> None:
    """The worker's loop: decode the module, then make the most wanted pending function."""
    from ..binary.decode import decode_module
    from ..ir.legacy_exceptions import engine_view
    from . import translation_cache
    from .interp import translation

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    data, features = _read_frame(requests)
    decoded = decode_module(data, frozenset(features), lazy=True)
    decoded.binary = data
    module = engine_view(decoded)  # as the main process's engines see it: legacy try lowered
    func_types = module.func_types()
    pending: dict[Key, float] = {}
    done: set[Key] = set()
    stubs_sent: set[bool] = set()
    ready = threading.Condition()
    finished = False

    def read_requests() -> None:
        nonlocal finished
        try:
            while True:
                kind, index, interruptible, priority = _read_frame(requests)
                with ready:
                    key = (kind, index, interruptible)
                    if key not in done:
                        pending[key] = max(priority, pending.get(key, priority))
                        ready.notify()
        except EOFError:
            with ready:
                finished = True
                ready.notify()

    threading.Thread(target=read_requests, daemon=True).start()
    # Work for idle moments (nothing asked for half a second): later runs' start-up.
    idle_work: list[Callable[[], object]] = [_build_validator] if available_native() else []
    # Code for the code cache, made when idle and, if the program ends first, after it has.
    cache_work: list[Callable[[], object]] = []
    while True:
        with ready:
            if not pending and not finished:
                ready.wait(timeout=0.5 if idle_work or cache_work else None)
            if pending:
                key = max(pending, key=pending.__getitem__)
                del pending[key]
                done.add(key)
            elif finished and not cache_work:
                return
            elif idle_work or cache_work:
                key = None
            else:
                continue
        if key is None:
            try:
                (cache_work or idle_work).pop()()
            except Exception:  # noqa: BLE001, S112 - only a later run's speed depends on it
                pass
            continue
        kind, index, interruptible = key
        reply: tuple[Any, ...]
        try:
            if kind == "module-cache":  # the -O2 object for the next run only (see tiers.machine_code_for_next_run)
                from .native.engine import module_object

                cache_work.append(functools.partial(module_object, module, interruptible))
                reply = (*key, None, None)
            elif kind == "module":  # a small module's whole machine code (see native.WholeModuleTier)
                from .native.engine import QUICK, module_object

                # Quick code now, so the program reaches machine code soon; fully optimised code
                # for the code cache when idle (or after the program ended), so the next run starts
                # on it.
                reply = (*key, module_object(module, interruptible, QUICK), QUICK)
                cache_work.append(functools.partial(module_object, module, interruptible))
            elif kind == "native" or kind.startswith("osr:"):
                from .native.engine import function_object, osr_object, stubs_object

                if kind == "native":
                    code = function_object(module, index, interruptible)
                else:
                    code = osr_object(module, index, int(kind[4:]), interruptible)
                stubs = None
                if interruptible not in stubs_sent:  # the first machine code needs them
                    stubs = stubs_object(module, interruptible)
                    stubs_sent.add(interruptible)
                reply = (*key, code, stubs)
            else:
                code_object, head_lines, line_starts = translation(module, index, func_types, interruptible)
                code = marshal.dumps(code_object)
                translation_cache.store(module, index, interruptible, code, head_lines, line_starts)
                reply = (*key, code, (head_lines, line_starts))
        except Exception:  # noqa: BLE001 - the main process keeps the function on the baseline tier
            reply = (*key, None, None)
        try:
            _write_frame(replies, reply)
        except OSError:  # the program has ended: only the code cache's work is left
            with ready:
                finished = True


def available_native() -> bool:
    from .native import available

    return available()


def _build_validator() -> None:
    """Idle time: build the optimised native validator for later runs (see native_validation)."""
    try:
        from ..native_validation import build_optimized

        build_optimized()
    except Exception:  # noqa: BLE001, S110 - only a later run's speed depends on it
        pass


if __name__ == "__main__":
    serve()
