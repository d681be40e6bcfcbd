"""Run one scenario of annotate_under_qtasyncio / qt_post under real QtAsyncio.

Usage: qtasyncio_annotate.py SCENARIO DB. SCENARIO is one of success, server_error,
rate_limit, timeout, cancel, transport. The fake vision server runs in this process;
the outcomes are also stored in DB. Prints one line ``RESULT {json}`` last.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6 import QtAsyncio
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply

from workerkit.imagelib.domain.annotators import HttpAnnotator, HttpAnnotatorConfig, RetryPolicy
from workerkit.imagelib.domain.fakeapi import FakeVisionServer, Fault
from workerkit.imagelib.domain.results import AnnotationOutcome
from workerkit.imagelib.domain.store import ImageRecord, ImageStore
from workerkit.imagelib.pool_workers.qt_http import QtHttpError, qt_post
from workerkit.imagelib.pool_workers.qtasyncio_runtime import annotate_under_qtasyncio

KEY = "test-key"
GONE_TIMEOUT_S = 5.0
JSON_HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}


class ReplyWatch:
    """Record every reply a manager finishes, and when Qt has deleted each of them."""

    def __init__(self, manager: QNetworkAccessManager) -> None:
        self.manager = manager
        self.errors: list[str] = []
        self.destroyed = 0
        self._gone: asyncio.Future[None] | None = None
        manager.finished.connect(self._on_finished)

    def _on_finished(self, reply: QNetworkReply) -> None:
        self.errors.append(reply.error().name)
        reply.destroyed.connect(self._on_destroyed)

    def _on_destroyed(self) -> None:
        self.destroyed += 1
        if self._gone is not None and not self._gone.done() and self.all_gone():
            self._gone.set_result(None)

    def all_gone(self) -> bool:
        """Return True when every finished reply has been deleted."""
        return self.destroyed == len(self.errors)

    async def wait_all_gone(self) -> None:
        """Wait until Qt has deleted every finished reply, or 5 s (the report tells which)."""
        if not self.all_gone():
            self._gone = asyncio.get_running_loop().create_future()
            await asyncio.wait([self._gone], timeout=GONE_TIMEOUT_S)

    def report(self) -> dict[str, Any]:
        """Return what was seen, with the replies the manager still holds."""
        alive = len(self.manager.findChildren(QNetworkReply))
        return {"reply_errors": self.errors, "replies_destroyed": self.destroyed, "alive": alive}


def outcomes_json(outcomes: dict[int, AnnotationOutcome]) -> dict[str, Any]:
    """Return outcomes keyed by image id as text."""
    return {str(i): {"tags": list(o.tags), "error": o.error} for i, o in outcomes.items()}


def make_annotator(server: FakeVisionServer, **options: Any) -> HttpAnnotator:
    """Return an HttpAnnotator aimed at ``server``."""
    return HttpAnnotator(HttpAnnotatorConfig(base_url=server.base_url, **options))


async def run_annotation(
    server: FakeVisionServer,
    records: list[ImageRecord],
    store: ImageStore,
    annotator: HttpAnnotator,
    **options: Any,
) -> dict[str, Any]:
    """Annotate ``records`` through a watched manager and report outcomes and replies."""
    watch = ReplyWatch(QNetworkAccessManager())
    started = time.perf_counter()
    outcomes = await annotate_under_qtasyncio(
        annotator, records, store=store, manager=watch.manager, **options
    )
    elapsed = time.perf_counter() - started
    await watch.wait_all_gone()
    return {
        "outcomes": outcomes_json(outcomes),
        "elapsed": elapsed,
        "requests": server.requests,
        "faults": {str(k): v for k, v in server.faults_served.items()},
        "retries": annotator.stats.retries,
        **watch.report(),
    }


async def success(server: FakeVisionServer, store: ImageStore) -> dict[str, Any]:
    """Annotate six images, three at a time, with the private manager."""
    server.latency = 0.2
    annotator = make_annotator(server)
    outcomes = await annotate_under_qtasyncio(
        annotator, records(store, 6), store=store, concurrency=3
    )
    return {
        "outcomes": outcomes_json(outcomes),
        "requests": server.requests,
        "max_concurrent": server.max_concurrent,
        "stats_requests": annotator.stats.requests,
    }


async def server_error(server: FakeVisionServer, store: ImageStore) -> dict[str, Any]:
    """Serve one 500, then answer normally."""
    server.inject(Fault.SERVER_ERROR)
    annotator = make_annotator(server, retry=RetryPolicy(base_delay=0.05, jitter=0))
    return await run_annotation(server, records(store, 1), store, annotator)


async def rate_limit(server: FakeVisionServer, store: ImageStore) -> dict[str, Any]:
    """Serve one 429 with Retry-After: 0.5 to a policy whose own backoff is 0.01 s."""
    server.inject(Fault.RATE_LIMIT, retry_after=0.5)
    annotator = make_annotator(server, retry=RetryPolicy(base_delay=0.01, jitter=0))
    return await run_annotation(server, records(store, 1), store, annotator)


async def timeout(server: FakeVisionServer, store: ImageStore) -> dict[str, Any]:
    """Hold every request longer than the 0.3 s timeout; two attempts."""
    server.fail_always(Fault.TIMEOUT)
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, jitter=0)
    annotator = make_annotator(server, timeout=0.3, retry=policy)
    return await run_annotation(server, records(store, 1), store, annotator)


async def cancel(server: FakeVisionServer, store: ImageStore) -> dict[str, Any]:
    """Cancel the task while two held requests are in flight and two wait for a slot."""
    server.fail_always(Fault.TIMEOUT)
    watch = ReplyWatch(QNetworkAccessManager())
    task = asyncio.ensure_future(
        annotate_under_qtasyncio(
            make_annotator(server), records(store, 4), store=store, concurrency=2,
            manager=watch.manager,
        )
    )  # fmt: skip
    arrived = await asyncio.to_thread(server.wait_for_requests, 2, 20.0)
    in_flight_before = len(watch.manager.findChildren(QNetworkReply))
    started = time.perf_counter()
    task.cancel()
    propagated = False
    try:
        await task
    except asyncio.CancelledError:
        propagated = True
    cancel_s = time.perf_counter() - started
    await watch.wait_all_gone()
    return {
        "arrived": arrived,
        "in_flight_before": in_flight_before,
        "propagated": propagated,
        "task_cancelled": task.cancelled(),
        "cancel_s": cancel_s,
        "requests": server.requests,
        **watch.report(),
    }


async def transport(server: FakeVisionServer, store: ImageStore) -> dict[str, Any]:
    """Call qt_post directly: HTTP error statuses come back, network failures raise."""
    watch = ReplyWatch(QNetworkAccessManager())
    url = f"{server.base_url}/chat/completions"
    server.inject(Fault.RATE_LIMIT, retry_after=0.25)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "rate_limit": lambda: qt_post(watch.manager, url, JSON_HEADERS, b"{}", timeout_s=5),
        "bad_request": lambda: qt_post(watch.manager, url, JSON_HEADERS, b"{}", timeout_s=5),
        "wrong_key": lambda: qt_post(
            watch.manager, url, {**JSON_HEADERS, "Authorization": "Bearer nope"}, b"{}", timeout_s=5
        ),
        "not_found": lambda: qt_post(
            watch.manager, f"{server.base_url}/nowhere", JSON_HEADERS, b"{}", timeout_s=5
        ),
        "refused": lambda: qt_post(
            watch.manager, f"http://127.0.0.1:{closed_port()}/v1", JSON_HEADERS, b"", timeout_s=5
        ),
    }
    results = {name: await call_json(call) for name, call in calls.items()}
    await watch.wait_all_gone()
    return {"calls": results, **watch.report()}


async def call_json(call: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    """Return a qt_post result or its QtHttpError as JSON."""
    try:
        status, headers, body = await call()
    except QtHttpError as error:
        return {"error": str(error), "code": error.code, "timed_out": error.timed_out}
    lowered = {name.lower(): value for name, value in headers.items()}
    return {"status": status, "headers": lowered, "body": body.decode()}


def closed_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (just released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def records(store: ImageStore, count: int) -> list[ImageRecord]:
    """Return the first ``count`` registered images."""
    found = store.get_many(list(range(1, count + 1)))
    if len(found) != count:
        raise SystemExit(f"The database holds {len(found)} of images 1..{count}; register more.")
    return found


SCENARIOS = {f.__name__: f for f in (success, server_error, rate_limit, timeout, cancel, transport)}


def main() -> int:
    """Run the scenario named on the command line under QtAsyncio and print its result."""
    scenario, db = sys.argv[1], sys.argv[2]
    os.environ["WORKERKIT_API_KEY"] = KEY
    store = ImageStore(db)
    try:
        with FakeVisionServer(required_key=KEY, hang_seconds=30) as server:
            result = QtAsyncio.run(SCENARIOS[scenario](server, store), keep_running=False)
    finally:
        store.close()
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
