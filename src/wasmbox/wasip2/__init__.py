"""WASI 0.2 for components: the host interfaces (``WasiHost``) and running command components.

The preview-1 layer (``wasmbox.wasi``) serves core modules; this one serves components, sharing its
capability rules and path resolution.
"""

from __future__ import annotations

from .host import WasiHost, run_command
from .network_policy import NetworkPolicy

__all__ = ["NetworkPolicy", "WasiHost", "run_command"]
