"""WASI preview 1: system calls for guests, granted by the host.

Guests see only what ``WasiConfig`` grants: their arguments and environment,
stdio, the clocks and randomness, and the preopened directories and sockets.
Paths resolve beneath a preopen and never outside it (``paths``); every call
answers with the witx's errno values (``abi``).
"""

from .abi import WasiError
from .preview1 import Preopen, WasiConfig, WasiInstance

__all__ = ["Preopen", "WasiConfig", "WasiError", "WasiInstance"]
