"""Resources at run time (CanonicalABI.md, "Table State", "Resource State", ``resource.new/drop/rep``).

Each component instance has a table of handles: index 0 is reserved, freed slots are reused first, and at most
2^28 - 1 entries exist. A handle is owning or borrowed; an owning handle lent out (as a ``borrow`` argument of a
call in progress) cannot be dropped or passed on, and a borrowed handle must be dropped before the call that
received it returns. Resource types are compared by identity: every instantiation of a component defines its
resources anew.

A resource crosses into Python as a ``ResourceValue`` (its type and representation), the value the host keeps
and hands back; handles stay inside each instance's table. The host holding an owned value of a guest-defined
resource is the handle's owner: it passes it on (as ``own``) once, or drops it (``ResourceValue.drop``, which runs
the defining instance's destructor). Each such resource counts the representations the host holds, so a value
passed on twice, dropped twice, or dropped after it was passed on is refused rather than handed to the guest.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import Trap
from ..wit.model import Resource, TypeDef

_Entry = TypeVar("_Entry")

MAX_TABLE_LENGTH = (1 << 28) - 1


class RuntimeResource:
    """A resource type as instantiated: defined by a component instance (``owner``) or by the host."""

    def __init__(
        self,
        name: str,
        owner: object | None = None,
        destructor: Callable[[int], None] | None = None,
        host_drop: Callable[[int], None] | None = None,
    ):
        self.name = name
        self.owner = owner
        self.destructor = destructor
        # Guest-defined resources: how the host's drop enters the owner (its reentrance checks), and which
        # representations the host holds owning handles of (rep -> how many).
        self.host_drop = host_drop
        self.held: dict[int, int] = {}
        self.typedef = TypeDef(Resource(), name)
        _RESOURCE_OF_TYPEDEF[self.typedef] = self

    def host_receives(self, rep: int) -> None:
        """An owning handle of a guest-defined resource left a component for the host."""
        if self.owner is not None:
            self.held[rep] = self.held.get(rep, 0) + 1

    def host_lends(self, value: ResourceValue) -> None:
        """The host lends a value as a ``borrow``: it must hold the guest-defined resource (or have been lent it)."""
        if self.owner is not None and not value.borrowed and not self.held.get(value.rep):
            raise ResourceError(
                f"the host holds no owned `{self.name}` with representation {value.rep} to lend: "
                "it was dropped or passed on"
            )

    def host_releases(self, rep: int) -> None:
        """The host gives up an owning handle (passing it on or dropping it): it must hold one."""
        if self.owner is None:
            return
        count = self.held.get(rep, 0)
        if not count:
            raise ResourceError(
                f"the host holds no owned `{self.name}` with representation {rep}: it was dropped or passed on"
            )
        if count == 1:
            del self.held[rep]
        else:
            self.held[rep] = count - 1

    def __repr__(self) -> str:
        return f"RuntimeResource({self.name})"


_RESOURCE_OF_TYPEDEF: weakref.WeakKeyDictionary[TypeDef, RuntimeResource] = weakref.WeakKeyDictionary()


def runtime_resource(typedef: TypeDef) -> RuntimeResource:
    """The run-time resource a resource TypeDef stands for (through aliases)."""
    target = typedef.dealias()
    resource = _RESOURCE_OF_TYPEDEF.get(target) if isinstance(target, TypeDef) else None
    if resource is None:
        raise Trap("unknown resource", f"canonical ABI: `{typedef.name}` is not a resource type of this store")
    return resource


class ResourceError(TypeError):
    """The host used a resource value it does not own (passed on or dropped already)."""


@dataclass(frozen=True)
class ResourceValue:
    """A resource as Python holds it: which resource type, and the representation its implementer chose."""

    resource: RuntimeResource
    rep: int
    # Lifted from a ``borrow`` (lent to the host for one call): not the host's to drop, but it may lend it on.
    borrowed: bool = field(default=False, compare=False)

    def drop(self) -> None:
        """Drop an owned resource: its destructor runs (a guest's in its instance, a host's as given).

        Only a value the host owns can be dropped: one returned as ``own`` by a component (once), or one the host
        made for a resource it defined."""
        resource = self.resource
        resource.host_releases(self.rep)
        if resource.host_drop is not None:
            resource.host_drop(self.rep)
        elif resource.destructor is not None:
            resource.destructor(self.rep)


@dataclass(eq=False)
class ResourceHandle:
    resource: RuntimeResource
    rep: int
    own: bool
    scope: CallScope | None = None  # the call that received a borrowed handle
    lends: int = 0  # borrows of this owning handle lent to calls in progress


@dataclass(eq=False)
class CallScope:
    """One call into a component instance: the borrows it received and the caller's handles it was lent."""

    borrows: int = 0
    lenders: list[ResourceHandle] = field(default_factory=list)

    def finish(self) -> None:
        """End of the call: every received borrow must be dropped; lent handles become free again."""
        for handle in self.lenders:
            handle.lends -= 1
        self.lenders.clear()
        if self.borrows:
            raise Trap("borrow handles remain", "borrow handles still remain at the end of the call")


class HandleTable:
    """A component instance's handles: resource handles, and (CanonicalABI.md, "Table State") the waitables,
    waitable sets and error contexts of the async ABI, which share the one index space."""

    def __init__(self) -> None:
        self.entries: list[object | None] = [None]
        self.free: list[int] = []

    def entry(self, index: int) -> object:
        """Whatever is at ``index`` (trapping on an empty slot)."""
        if not 0 <= index < len(self.entries) or self.entries[index] is None:
            raise Trap("unknown handle", f"unknown handle index {index}")
        entry = self.entries[index]
        assert entry is not None
        return entry

    def entry_of(self, index: int, kind: type[_Entry], what: str) -> _Entry:
        """The entry at ``index`` if it is a ``kind``; else a trap naming ``what``."""
        entry = self.entry(index)
        if not isinstance(entry, kind):
            raise Trap(f"not a {what}", f"handle index {index} is not a {what}")
        return entry

    def get(self, index: int) -> ResourceHandle:
        """The resource handle at ``index`` (trapping on an empty slot or another kind of entry)."""
        entry = self.entry(index)
        if not isinstance(entry, ResourceHandle):
            raise Trap("unknown handle", f"handle index {index} is not a resource handle")
        return entry

    def add(self, handle: object) -> int:
        if self.free:
            index = self.free.pop()
            self.entries[index] = handle
            return index
        index = len(self.entries)
        if index > MAX_TABLE_LENGTH:
            raise Trap("handle table full", "the instance's handle table is full")
        self.entries.append(handle)
        return index

    def remove(self, index: int) -> object:
        handle = self.entry(index)
        self.entries[index] = None
        self.free.append(index)
        return handle

    def __len__(self) -> int:
        return sum(entry is not None for entry in self.entries)


def check_handle(handle: ResourceHandle, resource: RuntimeResource, index: int) -> None:
    """Trap unless the handle is of ``resource`` (wasmtime's wording, which the component tests expect)."""
    if handle.resource is not resource:
        expected = "guest-defined" if resource.owner is not None else "host-defined"
        found = "guest-defined" if handle.resource.owner is not None else "host-defined"
        found = f"a different {found}" if found == expected else found
        raise Trap(
            "handle type mismatch",
            f"handle index {index} used with the wrong type, expected {expected} resource but found {found} resource",
        )


def resource_new(table: HandleTable, resource: RuntimeResource, rep: int) -> int:
    return table.add(ResourceHandle(resource, rep, own=True))


def resource_rep(table: HandleTable, resource: RuntimeResource, index: int) -> int:
    handle = table.get(index)
    check_handle(handle, resource, index)
    return handle.rep


def resource_drop(table: HandleTable, resource: RuntimeResource, index: int) -> None:
    """Drop a handle: an owning one runs the resource's destructor; a borrowed one ends its loan."""
    handle = table.get(index)
    check_handle(handle, resource, index)
    if handle.lends:
        raise Trap("resource has borrows", "cannot remove owned resource while borrowed")
    table.remove(index)
    if handle.own:
        if resource.destructor is not None:
            resource.destructor(handle.rep)
    elif handle.scope is not None:
        handle.scope.borrows -= 1
