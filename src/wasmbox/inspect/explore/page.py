"""The explorer page: one HTML file with its CSS and JavaScript inline.

Served, it asks the server for what it shows (``data-mode="server"``).  As a
self-contained ``--html`` file it carries the whole recording (the same JSON
as ``--save``) in a ``<script type="application/json">`` element and answers
the same questions in the browser (``data-mode="embedded"``).  The assets
are package data (``assets/``), written for wasmbox: no framework, no font
or script from elsewhere, so the page works offline.
"""

from __future__ import annotations

import re
from importlib import resources

from .recording import Recording


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _page(mode: str, data: str) -> str:
    parts = {"MODE": mode, "CSS": _asset("explore.css"), "DATA": data, "JS": _asset("explore.js")}
    # One pass: text put in (a program's output, say) is never searched for placeholders.
    return re.sub(r"\{\{(MODE|CSS|DATA|JS)\}\}", lambda match: parts[match.group(1)], _asset("explore.html"))


def served_page() -> str:
    """The page the server sends: it fetches the recording piece by piece."""
    return _page("server", "null")


def embedded_page(recording: Recording) -> str:
    """The page with ``recording`` inside: it needs nothing else to work."""
    # "</" ends a script element wherever it appears; "<\/" is the same JSON string.
    return _page("embedded", recording.to_json().replace("</", "<\\/"))
