"""The explorer's web server: the page and its queries, on 127.0.0.1 only, behind a per-run token.

Every request must carry the run's token (``?t=TOKEN``, compared in constant
time) and name ``127.0.0.1:PORT`` or ``localhost:PORT`` as its ``Host`` (so a
page elsewhere cannot reach it through a rebinding DNS name); anything else
is refused with 403 before its path is looked at.  Only these paths exist
(404 for every other, and for every method but GET)::

    /                      the page (its CSS and JavaScript inline)
    /api/meta              Recording.meta()
    /api/chunk?k=K         chunk K of the recording (see .recording)
    /api/memory?at=N&start=A&length=L      {"start", "hex", "size"} at position N
    /api/find?what=W&at=N&arg=X            {"position": M or null} (see RecordingIndex.find)
    /api/io?at=N           host calls and output before position N

The server reads nothing from disk after it starts: it answers from the
recording in memory and the page assembled from package data.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .page import served_page
from .queries import RecordingIndex
from .recording import Recording

MAX_MEMORY_WINDOW = 1 << 16
# The page runs only its own inline script and style, and talks only to this server.
CONTENT_POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"


class ExplorerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, recording: Recording, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.recording = recording
        self.index = RecordingIndex(recording)
        self.token = secrets.token_urlsafe(24)
        self.page = served_page().encode()
        self.meta = json.dumps(recording.meta(), separators=(",", ":")).encode()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?t={self.token}"

    def start(self) -> threading.Thread:
        """Serve in a background thread (tests, the benchmark); ``shutdown()`` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="wasmbox-explore", daemon=True)
        thread.start()
        return thread

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request that passed the token check."""
        if path == "/":
            return 200, "text/html; charset=utf-8", self.page
        if path == "/api/meta":
            return 200, "application/json", self.meta
        try:
            if path == "/api/chunk":
                return _json(self.recording.chunk_json(int(query["k"])).encode())
            if path == "/api/memory":
                at, start = int(query["at"]), int(query["start"])
                length = min(int(query["length"]), MAX_MEMORY_WINDOW)
                data = self.index.memory(at, start, length)
                size = self.index.memory_size(at)
                return _json(_dumps({"start": min(max(start, 0), size), "hex": data.hex(), "size": size}))
            if path == "/api/find":
                found = self.index.find(query["what"], int(query["at"]), query.get("arg", ""))
                return _json(_dumps({"position": found}))
            if path == "/api/io":
                return _json(_dumps(self.index.io(int(query["at"]))))
        except (KeyError, ValueError, IndexError) as error:
            return 400, "text/plain; charset=utf-8", f"bad request: {error}".encode()
        return 404, "text/plain; charset=utf-8", b"not found"


def _json(body: bytes) -> tuple[int, str, bytes]:
    return 200, "application/json", body


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    server: ExplorerServer
    protocol_version = "HTTP/1.1"  # keep-alive: the page's many small queries share one connection

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
        # client's delayed ACK of the first (40 ms on Linux), which alone would miss the 100 ms jump.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if not self._allowed(query.get("t", "")):
            self._send(403, "text/plain; charset=utf-8", b"forbidden: this page needs the token of its run")
            return
        self._send(*self.server.answer(parts.path, query))

    def _refuse(self) -> None:
        self._send(404, "text/plain; charset=utf-8", b"not found")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _refuse  # noqa: N815

    def _allowed(self, token: str) -> bool:
        host = self.headers.get("Host", "")
        port = self.server.port
        if host not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            return False
        return hmac.compare_digest(token.encode(), self.server.token.encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", CONTENT_POLICY)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Quiet: the terminal shows the program's output and the URL, not every request."""
