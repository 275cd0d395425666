"""WASI 0.2 filesystem rules pinned on the host directly, without a guest: what the escape comparison found."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wasmbox.canonical_abi.values import Err, Ok
from wasmbox.wasip2 import WasiHost


def preopened(tmp_path: Path) -> tuple[WasiHost, dict[str, Any], dict[str, Any]]:
    """A host with a writable ``box`` and a read-only ``ro``; its descriptor methods and the two descriptors."""
    (tmp_path / "box").mkdir()
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "ro.txt").write_text("readonly\n")
    (tmp_path / "outside.txt").write_text("secret\n")
    os.symlink(tmp_path / "outside.txt", tmp_path / "box" / "linkabs")
    os.symlink("../outside.txt", tmp_path / "box" / "linkout")
    host = WasiHost(preopens=[("/box", str(tmp_path / "box"), True), ("/ro", str(tmp_path / "ro"), False)])
    types = host.interfaces["wasi:filesystem/types"]
    methods = {name.removeprefix("[method]descriptor."): f for name, f in types.items() if "descriptor." in name}
    directories = {guest: handle for handle, guest in host.interfaces["wasi:filesystem/preopens"]["get-directories"]()}
    return host, methods, directories


def test_readlink_at_refuses_a_link_holding_an_absolute_host_path(tmp_path: Path) -> None:
    host, methods, directories = preopened(tmp_path)
    try:
        refused = methods["readlink-at"](directories["/box"], "linkabs")
        relative = methods["readlink-at"](directories["/box"], "linkout")
    finally:
        host.close()
    # the contents would tell the guest where the sandbox lives
    assert isinstance(refused, Err) and refused.value == "not-permitted"
    assert isinstance(relative, Ok) and relative.value == "../outside.txt"


def test_link_at_needs_mutate_directory_on_the_source_too(tmp_path: Path) -> None:
    host, methods, directories = preopened(tmp_path)
    try:
        refused = methods["link-at"](directories["/ro"], [], "ro.txt", directories["/box"], "ro_link")
        allowed = methods["link-at"](directories["/box"], [], "linkout", directories["/box"], "second")
    finally:
        host.close()
    # a second name, in a writable directory, for a file the guest may only read
    assert isinstance(refused, Err) and refused.value == "not-permitted"
    assert not (tmp_path / "box" / "ro_link").exists()
    assert isinstance(allowed, Ok) and (tmp_path / "box" / "second").is_symlink()
