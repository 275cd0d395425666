"""WASI 0.2 for components: the host interfaces (``WasiHost``) and running command components.

The preview-1 layer (``wasmbox.wasi``) serves core modules; this one serves components, sharing its
capability rules and path resolution.
"""

from __future__ import annotations

from .host import WasiHost, run_command

__all__ = ["WasiHost", "run_command"]
