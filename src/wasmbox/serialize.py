"""A module as bytes another process can load at once: ``Module.serialize`` / ``Module.deserialize``.

What a worker process needs to run a module someone else already compiled:
the module's binary (not validated again: the bytes say it was), and the
machine code that exists for it in the process that serialized it, so the
worker does not compile it again.  The format::

    MAGIC | u32 header length | header (JSON) | u64 binary length | binary
          | u32 object count | (u8 interruptible, u64 length, object code)*
          | SHA-256 of everything before it

The header names the format, the wasmbox version, the Python implementation,
the machine architecture and the native engine's version; data made
elsewhere is refused with :class:`SerializationError`, and so is data whose
digest does not match (cut short, or changed).  Machine code also depends on
the CPU and LLVM (``machine`` in the header, and ``host``, what the host
index of ``engines.native.code_cache`` knows it by): that is checked when the
code is first linked, and code for another CPU is dropped there, never run.
A blob made with the same llvmlite on the same CPU (same ``host``) is linked
without loading LLVM at all (the object loader links it), so a worker
process's first call costs no LLVM import, even with an empty code cache.
Like wasmtime's, deserializing trusts the data it is given beyond these
checks: give it only bytes your own processes made.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys

from .errors import SerializationError
from .ir.instructions import ALL_FEATURES
from .ir.module import Module

MAGIC = b"wasmbox-serialized-module\n"
FORMAT = 1
_DIGEST = 32


def _identity() -> dict[str, object]:
    from . import __version__
    from .engines.native.engine import engine_version

    return {
        "format": FORMAT,
        "wasmbox": __version__,
        "python": sys.implementation.cache_tag,
        "arch": os.uname().machine,
        "engine": engine_version(),
    }


def serialize(module: Module, name: str | None) -> bytes:
    from .binary.encode import encode_module
    from .engines.native import available

    binary = module.binary if module.binary is not None else encode_module(module)
    objects: list[tuple[bool, bytes]] = []
    header: dict[str, object] = {**_identity(), "name": name, "features": sorted(module.features)}
    if available():
        from .engines.native.code_cache import host_key
        from .engines.native.engine import machine_fingerprint, object_code

        for interruptible in (False, True):
            data = object_code(module, interruptible)
            if data is not None:
                objects.append((interruptible, data))
        if objects:
            header["machine"] = machine_fingerprint()
            header["host"] = host_key()
            header["guard_pages"] = _guard_pages()
    encoded_header = json.dumps(header, sort_keys=True).encode()
    parts = [MAGIC, struct.pack("<I", len(encoded_header)), encoded_header, struct.pack("<Q", len(binary)), binary]
    parts.append(struct.pack("<I", len(objects)))
    for interruptible, data in objects:
        parts.append(struct.pack("<BQ", interruptible, len(data)))
        parts.append(data)
    body = b"".join(parts)
    return body + hashlib.sha256(body).digest()


def deserialize(data: bytes | bytearray | memoryview) -> tuple[Module, str | None]:
    """The module (and its name) in bytes ``serialize`` made; its machine code, if any, is handed to
    the native engine for when it first runs."""
    data = bytes(data)
    if not data.startswith(MAGIC):
        raise SerializationError("not a serialized wasmbox module (bad magic)")
    if len(data) < len(MAGIC) + 4 + _DIGEST:
        raise SerializationError("serialized module is truncated")
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        raise SerializationError("serialized module is damaged or was changed (digest mismatch)")
    try:
        at = len(MAGIC)
        (size,) = struct.unpack_from("<I", body, at)
        at += 4
        header = json.loads(body[at : at + size])
        at += size
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        _check_identity(header)
        (size,) = struct.unpack_from("<Q", body, at)
        at += 8
        binary = body[at : at + size]
        at += size
        (count,) = struct.unpack_from("<I", body, at)
        at += 4
        objects = []
        for _ in range(count):
            interruptible, size = struct.unpack_from("<BQ", body, at)
            at += 9
            objects.append((bool(interruptible), body[at : at + size]))
            at += size
        if at != len(body) or len(binary) == 0:
            raise ValueError("sizes do not add up")
    except (struct.error, ValueError, UnicodeDecodeError) as error:
        raise SerializationError(f"serialized module is malformed: {error}") from None
    from .binary.decode import decode_module

    recorded = header.get("features")  # every header this version writes has them; all features otherwise
    features = frozenset(recorded) if isinstance(recorded, list) else ALL_FEATURES
    name = header.get("name")
    module = decode_module(binary, features, lazy=True)
    module.binary = binary
    module.source_name = name
    # Code that leaves bounds to guard pages runs only where memories have them, and code that tests
    # them is not what this process would make: either way, code made the other way is compiled again.
    if objects and header.get("guard_pages", False) == _guard_pages():
        from .engines.native import available

        if available():
            from .engines.native.engine import adopt_checked

            host = header.get("host")
            for interruptible, code in objects:
                adopt_checked(
                    module, interruptible, code, str(header.get("machine")), host if isinstance(host, str) else None
                )
    return module, name


def _guard_pages() -> bool:
    from .runtime import guards

    return guards.enabled()


def _check_identity(header: dict[str, object]) -> None:
    expected = _identity()
    for key, what in (
        ("format", "format"),
        ("wasmbox", "wasmbox version"),
        ("python", "Python"),
        ("arch", "machine architecture"),
        ("engine", "native engine version"),
    ):
        if header.get(key) != expected[key]:
            raise SerializationError(
                f"serialized module was made for another {what} ({header.get(key)!r}, this is {expected[key]!r})"
            )
