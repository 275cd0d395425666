"""Ctrl-C that stops a running guest, whichever engine runs it.

Python runs a SIGINT handler only between bytecodes of the main thread, and
machine code in a loop executes none: the handler would wait for the loop to
end.  So while a guest runs, ``StopOnSigint`` has the signal's C-level
handler write to a pipe (``signal.set_wakeup_fd``), and a thread blocked on
that pipe wakes at once and sets the store's stop flag, which every engine
polls at loop headers and function entries: the call ends in a
``Trap("interrupted")`` within milliseconds.  A second Ctrl-C, for a guest
stuck somewhere that does not poll, raises ``KeyboardInterrupt`` as usual.

Signals are only handled on the main thread; elsewhere this does nothing.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any

INTERRUPTED = "interrupted"


class StopOnSigint:
    """While active, SIGINT interrupts ``store`` (a ``wasmbox.Store`` made with ``interruptible=True``)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.interrupted = False
        self._handled = 0  # SIGINTs Python's handler has seen (the watcher may have acted on the first)
        self._active = False

    def __enter__(self) -> StopOnSigint:
        if threading.current_thread() is not threading.main_thread():
            return self
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        try:
            self._previous_wakeup = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        except ValueError:
            os.close(self._read)
            os.close(self._write)
            return self
        self._previous_handler = signal.signal(signal.SIGINT, self._handle)
        self._watcher = threading.Thread(target=self._watch, name="wasmbox-sigint", daemon=True)
        self._watcher.start()
        self._active = True
        return self

    def _stop(self) -> None:
        self.interrupted = True
        self.store.sandbox.interrupt(INTERRUPTED)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._handled += 1
        if self._handled > 1:
            raise KeyboardInterrupt  # the second Ctrl-C: the guest did not stop
        self._stop()

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data:
                self._stop()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if not self._active:
            return
        signal.signal(signal.SIGINT, self._previous_handler)
        signal.set_wakeup_fd(self._previous_wakeup)
        os.close(self._write)  # the watcher reads end-of-file and ends
        self._watcher.join(timeout=1)
        os.close(self._read)
        self._active = False
