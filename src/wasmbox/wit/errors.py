"""The one error WIT processing raises: a file that does not parse or a package that does not resolve."""

from __future__ import annotations

from ..errors import WasmError


class WitError(WasmError):
    """Malformed WIT text, or WIT that does not resolve (unknown names, cycles, duplicate definitions).

    The message starts with ``path:line:column`` of the offending token when there is one.
    """
