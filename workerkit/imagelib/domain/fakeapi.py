"""An OpenAI-compatible chat-completions vision server on 127.0.0.1, for tests and benchmarks.

It answers with the tags LocalAnnotator computes from the posted image, so its
replies are deterministic and mean something, and it can inject faults (server
errors, rate limits, hung requests, malformed and empty replies) on demand.
It runs an aiohttp.web application on its own thread and event loop.

Run ``python -m workerkit.imagelib.domain.fakeapi --latency 0.15`` to serve from a separate
process (no shared GIL with the app under test): it prints
``READY http://127.0.0.1:PORT/v1`` and serves until stdin closes or it is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import io
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import Enum, StrEnum
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from PIL import Image

from workerkit.imagelib.domain.annotators.local import THUMBNAIL_PX, describe_pixels, reduce_image

__all__ = ["FakeVisionServer", "Fault", "main", "spawn_fake_server"]

HOST = "127.0.0.1"
CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
MAX_HANG_SECONDS = 60.0
_MAX_BODY_BYTES = 32 * 1024 * 1024
# How long stop() lets a request in progress finish before aiohttp cancels it; held
# requests are cancelled after twice this (aiohttp waits once more for the cancel).
_SHUTDOWN_GRACE_S = 0.05
_START_TIMEOUT_S = 10.0
_STOP_JOIN_SECONDS = 5.0
_DATA_URL_MARKER = ";base64,"


class Fault(StrEnum):
    """A failure the server can serve instead of a normal reply."""

    SERVER_ERROR = "server_error"
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    NO_TAGS = "no_tags"


class _State(Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class _PlannedFault:
    fault: Fault
    retry_after: float


class _BadRequest(Exception):
    """A request the server answers with HTTP 400 and this message."""


class FakeVisionServer:
    """Serve chat-completions vision requests on 127.0.0.1 from a daemon thread.

    Use it as a context manager, or call ``start()`` and ``stop()``; ``stop()``
    is idempotent and returns promptly even while requests are being held.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        required_key: str | None = None,
        hang_seconds: float = 5.0,
        port: int = 0,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {latency!r}.")
        if not 0 < hang_seconds <= MAX_HANG_SECONDS:
            raise ValueError(
                f"hang_seconds must be in (0, {MAX_HANG_SECONDS:g}], got {hang_seconds!r}."
            )
        self.latency = latency
        self.hang_seconds = hang_seconds
        self._required_key = required_key
        self._port = port
        self._bound_port: int | None = None
        self._state = _State.NEW
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._planned: deque[_PlannedFault] = deque()
        self._always: _PlannedFault | None = None
        self._requests = 0
        self._in_flight = 0
        self._max_concurrent = 0
        self._hung_up_early = 0
        self._faults_served: Counter[Fault] = Counter()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = asyncio.Event()

    def __repr__(self) -> str:
        address = f"{HOST}:{self._bound_port}" if self._bound_port else "unbound"
        return f"FakeVisionServer({address}, {self._state.value}, latency={self.latency:g})"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Return the API base, e.g. ``http://127.0.0.1:PORT/v1`` (still valid after stop)."""
        if self._bound_port is None:
            raise RuntimeError(
                "FakeVisionServer has no address before it starts; call start() or use it "
                "in a with statement first."
            )
        return f"http://{HOST}:{self._bound_port}/v1"

    @property
    def requests(self) -> int:
        """Return the number of requests received so far."""
        with self._lock:
            return self._requests

    @property
    def hung_up_early(self) -> int:
        """Return how many clients closed their connection before their reply was due."""
        with self._lock:
            return self._hung_up_early

    @property
    def max_concurrent(self) -> int:
        """Return the largest number of requests that were in flight at once."""
        with self._lock:
            return self._max_concurrent

    @property
    def faults_served(self) -> dict[Fault, int]:
        """Return how many times each fault was served."""
        with self._lock:
            return dict(self._faults_served)

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and start serving; return self."""
        with self._lock:
            if self._state is not _State.NEW:
                raise RuntimeError(
                    f"Cannot start a FakeVisionServer that is {self._state.value}; "
                    "create a new one instead."
                )
            self._state = _State.RUNNING
        bound: Future[int] = Future()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(bound),), name="FakeVisionServer", daemon=True
        )
        self._thread.start()
        try:
            self._bound_port = bound.result(_START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving, release held requests and close the port; safe to call twice."""
        with self._lock:
            running = self._state is _State.RUNNING
            self._state = _State.STOPPED
        if not running or self._thread is None:
            return
        self._stopping.set()
        if self._loop is not None:
            # RuntimeError: the loop already ended (its thread failed).
            with suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop_requested.set)
        self._thread.join(_STOP_JOIN_SECONDS)

    def inject(self, fault: Fault, times: int = 1, *, retry_after: float = 0.1) -> None:
        """Serve ``fault`` to the next ``times`` requests, after any already queued."""
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}.")
        with self._lock:
            self._planned.extend([_PlannedFault(Fault(fault), retry_after)] * times)

    def fail_always(self, fault: Fault, *, retry_after: float = 0.1) -> None:
        """Serve ``fault`` to every request once the queued faults are used up."""
        with self._lock:
            self._always = _PlannedFault(Fault(fault), retry_after)

    def clear_faults(self) -> None:
        """Drop queued faults and fail_always(); requests are answered normally again."""
        with self._lock:
            self._planned.clear()
            self._always = None

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` requests have arrived; return False if ``timeout`` ran out."""
        with self._changed:
            return self._changed.wait_for(lambda: self._requests >= count, timeout)

    def wait_for_faults(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` faults were served or taken up (a TIMEOUT is held from then)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._faults_served.total() >= count, timeout)

    async def _serve(self, bound: Future[int]) -> None:
        """Serve until stop(); pass the bound port, or the error binding it, to ``bound``."""
        app = web.Application(client_max_size=_MAX_BODY_BYTES)
        app.router.add_route("*", "/{path:.*}", self._serve_request)
        # handler_cancellation: a client that hangs up cancels its handler, which ends a
        # hold at once; without it aiohttp (3.9+) lets the handler run on.
        runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=_SHUTDOWN_GRACE_S
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, HOST, self._port).start()
        except OSError as error:
            bound.set_exception(error)
        else:
            self._loop = asyncio.get_running_loop()
            bound.set_result(runner.addresses[0][1])
            await self._stop_requested.wait()
        finally:
            await runner.cleanup()

    async def _serve_request(self, request: web.Request) -> web.StreamResponse:
        """Answer one request, counting it as in flight meanwhile."""
        with self._changed:
            self._requests += 1
            self._in_flight += 1
            self._max_concurrent = max(self._max_concurrent, self._in_flight)
            self._changed.notify_all()
        try:
            return await self._respond(request)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        """Pick the answer to one request."""
        # Refused before reading, so a client announcing a huge body is not waited for.
        if (request.content_length or 0) > _MAX_BODY_BYTES:
            return _error(HTTPStatus.BAD_REQUEST, "Content-Length is missing or too large.")
        body = await request.read()
        await self._hold(self.latency)
        if request.method != "POST" or request.path != CHAT_COMPLETIONS_PATH:
            return _error(HTTPStatus.NOT_FOUND, f"No route for {request.method} here.")
        if not self._authorised(request):
            # Real APIs quote the key they got (OpenAI masks its middle): a client must not
            # pass this message on unredacted.
            given = request.headers.get("Authorization", "").removeprefix("Bearer ")
            return _error(HTTPStatus.UNAUTHORIZED, f"Incorrect API key provided: {given}.")
        if planned := self._take_fault():
            return await self._serve_fault(request, planned)
        try:
            # Decoding off the loop keeps concurrent requests (and hang-up detection) going.
            model, tags = await asyncio.to_thread(_tags_in_request, body)
        except _BadRequest as error:
            return _error(HTTPStatus.BAD_REQUEST, str(error))
        return _json(HTTPStatus.OK, _completion(model, ", ".join(tags)))

    async def _hold(self, seconds: float) -> None:
        """Wait ``seconds`` before replying, counting a client that hangs up meanwhile."""
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            # aiohttp cancels the handler when its client hangs up, and stop() does too.
            if not self._stopping.is_set():
                with self._changed:
                    self._hung_up_early += 1
                    self._changed.notify_all()
            raise

    def _authorised(self, request: web.Request) -> bool:
        """Return True when no key is required or the bearer token matches it."""
        if self._required_key is None:
            return True
        return request.headers.get("Authorization", "") == f"Bearer {self._required_key}"

    def _take_fault(self) -> _PlannedFault | None:
        """Return the fault for this request, if any, and count it as served."""
        with self._changed:
            planned = self._planned.popleft() if self._planned else self._always
            if planned is not None:
                self._faults_served[planned.fault] += 1
                self._changed.notify_all()
            return planned

    async def _serve_fault(self, request: web.Request, planned: _PlannedFault) -> web.Response:
        """Return the failure ``planned`` asks for."""
        match planned.fault:
            case Fault.SERVER_ERROR:
                return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "Injected server error.")
            case Fault.RATE_LIMIT:
                return _error(
                    HTTPStatus.TOO_MANY_REQUESTS,
                    "Injected rate limit.",
                    {"Retry-After": f"{planned.retry_after:g}"},
                )
            case Fault.TIMEOUT:
                await self._hold(self.hang_seconds)
                # Drop the connection without a reply: the response below finds the
                # transport closing and aiohttp never writes it.
                if request.transport is not None:
                    request.transport.close()
                return web.Response()
            case Fault.MALFORMED:
                return _reply(HTTPStatus.OK, b'{"choices": [{"message": ')
            case Fault.NO_TAGS:
                return _json(HTTPStatus.OK, _completion("vision-tagger", ""))


def _tags_in_request(body: bytes) -> tuple[str, list[str]]:
    """Return the model name of a chat-completions request and the tags of its image."""
    model, image_bytes = _parse_request(body)
    return model, _tags_for(image_bytes)


def _parse_request(body: bytes) -> tuple[str, bytes]:
    """Return the model name and the image bytes of a chat-completions request."""
    try:
        request = json.loads(body)
        messages = request["messages"]
        model = str(request.get("model", "vision-tagger"))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise _BadRequest("The body is not a chat-completions request.") from error
    url = _find_image_url(messages)
    head, marker, data = url.partition(_DATA_URL_MARKER)
    if not (head.startswith("data:image/") and marker):
        raise _BadRequest("The image_url must be a base64 data URL (data:image/...;base64,...).")
    try:
        return model, base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise _BadRequest("The image data URL is not valid base64.") from error


def _find_image_url(messages: Any) -> str:
    """Return the first image_url in ``messages``."""
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                image_url = part.get("image_url")
                url = image_url.get("url") if isinstance(image_url, dict) else None
                if isinstance(url, str):
                    return url
    raise _BadRequest("The request has no image_url content part.")


def _tags_for(image_bytes: bytes) -> list[str]:
    """Return LocalAnnotator's tags for an encoded image."""
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            return describe_pixels(reduce_image(image, THUMBNAIL_PX))
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise _BadRequest(f"The image could not be decoded ({error}).") from error


def _completion(model: str, content: str) -> dict[str, Any]:
    """Return a chat-completions reply whose message says ``content``."""
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _error(
    status: HTTPStatus, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Return an OpenAI-style error reply."""
    payload = {"error": {"message": message, "type": status.phrase.lower().replace(" ", "_")}}
    return _json(status, payload, headers)


def _json(
    status: HTTPStatus, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> web.Response:
    """Return ``payload`` as a JSON reply."""
    return _reply(status, json.dumps(payload).encode(), headers)


def _reply(
    status: HTTPStatus, body: bytes, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Return one complete reply; its Content-Type is application/json, without a charset."""
    reply = web.Response(status=status, body=body, content_type="application/json", headers=headers)
    # One request per connection (Connection: close), as the HTTP/1.0 server this replaced:
    # clients that keep connections alive and clients that do not pay the same connect cost
    # in benchmarks, and no client resends on a kept connection that a TIMEOUT drops.
    reply.force_close()
    return reply


@contextmanager
def spawn_fake_server(latency: float = 0.0, *, ready_timeout: float = 15.0) -> Iterator[str]:
    """Run the fake server in a child process and yield its base URL; end it on exit."""
    command = [
        sys.executable,
        "-m",
        "workerkit.imagelib.domain.fakeapi",
        "--latency",
        repr(latency),
    ]
    with (
        tempfile.TemporaryFile() as stderr,
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=_child_env(),
            text=True,
        ) as process,
    ):
        reader = _LineReader(process)
        try:
            yield reader.wait_for_ready(ready_timeout, stderr)
        finally:
            _end_process(process)
            reader.join()


def _child_env() -> dict[str, str]:
    """Return the environment for the child, able to import this very package."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return env


class _LineReader:
    """Read the child's first stdout line on a thread, so waiting for it can time out."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self._lines: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, name="fakeapi-ready", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        self._lines.put(self._process.stdout.readline())

    def wait_for_ready(self, timeout: float, stderr: Any) -> str:
        """Return the URL from the child's READY line or raise RuntimeError saying why not."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(
                f"The fake vision server did not print READY within {timeout:g} s; raise "
                "ready_timeout or run `python -m workerkit.imagelib.domain.fakeapi` by hand "
                "to see why."
            ) from None
        if not line.startswith("READY "):
            self._process.wait(_STOP_JOIN_SECONDS)
            stderr.seek(0)
            said = stderr.read().decode(errors="replace").strip()[-2000:]
            raise RuntimeError(
                f"The fake vision server exited with code {self._process.returncode} before "
                f"it was ready; it said: {said or '(nothing)'}"
            )
        return line.split()[1]

    def join(self) -> None:
        """Wait for the reader thread, which ends once the child's stdout closes."""
        self._thread.join(_STOP_JOIN_SECONDS)


def _end_process(process: subprocess.Popen[str]) -> None:
    """Close the child's stdin (its signal to stop), then terminate or kill it if it lingers."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(_STOP_JOIN_SECONDS)
        return
    except subprocess.TimeoutExpired:
        process.terminate()
    try:
        process.wait(_STOP_JOIN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main(argv: list[str] | None = None) -> int:
    """Serve until stdin closes or the process is killed."""
    parser = argparse.ArgumentParser(
        prog="python -m workerkit.imagelib.domain.fakeapi",
        description="Serve a fake vision API on 127.0.0.1.",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: any free)")
    options = parser.parse_args(argv)
    with FakeVisionServer(latency=options.latency, port=options.port) as server:
        print(f"READY {server.base_url}", flush=True)
        with suppress(KeyboardInterrupt):
            _wait_for_stdin_to_close()
    return 0


def _wait_for_stdin_to_close() -> None:
    """Block until stdin reaches end of file (the parent closed it or went away)."""
    if sys.stdin is None:
        threading.Event().wait()
        return
    while sys.stdin.buffer.read(4096):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
