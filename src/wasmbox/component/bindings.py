"""What every generated binding (``wasmbox component bindgen``) shares at run time.

A generated world class derives from ``WorldBindings``: it keeps the component instance, finds exports by path
(``"demo:x/api#[method]counter.add"``), and keeps the Python objects that stand behind resources the *host*
implements. Such a resource crosses into the component as a representation (a small integer the host chose);
the guest hands it back in method calls, and the binding turns it into the object again. When the guest drops
its owning handle, the resource's destructor forgets the object.

Generated code calls these methods; written once here, they are tested once rather than in every output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from .resources import ResourceError, ResourceValue, RuntimeResource


class WorldBindings:
    """The instance behind a generated world class, and the host objects its host-defined resources stand for."""

    def __init__(self) -> None:
        self.instance: Any = None
        self._objects: dict[int, object] = {}
        self._next_rep = 1
        self._lent: list[int] = []
        self._resources: dict[str, RuntimeResource] = {}

    def _instantiate(self, component: Any, imports: Mapping[str, Any], store: Any = None) -> None:
        self.instance = component.instantiate(imports, store)

    def _export(self, path: str) -> Any:
        """The export at ``path``: an interface's items are reached as ``interface#item``."""
        item: Any = self.instance.exports
        for part in path.split("#"):
            item = item[part]
        return item

    def _host_resource(self, key: str, name: str) -> RuntimeResource:
        """The run-time type of a host-implemented resource; dropping a handle of it forgets its object."""
        resource = RuntimeResource(name, destructor=self._forget)
        self._resources[key] = resource
        return resource

    def _own(self, key: str, obj: object) -> ResourceValue:
        """A host object given to the component as an owned handle."""
        rep = self._next_rep
        self._next_rep += 1
        self._objects[rep] = obj
        return ResourceValue(self._resources[key], rep)

    def _lend(self, key: str, obj: object) -> ResourceValue:
        """A host object lent to the component for one call (``borrow``): forgotten when the call returns."""
        value = self._own(key, obj)
        self._lent.append(value.rep)
        return value

    def _end_call(self) -> None:
        for rep in self._lent:
            self._objects.pop(rep, None)
        self._lent.clear()

    def _host_object(self, value: ResourceValue) -> Any:
        """The host object behind a handle the component passed back."""
        try:
            return self._objects[value.rep]
        except KeyError:
            raise TypeError(f"no host object for `{value.resource.name}` handle {value.rep}") from None

    def _forget(self, rep: int) -> None:
        self._objects.pop(rep, None)


class GuestResource:
    """A resource the component implements, held by the host: call its methods; drop it (or use ``with``).

    ``resource_value`` is what crosses back into the component (a handle inside a record or list finds it)."""

    def __init__(self, value: ResourceValue, world: WorldBindings) -> None:
        self._value = value
        self._world = world

    @property
    def resource_value(self) -> ResourceValue:
        """The handle's value, while the host still owns it (not dropped, not passed on as ``own``)."""
        value = self._value
        if not value.resource.held.get(value.rep):
            raise ResourceError(f"{self!r} was dropped or passed on: the host no longer owns it")
        return value

    def drop(self) -> None:
        """Give the handle back: the component's destructor runs."""
        self.resource_value.drop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rep={self._value.rep})"
