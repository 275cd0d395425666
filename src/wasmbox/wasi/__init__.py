"""WASI preview 1: system calls for guests, granted by the host.

This first layer provides what C programs' start-up and stdout need (argv,
``fd_write``, ``fd_fdstat_get``, ``fd_seek``, ``fd_close``, ``proc_exit``);
every other preview-1 function is present and answers ``ENOSYS``.  The full
layer (files with capability-checked preopens, clocks, random, poll) is the
WASI issue.
"""

from .preview1 import WasiConfig, WasiInstance

__all__ = ["WasiConfig", "WasiInstance"]
