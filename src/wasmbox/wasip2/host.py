"""A WASI 0.2 host: ``wasi:cli``, ``wasi:clocks``, ``wasi:random``, ``wasi:io``, ``wasi:filesystem``, ``wasi:http``.

``WasiHost(args=..., env=..., preopens=...)`` makes the instances a component imports; ``imports_for``
matches a component's import names to them at any 0.2.x version (WASI promises that a 0.2 minor release only
adds), and ``run_command`` runs a command component's ``wasi:cli/run`` export, turning ``exit`` into
``WasiExit``. ``wasi:sockets`` (``sockets.py``) reaches only what ``network`` (a ``NetworkPolicy``) allows, and
outgoing ``wasi:http`` (``http.py``) only the authorities listed in ``allow_http``: nothing by default.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

from ..canonical_abi.values import Err, Ok
from ..component.api import Component
from ..component.instance import ComponentInstance
from ..errors import LinkError, Trap, WasiExit
from .filesystem import FilesystemHost, filesystem_interfaces
from .http import FutureResponse, IncomingResponse, http_interfaces
from .http_client import HttpPolicy
from .io import InputStream, OutputStream, Pollable, io_interfaces
from .network_policy import NetworkPolicy
from .objects import HostObjects
from .sockets import socket_interfaces
from .sockets_tcp import TcpSocket
from .sockets_udp import UdpSocket

_VERSIONED = re.compile(r"^(wasi:[a-z-]+/[a-z-]+)@0\.2\.(\d+)(?:-[0-9A-Za-z.-]+)?$")
RUN_EXPORT = re.compile(r"^wasi:cli/run@0\.2\.\d+$")


class WasiHost:
    """What one component instance may see: arguments, environment, directories, standard streams, and the
    HTTP authorities it may reach (``allow_http``: ``HOST``, ``HOST:PORT`` or ``*``) and its sockets' policy
    (``network=NetworkPolicy.of(tcp=[...], udp=[...], ip_name_lookup=[...])``): none by default."""

    def __init__(
        self,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        preopens: Sequence[tuple[str, str]] | Sequence[tuple[str, str, bool]] = (),
        stdin: BinaryIO | None = None,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
        allow_http: Sequence[str] = (),
        network: NetworkPolicy | None = None,
    ) -> None:
        self.args = list(args)
        self.env = dict(env or {})
        self.http_policy = HttpPolicy.of(allow_http)
        self.network_policy = network or NetworkPolicy()
        self.objects = HostObjects()
        self.filesystem = FilesystemHost(
            self.objects,
            [(p[0], p[1], bool(p[2]) if len(p) > 2 else True) for p in preopens],  # type: ignore[misc]
        )
        self.stdin = stdin if stdin is not None else sys.stdin.buffer
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        self.stderr = stderr if stderr is not None else sys.stderr.buffer
        self.filesystem.open_preopens()
        self.interfaces = self._interfaces()

    def close(self) -> None:
        """Close the directories, and the sockets and HTTP connections the guest left open."""
        self.filesystem.close()
        for obj in list(self.objects.objects.values()):
            if isinstance(obj, (TcpSocket, UdpSocket, IncomingResponse, FutureResponse)):
                obj.close()

    def _interfaces(self) -> dict[str, Mapping[str, Any]]:
        objects = self.objects
        interfaces: dict[str, Mapping[str, Any]] = dict(io_interfaces(objects))
        interfaces.update(filesystem_interfaces(self.filesystem))
        interfaces.update(socket_interfaces(objects, self.network_policy))
        interfaces.update(http_interfaces(objects, self.http_policy))

        def exit_with(status: Any) -> None:
            raise WasiExit(1 if isinstance(status, Err) else 0)

        def exit_with_code(code: int) -> None:
            raise WasiExit(code)

        start = time.monotonic_ns()

        def subscribe_instant(when: int) -> Any:
            return objects.own("pollable", Pollable(start + when))

        def subscribe_duration(duration: int) -> Any:
            return objects.own("pollable", Pollable(time.monotonic_ns() + duration))

        def wall_now() -> dict[str, int]:
            now = time.time_ns()
            return {"seconds": now // 1_000_000_000, "nanoseconds": now % 1_000_000_000}

        interfaces.update(
            {
                "wasi:cli/environment": {
                    "get-environment": lambda: list(self.env.items()),
                    "get-arguments": lambda: list(self.args),
                    "initial-cwd": lambda: None,
                },
                "wasi:cli/exit": {"exit": exit_with, "exit-with-code": exit_with_code},
                "wasi:cli/stdin": {"get-stdin": lambda: objects.own("input-stream", InputStream(self.stdin))},
                "wasi:cli/stdout": {"get-stdout": lambda: objects.own("output-stream", OutputStream(self.stdout))},
                "wasi:cli/stderr": {"get-stderr": lambda: objects.own("output-stream", OutputStream(self.stderr))},
                "wasi:cli/terminal-input": {"terminal-input": objects.types["terminal-input"]},
                "wasi:cli/terminal-output": {"terminal-output": objects.types["terminal-output"]},
                "wasi:cli/terminal-stdin": {"get-terminal-stdin": lambda: None},
                "wasi:cli/terminal-stdout": {"get-terminal-stdout": lambda: None},
                "wasi:cli/terminal-stderr": {"get-terminal-stderr": lambda: None},
                "wasi:clocks/wall-clock": {
                    "now": wall_now,
                    "resolution": lambda: {"seconds": 0, "nanoseconds": 1},
                },
                "wasi:clocks/monotonic-clock": {
                    "now": lambda: time.monotonic_ns() - start,
                    "resolution": lambda: 1,
                    "subscribe-instant": subscribe_instant,
                    "subscribe-duration": subscribe_duration,
                },
                "wasi:random/random": {
                    "get-random-bytes": lambda length: secrets.token_bytes(min(length, 1 << 24)),
                    "get-random-u64": lambda: secrets.randbits(64),
                },
                "wasi:random/insecure": {
                    "get-insecure-random-bytes": lambda length: os.urandom(min(length, 1 << 24)),
                    "get-insecure-random-u64": lambda: secrets.randbits(64),
                },
                "wasi:random/insecure-seed": {"insecure-seed": lambda: (secrets.randbits(64), secrets.randbits(64))},
            }
        )
        return interfaces

    def instance(self, import_name: str) -> Mapping[str, Any] | None:
        """The host instance for an import name such as ``wasi:cli/stdout@0.2.3``; None if not provided."""
        match = _VERSIONED.match(import_name)
        if match is None:
            return None
        return self.interfaces.get(match.group(1))

    def imports_for(self, component: Component) -> dict[str, Any]:
        """Every WASI import of ``component``, at the version it names (others are the caller's to add; a
        ``wasi:`` import this host lacks, such as ``wasi:keyvalue``, is a LinkError naming it)."""
        from ..component.ir import ImportSection

        imports: dict[str, Any] = {}
        for section in component.ir.sections:
            if isinstance(section, ImportSection):
                for component_import in section.imports:
                    name = str(component_import.name)
                    provided = self.instance(name)
                    if provided is not None:
                        imports[name] = provided
                    elif name.startswith("wasi:"):
                        raise LinkError(f"component import `{name}` is not provided by wasmbox's WASI 0.2 host")
        return imports


def run_command(component: Component, host: WasiHost) -> int:
    """Instantiate a command component and run its ``wasi:cli/run`` export; the exit status."""
    instance: ComponentInstance = component.instantiate(host.imports_for(component))
    run_names = [name for name in instance.exports if RUN_EXPORT.match(name)]
    if not run_names:
        raise LinkError("the component exports no wasi:cli/run@0.2 instance: it is not a command")
    run = instance.exports[run_names[0]]
    if not isinstance(run, Mapping) or "run" not in run:
        raise LinkError(f"export `{run_names[0]}` has no `run` function")
    try:
        outcome = run["run"].call_values([])
    except WasiExit as exit_:
        return exit_.code
    finally:
        for stream in (host.stdout, host.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    if outcome and isinstance(outcome[0], Err):
        return 1
    if outcome and not isinstance(outcome[0], Ok):
        raise Trap("bad run result", f"wasi:cli/run returned {outcome[0]!r}")
    return 0
