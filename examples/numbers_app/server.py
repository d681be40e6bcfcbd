"""A tiny local page server for the fetch kind: aiohttp.web on 127.0.0.1 and a free port.

``/page/<n>`` answers a deterministic body after ``delay`` seconds; anything else is a 404.
The server is bounded: it stops itself after ``lifetime`` seconds or ``max_requests``
requests, whichever comes first, and a stop cuts any pending delay short.
"""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import Future
from contextlib import suppress

from aiohttp import web

__all__ = ["PageServer", "page_body"]

_PAGE = re.compile(r"^/page/(\d{1,6})$")
# How long a stop lets a reply in progress finish; a pending delay is cut after twice this.
_SHUTDOWN_GRACE_S = 0.05


def page_body(number: int) -> bytes:
    """Return the body served for page ``number`` (its size grows with the number)."""
    return (f"page {number}\n" * (number + 1)).encode("ascii")


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
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = asyncio.Event()

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        if self._port is None:
            raise RuntimeError("the page server is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._port}"

    def url(self, number: int) -> str:
        """Return the URL of page ``number``."""
        return f"{self.base_url}/page/{number}"

    def urls(self, count: int, first: int = 1) -> list[str]:
        """Return the URLs of ``count`` consecutive pages starting at ``first``."""
        return [self.url(n) for n in range(first, first + count)]

    def start(self) -> PageServer:
        """Bind a free port and serve on a background thread with its own event loop."""
        bound: Future[int] = Future()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(bound),), name="page-server", daemon=True
        )
        self._thread.start()
        self._port = bound.result(timeout=10.0)
        return self

    def stop_soon(self) -> None:
        """Cut pending delays short and stop serving, without waiting (any thread)."""
        self.stopping.set()
        if self._loop is not None:
            # RuntimeError: serving already ended (its lifetime ran out) and closed the loop.
            with suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop_requested.set)

    def wait_stopped(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for serving to end; return True if it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is not None and not self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving, close the socket and join the serving thread."""
        self.stop_soon()
        self.wait_stopped(5.0)

    def __enter__(self) -> PageServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _serve(self, bound: Future[int]) -> None:
        """Serve until stopped or ``lifetime`` has passed; pass the port (or error) to ``bound``."""
        app = web.Application()
        app.router.add_get("/{path:.*}", self._page)
        # handler_cancellation: a client that hangs up ends its pending delay too.
        runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=_SHUTDOWN_GRACE_S
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
        except OSError as error:
            bound.set_exception(error)
        else:
            self._loop = asyncio.get_running_loop()
            bound.set_result(runner.addresses[0][1])
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop_requested.wait(), self.lifetime)
        finally:
            self.stopping.set()
            await runner.cleanup()

    async def _page(self, request: web.Request) -> web.Response:
        """Serve one page after the delay, 404 for any other path, 503 past the request limit."""
        self.requests += 1
        self.request_seen.set()
        if self.requests > self.max_requests:
            self.stop_soon()
            raise web.HTTPServiceUnavailable(text="request limit reached")
        match = _PAGE.match(request.raw_path)
        if match is None:
            raise web.HTTPNotFound(text="no such page")
        await asyncio.sleep(self.delay)
        body = page_body(int(match.group(1)))
        return web.Response(body=body, content_type="text/plain", charset="ascii")
