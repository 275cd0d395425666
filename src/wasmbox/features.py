"""Feature switches: which WebAssembly proposals a module may use, as wasmtime's ``Config`` flags
choose them (``wasm_exceptions``, ``wasm_extended_const``, ...).

A feature set is a frozenset of proposal names (``ir/instructions.py`` names each instruction's
feature).  The decoder and the text parser know only the instructions, types and sections of the
set they are given, and the validator accepts what the set the module was read with allows
(``Module.features``).  ``Module(..., features=...)``, ``Module.validate``, ``Module.from_file`` and
the command line's ``--features`` take a set by one of these names, or the names of its features.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from .ir.instructions import ALL_FEATURES, WASM_2_0

# The feature sets by name: "2.0" (the WebAssembly 2.0 standard) and "all" (every feature
# wasmbox implements: 2.0 and the Wasm 3.0 proposals done so far; the default).
FEATURES = MappingProxyType({"2.0": WASM_2_0, "all": ALL_FEATURES})
FeatureChoice = str | Iterable[str]


def feature_set(choice: FeatureChoice) -> frozenset[str]:
    """The features ``choice`` names: ``"2.0"``, ``"all"``, or an iterable of feature names (the
    whole set, e.g. ``WASM_2_0 | {"exceptions"}``).  ``ValueError`` for a name wasmbox does not
    know, naming it and listing the ones it knows."""
    if isinstance(choice, str):
        chosen = FEATURES.get(choice)
        if chosen is None:
            raise ValueError(
                f"unknown feature set {choice!r}: give {' or '.join(map(repr, FEATURES))}, "
                f"or an iterable of feature names ({', '.join(sorted(ALL_FEATURES))})"
            )
        return chosen
    names = frozenset(choice)
    unknown = names - ALL_FEATURES
    if unknown:
        raise ValueError(
            f"unknown feature{'s' if len(unknown) > 1 else ''} {', '.join(sorted(map(repr, unknown)))}; "
            f"known: {', '.join(sorted(ALL_FEATURES))}"
        )
    return names
