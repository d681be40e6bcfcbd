"""Annotation for apps that run under ``QtAsyncio.run()``: HTTP over QNetworkAccessManager.

QtAsyncio's event loop is the Qt event loop of the GUI thread. It cannot open
sockets (``qtasyncio_socket_support()`` checks at run time), so aiohttp cannot
run on it; ``annotate_under_qtasyncio`` sends the same requests through
``qt_post`` instead, with the same retry decisions as ``HttpAnnotator``. The
default path of the simplified stack (workerkit/imagelib/pool_workers/annotation.py) runs aiohttp
on a private asyncio loop on a pool thread and needs none of this.

Run ``python -m workerkit.imagelib.pool_workers.qtasyncio_runtime`` to probe this interpreter's
QtAsyncio: it prints one ``PROBE {json}`` line.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtNetwork import QNetworkAccessManager, QNetworkProxy

from workerkit.imagelib.context import JobContext
from workerkit.imagelib.domain.annotation import record_outcome
from workerkit.imagelib.domain.annotators import AnnotationError, HttpAnnotator

# Reusing HttpAnnotator's retry decisions (Exchange), reply type and transport-error
# wording keeps this path identical to annotate_async.
from workerkit.imagelib.domain.annotators.http import Exchange, Reply, Request
from workerkit.imagelib.domain.results import AnnotationOutcome
from workerkit.imagelib.domain.store import ImageRecord, ImageStore
from workerkit.imagelib.pool_workers.qt_http import QtHttpError, qt_post, require_qt_event_loop

__all__ = [
    "DEFAULT_CONCURRENCY",
    "SocketSupport",
    "annotate_under_qtasyncio",
    "main",
    "qtasyncio_socket_support",
]

DEFAULT_CONCURRENCY = 8
PROBE_PREFIX = "PROBE "
_PROBE_MODULE = "workerkit.imagelib.pool_workers.qtasyncio_runtime"
_PROBE_TIMEOUT_S = 60.0
_STDERR_TAIL_CHARS = 300
_LOCALHOST = "127.0.0.1"
_ALTERNATIVES = (
    "use workerkit.imagelib.pool_workers.qt_http.qt_post (QNetworkAccessManager) under "
    "QtAsyncio, as annotate_under_qtasyncio does, or the pool-thread aiohttp runtime in "
    "workerkit/imagelib/pool_workers/annotation.py"
)


@dataclass(frozen=True)
class SocketSupport:
    """Say whether QtAsyncio's event loop can open sockets here, and what works instead."""

    supported: bool
    detail: str


@functools.cache
def qtasyncio_socket_support() -> SocketSupport:
    """Return whether QtAsyncio's loop can open a TCP connection, probed once per process.

    The probe runs in a child interpreter: QtAsyncio.run() takes over the
    QCoreApplication and is not safe to start where a Qt loop already runs.
    """
    command = [sys.executable, "-m", _PROBE_MODULE]
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            env=_child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return SocketSupport(
            False,
            f"The QtAsyncio socket probe ({' '.join(command[1:])}) did not answer within "
            f"{_PROBE_TIMEOUT_S:g} s, so sockets count as unsupported; {_ALTERNATIVES}.",
        )
    return _judge(completed)


def _judge(completed: subprocess.CompletedProcess[str]) -> SocketSupport:
    """Turn the probe child's output into a SocketSupport."""
    found = [line for line in completed.stdout.splitlines() if line.startswith(PROBE_PREFIX)]
    if completed.returncode != 0 or not found:
        said = completed.stderr.strip()[-_STDERR_TAIL_CHARS:] or "(nothing)"
        return SocketSupport(
            False,
            f"The QtAsyncio socket probe exited with code {completed.returncode} without an "
            f"answer (stderr: {said}), so sockets count as unsupported; {_ALTERNATIVES}.",
        )
    answer = json.loads(found[-1].removeprefix(PROBE_PREFIX))
    pyside = f"PySide6 {answer['pyside']}"
    if answer["outcome"] == "connected":
        return SocketSupport(
            True,
            f"QtAsyncio's event loop ({pyside}) opened TCP connections with "
            "loop.create_connection and loop.sock_connect, so aiohttp can run under "
            "QtAsyncio; qt_post (QNetworkAccessManager) and the pool-thread aiohttp runtime "
            "work as well.",
        )
    if answer["outcome"] == "no-qtasyncio":
        return SocketSupport(
            False,
            f"PySide6.QtAsyncio cannot be imported ({pyside}: {answer['error']}); install "
            "PySide6-Addons for QtAsyncio, or use the pool-thread aiohttp runtime in "
            "workerkit/imagelib/pool_workers/annotation.py.",
        )
    return SocketSupport(
        False,
        f"QtAsyncio's event loop ({pyside}) cannot open sockets ({answer['call']} to "
        f"{_LOCALHOST} raised {answer['error']}), so aiohttp cannot run on it; {_ALTERNATIVES}.",
    )


def _child_env() -> dict[str, str]:
    """Return the environment for the probe child, able to import this package."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def main() -> int:
    """Probe QtAsyncio's sockets in this process and print one PROBE line of JSON."""
    print(PROBE_PREFIX + json.dumps(_probe_here()), flush=True)
    return 0


def _probe_here() -> dict[str, Any]:
    """Connect under QtAsyncio to a socket listening on 127.0.0.1 and report what happened."""
    import PySide6

    answer: dict[str, Any] = {"pyside": PySide6.__version__, "outcome": "", "error": ""}
    try:
        from PySide6 import QtAsyncio
    except ImportError as error:
        return answer | {"outcome": "no-qtasyncio", "error": f"{type(error).__name__}: {error}"}
    with socket.create_server((_LOCALHOST, 0)) as listener:
        port = listener.getsockname()[1]
        return answer | QtAsyncio.run(_try_connect(port), keep_running=False)


async def _try_connect(port: int) -> dict[str, str]:
    """Return whether the running loop could connect to ``port`` on 127.0.0.1 both ways."""
    loop = asyncio.get_running_loop()
    # aiohttp uses both: sock_connect to connect, then create_connection(sock=...).
    for call, attempt in (
        ("loop.create_connection", _create_connection),
        ("loop.sock_connect", _sock_connect),
    ):
        try:
            await attempt(loop, port)
        except (NotImplementedError, OSError) as error:
            return {"outcome": "failed", "call": call, "error": f"{type(error).__name__}: {error}"}
    return {"outcome": "connected"}


async def _create_connection(loop: asyncio.AbstractEventLoop, port: int) -> None:
    """Open and close a transport to ``port``."""
    transport, _ = await loop.create_connection(asyncio.Protocol, _LOCALHOST, port)
    transport.close()


async def _sock_connect(loop: asyncio.AbstractEventLoop, port: int) -> None:
    """Connect a non-blocking socket to ``port`` and close it."""
    with socket.socket() as connection:
        connection.setblocking(False)
        await loop.sock_connect(connection, (_LOCALHOST, port))


async def annotate_under_qtasyncio(
    annotator: HttpAnnotator,
    records: Sequence[ImageRecord],
    *,
    store: ImageStore,
    concurrency: int = DEFAULT_CONCURRENCY,
    model: str | None = None,
    manager: QNetworkAccessManager | None = None,
) -> dict[int, AnnotationOutcome]:
    """Annotate ``records`` on QtAsyncio's loop and store each outcome as it arrives.

    Outcomes are saved under ``model`` (default ``annotator.name``, as the pool
    runtime names them). SQLite writes run on the GUI thread, because QtAsyncio's
    loop is the Qt event loop; each is one short transaction. Pass ``manager`` to
    reuse a QNetworkAccessManager; otherwise a private one without proxy is used.
    Cancelling the awaiting task aborts every request in flight before the
    CancelledError leaves this coroutine.
    """
    if concurrency < 1:
        raise ValueError(
            f"annotate_under_qtasyncio needs concurrency >= 1, got {concurrency}; "
            f"use {DEFAULT_CONCURRENCY} for the default."
        )
    name = model or annotator.name
    context = JobContext(store=store, annotators={name: annotator})
    network = manager or _private_manager()
    require_qt_event_loop(network)
    limit = asyncio.Semaphore(concurrency)
    tasks = [
        asyncio.ensure_future(_annotate_record(context, name, annotator, network, record, limit))
        for record in records
    ]
    # Not asyncio.gather: cancelling a gather under QtAsyncio (PySide6 6.11.3) fails in its
    # callback (QAsyncioTask has no _make_cancelled_error) and the gather never ends.
    try:
        return {record.id: await task for record, task in zip(records, tasks, strict=True)}
    finally:
        await _cancel_and_wait(tasks)
        if manager is None:
            network.deleteLater()


def _private_manager() -> QNetworkAccessManager:
    """Return a QNetworkAccessManager that, like the aiohttp and urllib paths, uses no proxy."""
    manager = QNetworkAccessManager()
    manager.setProxy(QNetworkProxy(QNetworkProxy.ProxyType.NoProxy))
    return manager


async def _cancel_and_wait(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel the unfinished ``tasks`` and wait until they have ended."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)


async def _annotate_record(
    context: JobContext,
    model: str,
    annotator: HttpAnnotator,
    manager: QNetworkAccessManager,
    record: ImageRecord,
    limit: asyncio.Semaphore,
) -> AnnotationOutcome:
    """Annotate one image as ``model``, holding a slot of ``limit``, and store the outcome."""
    async with limit:
        try:
            tags = await _annotate_path(annotator, manager, record.path)
        except AnnotationError as error:
            outcome = AnnotationOutcome(error=str(error))
        else:
            outcome = AnnotationOutcome(tags=tuple(tags))
    return record_outcome(context, record, model, outcome)


async def _annotate_path(
    annotator: HttpAnnotator, manager: QNetworkAccessManager, path: Path
) -> list[str]:
    """Return the tags for ``path``: HttpAnnotator.annotate_async with qt_post for aiohttp."""
    # begin_exchange runs build_request: decoding, shrinking and JPEG-encoding a sample photo
    # takes 7-150 ms (median ~25 ms), mostly in Pillow outside the GIL. Inline, it
    # stalls the GUI that QtAsyncio's loop also drives (a 10 ms timer was late by up
    # to ~1 s with 8 images in flight), so it runs on QtAsyncio's default executor.
    exchange: Exchange = await asyncio.to_thread(annotator.begin_exchange, path)
    while (attempt := exchange.next_attempt()) is not None:
        if attempt.delay:
            await asyncio.sleep(attempt.delay)
        exchange.record(await _send(annotator, manager, path, attempt.request))
    return exchange.result()


async def _send(
    annotator: HttpAnnotator, manager: QNetworkAccessManager, path: Path, request: Request
) -> Reply | AnnotationError:
    """Send one attempt with qt_post; return the reply or the transport failure."""
    url, headers, body = request
    try:
        status, reply_headers, reply_body = await qt_post(
            manager, url, headers, body, timeout_s=annotator.config.timeout
        )
    except QtHttpError as error:
        if error.timed_out:
            return annotator.timeout_error(path, error)
        return annotator.connection_error(path, error.message, error)
    return Reply(status, reply_headers, reply_body)


if __name__ == "__main__":
    raise SystemExit(main())
