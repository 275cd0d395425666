"""The Component Model's canonical ABI: component values to and from a core module's memory and flat values.

``shapes.shape_of(type)`` lays a value type out (alignment, size, flat core types); ``codec`` lifts and lowers
values with the checks CanonicalABI.md makes; ``values`` is the Python side of every value.
"""

from __future__ import annotations

from .codec import AbiContext, lift_flat, lift_values, load, lower_flat, lower_values, store
from .shapes import MAX_FLAT_PARAMS, MAX_FLAT_RESULTS, Shape, ShapeError, shape_of
from .values import Err, Ok, Record, Some, Variant

__all__ = [
    "AbiContext",
    "Err",
    "MAX_FLAT_PARAMS",
    "MAX_FLAT_RESULTS",
    "Ok",
    "Record",
    "Shape",
    "ShapeError",
    "Some",
    "Variant",
    "lift_flat",
    "lift_values",
    "load",
    "lower_flat",
    "lower_values",
    "shape_of",
    "store",
]
