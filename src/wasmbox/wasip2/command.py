"""``wasmbox run COMPONENT``: run a command component, or ``--invoke`` one of a component's exports.

The options are the preview-1 ones (``--dir``, ``--ro-dir``, ``--env``), ``--allow-http HOST[:PORT]`` (the
authorities outgoing ``wasi:http`` may reach) and ``--allow-tcp``/``--allow-udp ADDR[/PREFIX][:PORT]`` and
``--allow-ip-name-lookup NAME`` (what ``wasi:sockets`` may use): nothing by default. Arguments after the
component go to the guest. ``--invoke NAME ARGS`` calls an exported function (``name`` or ``interface#name``)
with arguments written as WAVE literals and prints the result as one.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..component.api import Component
from ..errors import LinkError
from .host import WasiHost, run_command
from .network_policy import NetworkPolicy
from .wave import format_value, parse_value


def run_component_file(args: argparse.Namespace) -> int:
    preopens: list[tuple[str, str, bool]] = []
    for spec, read_only in [(d, False) for d in args.dir] + [(d, True) for d in args.ro_dir]:
        host_path, _, guest = spec.partition("::")
        preopens.append((guest or host_path, host_path, not read_only))
    env: dict[str, str] = {}
    for item in args.env:
        key, equals, value = item.partition("=")
        if not equals:
            if key not in os.environ:
                continue
            value = os.environ[key]
        env[key] = value
    try:
        network = NetworkPolicy.of(
            getattr(args, "allow_tcp", []), getattr(args, "allow_udp", []), getattr(args, "allow_ip_name_lookup", [])
        )
    except ValueError as error:
        print(f"wasmbox: error: {error}", file=sys.stderr)
        return 2
    component = Component.from_file(args.input)
    host = WasiHost(
        args=[args.input, *args.args],
        env=env,
        preopens=preopens,
        allow_http=getattr(args, "allow_http", []),
        network=network,
    )
    try:
        if args.invoke:
            return _invoke(component, host, args.invoke, args.args)
        return run_command(component, host)
    finally:
        host.close()


def _invoke(component: Component, host: WasiHost, name: str, literals: list[str]) -> int:
    from ..canonical_abi import Err, shape_of

    instance = component.instantiate(host.imports_for(component))
    function: Any = instance.exports
    for part in name.split("#"):
        if not hasattr(function, "get") or part not in function:
            raise LinkError(f"the component exports no function `{name}`")
        function = function[part]
    if not hasattr(function, "call_values"):
        raise LinkError(f"export `{name}` is not a function")
    params = function.signature.params
    if len(literals) != len(params):
        raise LinkError(f"`{name}` takes {len(params)} arguments, {len(literals)} given")
    values = [parse_value(text, shape_of(type_)) for text, (_, type_) in zip(literals, params, strict=True)]
    results = function.call_values(values)
    sys.stdout.flush()
    if results and function.signature.result is not None:
        print(format_value(results[0], shape_of(function.signature.result)))
        if isinstance(results[0], Err):
            return 1  # an error result is the command failing
    return 0
