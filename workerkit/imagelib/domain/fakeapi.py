"""An OpenAI-compatible chat-completions vision server on 127.0.0.1, for tests and benchmarks.

It answers with the tags LocalAnnotator computes from the posted image, so its
replies are deterministic and mean something, and it can inject faults (server
errors, rate limits, hung requests, malformed and empty replies) on demand.

Run ``python -m workerkit.imagelib.domain.fakeapi --latency 0.15`` to serve from a separate
process (no shared GIL with the app under test): it prints
``READY http://127.0.0.1:PORT/v1`` and serves until stdin closes or it is killed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import json
import os
import queue
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import Enum, StrEnum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from PIL import Image

from workerkit.imagelib.domain.annotators.local import THUMBNAIL_PX, describe_pixels, reduce_image

__all__ = ["FakeVisionServer", "Fault", "main", "spawn_fake_server"]

HOST = "127.0.0.1"
CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
MAX_HANG_SECONDS = 60.0
_MAX_BODY_BYTES = 32 * 1024 * 1024
# How often a held request looks whether its client hung up.
_HANG_UP_POLL_S = 0.02
# A client that connects and then sends nothing must not hold a handler thread forever.
_SOCKET_TIMEOUT = 10.0
_POLL_INTERVAL = 0.05
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
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        address = f"{HOST}:{self._httpd.server_address[1]}" if self._httpd else "unbound"
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
        if self._httpd is None:
            raise RuntimeError(
                "FakeVisionServer has no address before it starts; call start() or use it "
                "in a with statement first."
            )
        return f"http://{HOST}:{self._httpd.server_address[1]}/v1"

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
            self._httpd = _HttpServer(self, (HOST, self._port))
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": _POLL_INTERVAL},
                name=f"FakeVisionServer:{self._httpd.server_address[1]}",
                daemon=True,
            )
            self._state = _State.RUNNING
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release held requests and close the port; safe to call twice."""
        with self._lock:
            running = self._state is _State.RUNNING
            self._state = _State.STOPPED
        if not running or self._httpd is None or self._thread is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.hang_up_all()
        self._httpd.server_close()
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

    def serve(self, handler: _Handler) -> None:
        """Answer one request; called by the handler thread."""
        self._enter_request()
        try:
            self._respond(handler)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _enter_request(self) -> None:
        """Count a request that just arrived."""
        with self._changed:
            self._requests += 1
            self._in_flight += 1
            self._max_concurrent = max(self._max_concurrent, self._in_flight)
            self._changed.notify_all()

    def _respond(self, handler: _Handler) -> None:
        """Pick and send the answer to one request."""
        body = _read_body(handler)
        # Waits use the stop event, so stop() never waits out a latency or a hang.
        if body is None or self._hold(handler, self.latency):
            return
        if handler.command != "POST" or handler.path.split("?")[0] != CHAT_COMPLETIONS_PATH:
            _send_error(handler, HTTPStatus.NOT_FOUND, f"No route for {handler.command} here.")
        elif not self._authorised(handler):
            _send_error(handler, HTTPStatus.UNAUTHORIZED, "Incorrect API key provided.")
        elif planned := self._take_fault():
            self._serve_fault(handler, planned)
        else:
            self._answer(handler, body)

    def _hold(self, handler: _Handler, seconds: float) -> bool:
        """Wait ``seconds`` before replying; return True if stopped or the client hung up."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self._stopping.wait(min(remaining, _HANG_UP_POLL_S)):
                return True
            if _client_hung_up(handler):
                with self._changed:
                    self._hung_up_early += 1
                    self._changed.notify_all()
                return True
        return self._stopping.is_set()

    def _authorised(self, handler: _Handler) -> bool:
        """Return True when no key is required or the bearer token matches it."""
        if self._required_key is None:
            return True
        return handler.headers.get("Authorization", "") == f"Bearer {self._required_key}"

    def _take_fault(self) -> _PlannedFault | None:
        """Return the fault for this request, if any, and count it as served."""
        with self._changed:
            planned = self._planned.popleft() if self._planned else self._always
            if planned is not None:
                self._faults_served[planned.fault] += 1
                self._changed.notify_all()
            return planned

    def _serve_fault(self, handler: _Handler, planned: _PlannedFault) -> None:
        """Send the failure ``planned`` asks for."""
        match planned.fault:
            case Fault.SERVER_ERROR:
                _send_error(handler, HTTPStatus.INTERNAL_SERVER_ERROR, "Injected server error.")
            case Fault.RATE_LIMIT:
                _send_error(
                    handler,
                    HTTPStatus.TOO_MANY_REQUESTS,
                    "Injected rate limit.",
                    {"Retry-After": f"{planned.retry_after:g}"},
                )
            case Fault.TIMEOUT:
                # Hold the connection, then drop it without a reply.
                self._stopping.wait(self.hang_seconds)
                handler.close_connection = True
            case Fault.MALFORMED:
                _send(handler, HTTPStatus.OK, b'{"choices": [{"message": ')
            case Fault.NO_TAGS:
                _send_json(handler, HTTPStatus.OK, _completion("vision-tagger", ""))

    def _answer(self, handler: _Handler, body: bytes) -> None:
        """Reply with LocalAnnotator's tags for the posted image."""
        try:
            model, image_bytes = _parse_request(body)
            tags = _tags_for(image_bytes)
        except _BadRequest as error:
            _send_error(handler, HTTPStatus.BAD_REQUEST, str(error))
            return
        _send_json(handler, HTTPStatus.OK, _completion(model, ", ".join(tags)))


class _HttpServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its open connections so stop() can hang them up."""

    daemon_threads = True
    block_on_close = True
    # socketserver's default backlog of 5 drops the SYNs of more simultaneous clients,
    # which then retry a whole second later: too few for concurrent annotation.
    request_queue_size = 128

    def __init__(self, owner: FakeVisionServer, address: tuple[str, int]) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def hang_up_all(self) -> None:
        """Shut every open connection so handler threads blocked on I/O return at once."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # OSError: its handler closed it meanwhile.
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-reply (timeouts, cancellation) are normal here.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Hand every request to the owning FakeVisionServer."""

    server: _HttpServer
    # HTTP/1.0 closes each connection after one reply, so no idle keep-alive
    # connection can pin a handler thread.
    protocol_version = "HTTP/1.0"
    timeout = _SOCKET_TIMEOUT

    def do_POST(self) -> None:
        self.server.owner.serve(self)

    def do_GET(self) -> None:
        self.server.owner.serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a benchmark sends thousands of requests; stderr stays quiet


def _client_hung_up(handler: _Handler) -> bool:
    """Return True if the client closed its end (the request was read; it sends no more)."""
    connection = handler.connection
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _read_body(handler: _Handler) -> bytes | None:
    """Return the request body, or None after answering a request with an unusable length."""
    try:
        length = int(handler.headers.get("Content-Length", "0"))
    except ValueError:
        length = -1
    if not 0 <= length <= _MAX_BODY_BYTES:
        _send_error(handler, HTTPStatus.BAD_REQUEST, "Content-Length is missing or too large.")
        return None
    return handler.rfile.read(length)


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


def _send_error(
    handler: _Handler, status: HTTPStatus, message: str, headers: Mapping[str, str] | None = None
) -> None:
    """Send an OpenAI-style error body."""
    payload = {"error": {"message": message, "type": status.phrase.lower().replace(" ", "_")}}
    _send_json(handler, status, payload, headers)


def _send_json(
    handler: _Handler,
    status: HTTPStatus,
    payload: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> None:
    """Send ``payload`` as JSON."""
    _send(handler, status, json.dumps(payload).encode(), headers)


def _send(
    handler: _Handler, status: HTTPStatus, body: bytes, headers: Mapping[str, str] | None = None
) -> None:
    """Send one complete reply."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


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
