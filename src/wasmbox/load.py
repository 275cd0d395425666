"""Reading a module from a file or bytes, whichever format it is in."""

from __future__ import annotations

import os

from .binary.decode import MAGIC, decode_module
from .errors import MalformedError
from .ir.instructions import DEFAULT_FEATURES
from .ir.module import Module


def is_binary(data: bytes) -> bool:
    return data[:4] == MAGIC


def load_module(
    source: bytes | str, name: str | None = None, lazy: bool = False, features: frozenset[str] = DEFAULT_FEATURES
) -> Module:
    """Decode a binary module or parse a text one (not validated).

    Errors carry ``name`` so messages say which file was wrong.  ``lazy``
    leaves a binary's function bodies undecoded until used (for callers that
    validate at once: see ``decode_module``).  ``features``: what the module
    may use (see ``wasmbox.features``); it is recorded as ``Module.features``,
    which the validator goes by.
    """
    if isinstance(source, bytes) and is_binary(source):
        try:
            module = decode_module(source, features, lazy=lazy)
        except MalformedError as e:
            e.source = name
            raise MalformedError(e.message, offset=e.offset, source=name) from None
        module.binary = source
    else:
        from .text.parser import parse_module_text  # only text needs the parser

        if isinstance(source, bytes):
            source = _as_text(source, name)
        module = parse_module_text(source, name, features)
    module.source_name = name
    return module


def load_module_file(path: str | os.PathLike[str], features: frozenset[str] = DEFAULT_FEATURES) -> Module:
    """``load_module`` of a file's bytes, errors naming the file (not validated)."""
    with open(path, "rb") as stream:
        data = stream.read()
    return load_module(data, os.fspath(path), features=features)


def _as_text(data: bytes, name: str | None) -> str:
    """Bytes without the binary header are text, if they can be: an empty input or bytes that are not
    UTF-8 text are no module at all (not a text module with an odd first character)."""
    if not data.strip():
        raise MalformedError("empty input: not a WebAssembly module", source=name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\0" in text:
        raise MalformedError("not a WebAssembly module: no binary header (\\0asm) and not UTF-8 text", source=name)
    return text
