"""A tiny local page server for the fetch kind: 127.0.0.1, a free port, one thread per request.

``/page/<n>`` answers a deterministic body after ``delay`` seconds; anything else is a 404.
The server is bounded: it stops itself after ``lifetime`` seconds or ``max_requests``
requests, whichever comes first, and a stop cuts any pending delay short.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["PageServer", "page_body"]

_PAGE = re.compile(r"^/page/(\d{1,6})$")


def page_body(number: int) -> bytes:
    """Return the body served for page ``number`` (its size grows with the number)."""
    return (f"page {number}\n" * (number + 1)).encode("ascii")


class _Handler(BaseHTTPRequestHandler):
    """Answer GET /page/<n>; count requests and honour the server's delay."""

    server: _Server

    def do_GET(self) -> None:
        """Serve one page, or 404 for any other path."""
        if not self.server.admit():
            self.send_error(503, "request limit reached")
            return
        match = _PAGE.match(self.path)
        if match is None:
            self.send_error(404, "no such page")
            return
        if self.server.owner.stopping.wait(self.server.owner.delay):
            return
        body = page_body(int(match.group(1)))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=ascii")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class _Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its PageServer and counts requests."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: PageServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """Count one request; return False once the request limit is used up."""
        with self._lock:
            self.owner.requests += 1
            self.owner.request_seen.set()
            over = self.owner.requests > self.owner.max_requests
        if over:
            self.owner.stop_soon()
        return not over


class PageServer:
    """Serve pages on 127.0.0.1 while the ``with`` block runs (or until its bounds stop it)."""

    def __init__(
        self, delay: float = 0.0, lifetime: float = 60.0, max_requests: int = 10_000
    ) -> None:
        self.delay = delay
        self.lifetime = lifetime
        self.max_requests = max_requests
        self.requests = 0
        self.request_seen = threading.Event()
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("the page server is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, number: int) -> str:
        """Return the URL of page ``number``."""
        return f"{self.base_url}/page/{number}"

    def urls(self, count: int, first: int = 1) -> list[str]:
        """Return the URLs of ``count`` consecutive pages starting at ``first``."""
        return [self.url(n) for n in range(first, first + count)]

    def start(self) -> PageServer:
        """Bind a free port and serve on a background thread."""
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="page-server", daemon=True
        )
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.stop_soon)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop_soon(self) -> None:
        """Cut pending delays short and stop serving, without waiting (any thread)."""
        self.stopping.set()
        server = self._server
        if server is not None:
            threading.Thread(target=server.shutdown, name="page-server-stop", daemon=True).start()

    def wait_stopped(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for serving to end; return True if it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is not None and not self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving, close the socket and join the serving thread."""
        self.stopping.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def __enter__(self) -> PageServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
