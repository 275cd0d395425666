"""The engines a store or a spec script can run on, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .baseline import BaselineEngine
from .interp import InterpEngine
from .native import NativeEngine
from .native import available as native_available
from .tiers import TieredEngine

ENGINE_CLASSES: dict[str, Callable[[], Any]] = {"interp": InterpEngine, "baseline": BaselineEngine}
if native_available():
    ENGINE_CLASSES["native"] = NativeEngine
ENGINE_CLASSES["tiered"] = TieredEngine
# What "auto" picks: tiers (baseline, Python, machine code when llvmlite is there), which start at once.
DEFAULT_ENGINE = "tiered"
