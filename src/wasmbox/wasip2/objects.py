"""Host objects behind WASI 0.2's resources: one table per host, one resource type per WIT resource.

A guest holds a handle; the handle's representation is an index into this table, and the resource's
destructor (run when the guest drops its owning handle) removes the object. Every function that takes a
resource looks its object up by kind, so a handle of one kind never reaches code for another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..canonical_abi.values import Err
from ..component.resources import ResourceValue, RuntimeResource
from ..errors import Trap

T = TypeVar("T")

RESOURCE_NAMES = (
    "error",
    "pollable",
    "input-stream",
    "output-stream",
    "descriptor",
    "directory-entry-stream",
    "terminal-input",
    "terminal-output",
)


class HostObjects:
    """The host's objects by representation, and the resource type of each WIT resource."""

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}
        self.next_rep = 1
        self.types = {name: RuntimeResource(name, None, self.drop) for name in RESOURCE_NAMES}

    def add_type(self, name: str) -> RuntimeResource:
        """The resource type ``name``, made on first use (for interfaces beyond the core set)."""
        if name not in self.types:
            self.types[name] = RuntimeResource(name, None, self.drop)
        return self.types[name]

    def drop(self, rep: int) -> None:
        self.objects.pop(rep, None)

    def own(self, kind: str, obj: Any) -> ResourceValue:
        """A new resource value of ``kind`` for ``obj`` (the guest receives it as an owning handle)."""
        rep = self.next_rep
        self.next_rep += 1
        self.objects[rep] = obj
        return ResourceValue(self.types[kind], rep)

    def get(self, kind: str, value: Any, expected: type[T]) -> T:
        """The object a resource value stands for, checked to be of ``kind``."""
        if not isinstance(value, ResourceValue) or value.resource is not self.types[kind]:
            raise Trap("handle type mismatch", f"expected a {kind} resource, got {value!r}")
        obj = self.objects.get(value.rep)
        if not isinstance(obj, expected):
            raise Trap("unknown handle", f"the {kind} resource {value.rep} no longer exists")
        return obj


def with_typed_errors(interface: str, functions: dict[str, Any]) -> dict[str, Any]:
    """``functions`` (resource types pass through), each reporting a host failure nothing mapped to an
    ``error-code`` as a Trap naming the interface and function, never as a raw Python exception."""

    def guard(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            try:
                return function(*args)
            except (Trap, Err):
                raise
            except (OSError, ValueError, LookupError, TypeError) as error:
                raise Trap("host failure", f"{interface} `{name}`: {type(error).__name__}: {error}") from error

        return call

    return {
        name: value if isinstance(value, RuntimeResource) or not callable(value) else guard(name, value)
        for name, value in functions.items()
    }
