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

The worker is a copy of the main process (``os.fork``) when that is safe: it
has wasmbox imported and the module decoded already, so it answers its first
request in the time LLVM takes to load (~0.1 s), where a fresh interpreter
first spends ~0.15 s of CPU importing and decoding, and more on a busy
machine: for a cold small program that was most of the wait for machine code
(BENCHMARKS.md, session 9).  Elsewhere (another thread might hold a lock the
copy would need, not Linux, ``WASMBOX_WORKER_START=spawn``) it is a fresh
interpreter, ``python -m wasmbox.engines.translation_worker``.

The protocol is frames of a 4-byte length and a ``marshal`` dump, over the worker's
stdin and stdout (a forked worker's two pipes); the worker only ever sees the module's bytes and function
indices.  If the worker cannot start or dies, ``TranslationWorker.request``
says so and the caller translates in-process.
"""

from __future__ import annotations

import atexit
import functools
import marshal
import os
import signal
import struct
import sys
import threading
import weakref
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .native.quick_ahead import FirstCallOrder

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


_workers: weakref.WeakSet[TranslationWorker] = weakref.WeakSet()


@atexit.register
def _detach_workers() -> None:
    """At exit, after what the tiers ask for at exit (their handler is registered later, so it runs
    earlier): every worker finishes its code cache's work and exits by itself."""
    for worker in list(_workers):
        worker.detach()


# subprocess is imported when a worker starts, not with this module: most runs
# never start one (a warm cache has the code), and they are a few percent of start-up.


def _write_frame(stream: IO[bytes], payload: tuple[Any, ...]) -> None:
    """One request or reply: tuples of names, numbers, flags and bytes, which ``marshal`` carries (it
    is built in; importing ``pickle`` cost a cold run ~5 ms)."""
    data = marshal.dumps(payload)
    stream.write(struct.pack("<I", len(data)) + data)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> Any:
    header = stream.read(4)
    if len(header) < 4:
        raise EOFError
    (size,) = struct.unpack("<I", header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return marshal.loads(data)  # frames come from our own worker process (or its parent)


class TranslationWorker:
    """One worker process for one module's binary; requests are answered in order."""

    def __init__(self, data: bytes, features: frozenset[str], module: Any = None) -> None:
        """A worker for the module of ``data`` (its bytes) and ``features``: forked from this process
        when ``module`` (the decoded module, as the engines see it) is given and forking is safe here
        (see ``_fork_is_safe``), else started as a fresh interpreter that decodes ``data`` itself."""
        self.lock = threading.Lock()
        self.waiting: dict[Key, list[Delivery]] = {}
        self.alive = True
        self.process: Any = None  # the subprocess.Popen of a started worker
        self.pid = 0  # a forked worker's process id (0: not forked, or reaped)
        self.ahead: _AheadCode | None = None  # a forked worker's quick code made ahead (see plan_quick)
        if module is not None and _fork_is_safe():
            self.requests, self.replies = self._fork(module)
        else:
            self.requests, self.replies = self._start(data, features)
        self.thread = threading.Thread(target=self._receive, name="wasmbox-translations", daemon=True)
        self.thread.start()
        _workers.add(self)

    def _start(self, data: bytes, features: frozenset[str]) -> tuple[IO[bytes], IO[bytes]]:
        """A fresh interpreter (``python -m wasmbox.engines.translation_worker``), sent the module's bytes."""
        import subprocess

        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
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
        _write_frame(self.process.stdin, (data, sorted(features)))
        return self.process.stdin, self.process.stdout

    def _fork(self, module: Any) -> tuple[IO[bytes], IO[bytes]]:
        """A copy of this process, which has wasmbox imported and the module decoded already: it
        serves at once (a fresh interpreter spends ~0.15 s of CPU, and more of wall time on a busy
        machine, importing wasmbox and decoding before its first answer; BENCHMARKS.md, session 9).

        The child keeps only the two pipes: every other descriptor it inherited (the guest's
        stdout, files, sockets, the Ctrl-C pipe) is pointed at /dev/null, so a reader of the
        program's output sees its end when the program exits, not when the worker does.  It never
        returns from here and never runs this process's exit handlers or flushes its buffers
        (``os._exit``)."""
        requests_read, requests_write = os.pipe()
        replies_read, replies_write = os.pipe()
        ahead_read, ahead_write = _ahead_pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            status = 0
            try:
                _become_worker(keep=(requests_read, replies_write, ahead_write))
                with open(requests_read, "rb") as requests, open(replies_write, "wb") as replies:
                    serve_module(module, requests, replies, _AheadSender(ahead_write))
            except BaseException:  # noqa: BLE001 - whatever happens, the copy must not go on as the program
                status = 1
            finally:
                os._exit(status)
        os.close(requests_read)
        os.close(replies_write)
        os.close(ahead_write)
        self.pid = pid
        self.ahead = _AheadCode(ahead_read)
        return open(requests_write, "wb"), open(replies_read, "rb")

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

    def request_all(self, kind: str, wanted: list[tuple[int, float]], interruptible: bool) -> None:
        """Ask for every (function, priority) of ``wanted`` as ``kind`` code, for no one here (the code
        cache's work at exit), in one frame: a large module's run asks for thousands (yosys: 3,700), and a
        frame each kept the exit waiting ~0.4 s on a worker too busy compiling to read them."""
        with self.lock:
            if self.alive and wanted:
                self._send((f"{kind}*", -1, interruptible, [[index, priority] for index, priority in wanted]))

    def plan_quick(self, first_called: int, interruptible: bool) -> bool:
        """Have the worker compile, whenever it has nothing asked of it, the quick code of the functions the
        program will likely call next (``native.quick_ahead``), from ``first_called`` on; ``take_quick`` gets
        it.  Only a forked worker can: quick code holds addresses of this process (its host callbacks), which
        are the worker's too if they existed when it was forked.  The worker checks that they are the same
        and does nothing if not.  Whether it was asked."""
        from .native.quick import embedded_addresses

        with self.lock:
            if not self.alive or self.ahead is None:
                return False
            return self._send(("quick-plan", first_called, interruptible, embedded_addresses()))

    def take_quick(self, index: int, interruptible: bool) -> tuple[bytes, int, dict[int, int]] | None:
        """Function ``index``'s quick code if the worker made it ahead: its code, its OSR door's offset and its
        loops (as ``quick.compile_with_door`` returns them); None: compile it here (then ``skip_quick``)."""
        ahead = self.ahead
        return None if ahead is None else ahead.take(index, interruptible)

    def quick_size(self, index: int, interruptible: bool) -> int | None:
        """The instructions of function ``index`` if the worker made its quick code ahead (and so found it one
        that starts on quick code: ``tiers.starts_on_quick_code``), else None; the body need not be decoded."""
        ahead = self.ahead
        return None if ahead is None else ahead.size(index, interruptible)

    def skip_quick(self, index: int, interruptible: bool) -> None:
        """Function ``index`` was compiled here: the worker need not make it ahead."""
        with self.lock:
            if self.alive and self.ahead is not None:
                self._send(("quick-skip", index, interruptible, 0))

    def prioritize(self, kind: str, index: int, interruptible: bool, priority: float) -> None:
        """A waiting function got hotter: the worker should take it sooner."""
        with self.lock:
            if self.alive and (kind, index, interruptible) in self.waiting:
                self._send((kind, index, interruptible, priority))

    def _send(self, frame: tuple[str, int, bool, Any]) -> bool:
        try:
            _write_frame(self.requests, frame)
            return True
        except OSError:
            self.alive = False
            return False

    def _receive(self) -> None:
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
        except (EOFError, OSError, ValueError, TypeError):
            pass
        finally:
            with self.lock:
                self.alive = False
                self.waiting.clear()
            self._reap(block=True)  # the replies ended: the worker has exited, or is about to

    def close(self) -> None:
        """Stop the worker now: what it was making is no longer wanted (a compilation in progress
        may take seconds; its cache file is written atomically, or not at all)."""
        self.detach()
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
        elif self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except OSError:
                pass
            self._reap(block=False)

    def _reap(self, block: bool) -> None:
        """Collect a forked worker's exit status (a forked child is ours to wait for)."""
        pid = self.pid
        if not pid:
            return
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            self.pid = 0

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
    """A started worker (``python -m wasmbox.engines.translation_worker``): decode the module it is
    sent, then serve it over stdin and stdout."""
    from ..binary.decode import decode_module
    from ..ir.legacy_exceptions import engine_view

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    data, features = _read_frame(requests)
    decoded = decode_module(data, frozenset(features), lazy=True)
    decoded.binary = data
    serve_module(engine_view(decoded), requests, replies)  # as the main process's engines see it: legacy try lowered


def serve_module(module: Any, requests: IO[bytes], replies: IO[bytes], ahead: _AheadSender | None = None) -> None:
    """The worker's loop: make the most wanted pending function of ``module``, until the requests end
    and the code cache's work is done.  With nothing pending, a forked worker (``ahead``: its pipe for
    quick code) compiles the functions of a plan (``TranslationWorker.plan_quick``) before idle work."""
    from . import translation_cache
    from .interp import translation

    func_types = module.func_types()
    pending: dict[Key, float] = {}
    done: set[Key] = set()
    stubs_sent: set[bool] = set()
    ready = threading.Condition()
    finished = False
    plans: list[tuple[int, bool]] = []  # (first called function, interruptible) asked for
    plan: tuple[FirstCallOrder, bool] | None = None
    skipped: list[tuple[int, bool]] = []  # compiled by the program itself, not yet told to the plan

    def read_requests() -> None:
        nonlocal finished
        try:
            while True:
                kind, index, interruptible, priority = _read_frame(requests)
                if kind == "quick-skip":
                    skipped.append((index, interruptible))
                    continue
                if kind == "quick-plan":
                    if ahead is not None and priority == _embedded_addresses():  # (the program's, see plan_quick)
                        with ready:
                            plans.append((index, interruptible))
                            ready.notify()
                    continue
                # (A batch, see TranslationWorker.request_all: ("<kind>*", -1, interruptible, [[index, priority]...]).)
                wanted = [(index, priority)] if not kind.endswith("*") else [tuple(item) for item in priority]
                kind = kind.rstrip("*")
                with ready:
                    for index, priority in wanted:
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
            if plans:
                plan = _quick_plan(module, *plans.pop())
            if finished:
                plan = None  # the program has ended: it takes no more code
            if ahead is not None:
                ahead.flush()
            paused = ahead is not None and bool(ahead.outgoing)  # (the pipe is full: see _AheadSender)
            if not pending and not finished and (plan is None or paused):
                ready.wait(timeout=0.02 if paused else 0.5 if idle_work or cache_work else None)
            ahead_now = False
            if pending:
                key = max(pending, key=pending.__getitem__)
                del pending[key]
                done.add(key)
            elif plan is not None and not paused:
                key, ahead_now = None, True
            elif plan is not None:
                continue
            elif finished and not cache_work:
                return
            elif idle_work or cache_work:
                key = None
            else:
                continue
        if ahead_now:
            assert plan is not None and ahead is not None
            if not _make_ahead(module, plan, skipped, ahead):
                plan = None
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
                from .native.engine import module_object_for_cache
                from .tiers import unwieldy

                if not unwieldy(module):  # (a function LLVM would take minutes over: the module stays tiered)
                    cache_work.append(functools.partial(module_object_for_cache, module, interruptible))
                reply = (*key, None, None)
            elif kind == "module":  # a small module's whole machine code (see native.WholeModuleTier)
                from .native.engine import QUICK, module_object, module_object_for_cache

                # Quick code now, so the program reaches machine code soon; fully optimised code
                # for the code cache when idle (or after the program ended), so the next run starts
                # on it.
                reply = (*key, module_object(module, interruptible, QUICK), QUICK)
                cache_work.append(functools.partial(module_object_for_cache, module, interruptible))
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


def _embedded_addresses() -> list[int] | None:
    try:
        from .native.quick import embedded_addresses

        return embedded_addresses()
    except Exception:  # noqa: BLE001 - no quick compiler here: no plan
        return None


def _quick_plan(module: Any, first_called: int, interruptible: bool) -> tuple[FirstCallOrder, bool]:
    """The functions to compile ahead, in order: as many as the program starts on quick code at most (the
    rest of a huge module's would only fill the program's memory)."""
    from .native.quick_ahead import FirstCallOrder
    from .tiers import QUICK_AT_FIRST_CALL_AT_MOST, starts_on_quick_code

    wanted = functools.partial(starts_on_quick_code, module)
    return FirstCallOrder(module, first_called, wanted, QUICK_AT_FIRST_CALL_AT_MOST), interruptible


def _make_ahead(
    module: Any, plan: tuple[FirstCallOrder, bool], skipped: list[tuple[int, bool]], ahead: _AheadSender
) -> bool:
    """Compile the plan's next function the program has not compiled itself and send it; False when the plan
    is over (every function made, or the program gone)."""
    from .native.quick import compile_with_door

    order, interruptible = plan
    while skipped:
        index, of = skipped.pop(0)
        if of == interruptible:
            order.program_at(index)
    for index in order:
        try:
            code, door, loops = compile_with_door(module, index, interruptible)
        except Exception:  # noqa: BLE001, S112 - the quick compiler does not take it: the program finds out too
            continue
        size = len(module.funcs[index - module.num_imported_funcs()].body)
        return ahead.send((index, interruptible, code, door, loops, size))
    return False


class _AheadSender:
    """The worker's end of the pipe of code made ahead, written without waiting.

    The program reads the pipe only when it is about to compile a function; one
    that runs a long loop and calls nothing new leaves it full.  A worker that
    waited there could serve nothing else (a hot function's LLVM code, the code
    cache's work at exit), so what does not fit stays queued here, the plan
    pauses while anything is queued, and the worker's loop writes it as room
    comes (``flush``), serving requests meanwhile."""

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor
        os.set_blocking(descriptor, False)
        self.outgoing = bytearray()

    def send(self, frame: tuple[Any, ...]) -> bool:
        """Queue ``frame`` and write what fits; False when the program is gone."""
        data = marshal.dumps(frame)
        self.outgoing += struct.pack("<I", len(data)) + data
        return self.flush()

    def flush(self) -> bool:
        """Write what is queued, as far as it fits; False when the program is gone."""
        while self.outgoing:
            try:
                written = os.write(self.descriptor, self.outgoing)
            except BlockingIOError:
                return True
            except OSError:
                self.outgoing.clear()
                return False
            del self.outgoing[:written]
        return True


def _ahead_pipe() -> tuple[int, int]:
    """A pipe for code made ahead, as large as Linux lets it be (1 MiB unprivileged, against 64 KiB): the
    worker can be that far ahead before it waits for the program to read."""
    read, write = os.pipe()
    try:
        import fcntl

        fcntl.fcntl(write, 1031, 1 << 20)  # F_SETPIPE_SZ
    except (ImportError, OSError):
        pass
    os.set_blocking(read, False)
    return read, write


class _AheadCode:
    """The program's end of the pipe of code made ahead: frames as ``_write_frame`` writes them, read
    without waiting whenever a function is about to be compiled (one system call: no thread, so none
    waits for the interpreter's lock to hand a function over)."""

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor
        self.buffer = bytearray()
        self.made: dict[tuple[int, bool], tuple[bytes, int, dict[int, int]]] = {}
        self.sizes: dict[tuple[int, bool], int] = {}  # (of the functions in ``made``: their instructions)
        self.lock = threading.Lock()
        self.open = True

    def take(self, index: int, interruptible: bool) -> tuple[bytes, int, dict[int, int]] | None:
        with self.lock:
            self._drain()
            self.sizes.pop((index, interruptible), None)
            return self.made.pop((index, interruptible), None)

    def size(self, index: int, interruptible: bool) -> int | None:
        """The instructions of function ``index`` if its code is here (untaken), else None."""
        with self.lock:
            self._drain()
            return self.sizes.get((index, interruptible))

    def _drain(self) -> None:
        while self.open:
            try:
                chunk = os.read(self.descriptor, 1 << 20)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:  # the worker has exited
                self.open = False
                os.close(self.descriptor)
                break
            self.buffer += chunk
        buffer, start = self.buffer, 0
        while len(buffer) - start >= 4:
            (size,) = struct.unpack_from("<I", buffer, start)
            if len(buffer) - start - 4 < size:
                break
            index, interruptible, code, door, loops, instructions = marshal.loads(buffer[start + 4 : start + 4 + size])
            self.made[(index, interruptible)] = (code, door, loops)
            self.sizes[(index, interruptible)] = instructions
            start += 4 + size
        del buffer[:start]


# Threads a worker may be forked beside: they hold no lock the worker could need (the Ctrl-C watcher
# only ever waits on its pipe).  Any other thread might be inside an import, LLVM or an allocator's
# lock at the moment of the fork, and the copy would wait for it forever.
_FORK_SAFE_THREADS = frozenset({"wasmbox-sigint"})


def _fork_is_safe() -> bool:
    """Whether this process may fork its worker: Linux, the main thread, no other thread but idle
    ones of ours.  ``WASMBOX_WORKER_START=spawn`` always starts a fresh interpreter."""
    if sys.platform != "linux" or os.environ.get("WASMBOX_WORKER_START", "fork") != "fork":
        return False
    current = threading.current_thread()
    if current is not threading.main_thread():
        return False
    return all(thread is current or thread.name in _FORK_SAFE_THREADS for thread in threading.enumerate())


def _become_worker(keep: tuple[int, ...]) -> None:
    """In a forked worker: let go of everything the program had open but ``keep``, and take Ctrl-C as
    a started worker does (it ends the worker)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    # The program's stdio objects stay referenced (and so never finalized): their buffers may hold the
    # program's output, which only the program may write.
    _inherited.extend((sys.stdin, sys.stdout, sys.stderr))
    null = os.open(os.devnull, os.O_RDWR)
    for name in os.listdir("/proc/self/fd"):
        descriptor = int(name)
        if descriptor not in keep and descriptor != null:
            try:
                os.dup2(null, descriptor)  # (not closed: a file object of the program still owns the number)
            except OSError:
                continue
    os.close(null)


_inherited: list[Any] = []


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
