"""annotate_under_qtasyncio and qt_post under real QtAsyncio, and the run-time socket probe.

QtAsyncio.run() takes over the QCoreApplication and is not safe to start inside
pytest-qt's, so every scenario runs in a child interpreter
(tests/scripts/qtasyncio_*.py) that prints its result as one RESULT line of JSON.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtNetwork import QNetworkAccessManager

from workerkit.imagelib.domain.annotators import HttpAnnotator, HttpAnnotatorConfig
from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.pool_workers.qt_http import qt_post
from workerkit.imagelib.pool_workers.qtasyncio_runtime import (
    annotate_under_qtasyncio,
    qtasyncio_socket_support,
)

from .child import run_script

RESULT_PREFIX = "RESULT "
SCRIPT_TIMEOUT_S = 60
# QtAsyncio computes timer intervals from wall-clock milliseconds; its sleeps were
# seen ending up to 5 ms early per 100 ms.
TIMER_SLACK = 0.95


def run_result(name: str, *args: str) -> dict[str, Any]:
    """Run tests/scripts/NAME in a fresh interpreter and return its RESULT JSON."""
    run = run_script(name, *args, timeout_s=SCRIPT_TIMEOUT_S)
    assert run.ok, f"{name} {' '.join(args)}: {run.describe()}"
    found = run.marked(RESULT_PREFIX)
    assert found, f"{name} printed no RESULT line: {run.describe()}"
    return json.loads(found[-1])


def run_scenario(scenario: str, store: ImageStore) -> dict[str, Any]:
    """Run one scenario of qtasyncio_annotate.py against ``store``'s database file."""
    return run_result("qtasyncio_annotate.py", scenario, str(store.path))


def stored(store: ImageStore, image_id: int) -> list[dict[str, Any]]:
    """Return the (model, result) pairs stored for ``image_id``."""
    return [{"model": a["model"], **a["result"]} for a in store.annotations(image_id)]


def test_qtasyncio_annotate_stores_same_tags_as_blocking_annotator(
    registered_store: ImageStore, fake_api: FakeVisionServer
) -> None:
    result = run_scenario("success", registered_store)
    blocking = HttpAnnotator(HttpAnnotatorConfig.from_env())
    records = registered_store.get_many(list(range(1, 7)))
    expected = {str(r.id): {"tags": blocking.annotate(r.path), "error": None} for r in records}
    assert result["outcomes"] == expected
    assert result["requests"] == result["stats_requests"] == 6
    assert 2 <= result["max_concurrent"] <= 3, result
    for record in records:
        assert stored(registered_store, record.id) == [
            {"model": "http", "tags": expected[str(record.id)]["tags"]}
        ]


def test_qtasyncio_annotate_retries_server_error_then_succeeds(
    registered_store: ImageStore,
) -> None:
    result = run_scenario("server_error", registered_store)
    assert result["outcomes"]["1"]["error"] is None, result
    assert result["outcomes"]["1"]["tags"], result
    assert (result["requests"], result["faults"], result["retries"]) == (
        2,
        {"server_error": 1},
        1,
    )
    assert result["reply_errors"] == ["InternalServerError", "NoError"]
    assert (result["replies_destroyed"], result["alive"]) == (2, 0)
    tags = result["outcomes"]["1"]["tags"]
    assert stored(registered_store, 1) == [{"model": "http", "tags": tags}]


def test_qtasyncio_annotate_waits_retry_after_on_rate_limit(
    registered_store: ImageStore,
) -> None:
    result = run_scenario("rate_limit", registered_store)
    assert result["outcomes"]["1"]["error"] is None, result
    assert (result["requests"], result["faults"]) == (2, {"rate_limit": 1})
    # The policy's own backoff is 0.01 s; only the server's Retry-After: 0.5 explains this.
    assert result["elapsed"] >= 0.5 * TIMER_SLACK, result


def test_qtasyncio_annotate_gives_up_after_timeouts(registered_store: ImageStore) -> None:
    result = run_scenario("timeout", registered_store)
    error = result["outcomes"]["1"]["error"]
    assert "within 0.3 s (gave up after 2 attempts)" in error, error
    assert result["reply_errors"] == ["TimeoutError", "TimeoutError"]
    assert result["requests"] == 2
    # Two 0.3 s transfer timeouts, far less than the 30 s the server holds each request.
    assert 2 * 0.3 * TIMER_SLACK <= result["elapsed"] < 5, result
    assert stored(registered_store, 1) == [{"model": "http", "error": error}]
    assert (result["replies_destroyed"], result["alive"]) == (2, 0)


def test_qtasyncio_cancel_aborts_in_flight_replies(registered_store: ImageStore) -> None:
    result = run_scenario("cancel", registered_store)
    assert result["arrived"] and result["in_flight_before"] == 2, result
    assert result["propagated"] and result["task_cancelled"], result
    assert result["cancel_s"] < 0.5, result
    assert result["reply_errors"] == ["OperationCanceledError"] * 2
    assert (result["replies_destroyed"], result["alive"]) == (2, 0)
    # The two images waiting for a slot were never sent.
    assert result["requests"] == 2
    assert all(stored(registered_store, image_id) == [] for image_id in range(1, 5))


def test_qt_post_returns_http_errors_and_raises_on_refused(registered_store: ImageStore) -> None:
    calls = (result := run_scenario("transport", registered_store))["calls"]
    assert calls["rate_limit"]["status"] == 429
    assert calls["rate_limit"]["headers"]["retry-after"] == "0.25"
    assert json.loads(calls["rate_limit"]["body"])["error"]["message"] == "Injected rate limit."
    assert [calls[n]["status"] for n in ("bad_request", "wrong_key", "not_found")] == [
        400,
        401,
        404,
    ]
    refused = calls["refused"]
    assert (refused["code"], refused["timed_out"]) == ("ConnectionRefusedError", False)
    assert refused["error"].startswith("The POST to http://127.0.0.1:"), refused
    assert refused["error"].endswith("check the URL and that the server is running."), refused
    assert (result["replies_destroyed"], result["alive"]) == (5, 0)


def test_qtasyncio_annotate_rejects_zero_concurrency(store: ImageStore) -> None:
    annotator = HttpAnnotator(HttpAnnotatorConfig(base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(ValueError, match=r"needs concurrency >= 1, got 0; use 8"):
        asyncio.run(annotate_under_qtasyncio(annotator, [], store=store, concurrency=0))


def test_qtasyncio_annotate_without_running_qt_loop_raises(
    qapp: QCoreApplication, registered_store: ImageStore
) -> None:
    annotator = HttpAnnotator(HttpAnnotatorConfig(base_url="http://127.0.0.1:9/v1"))
    records = registered_store.get_many([1])
    manager = QNetworkAccessManager()
    # asyncio.run() on the test's thread: a plain asyncio loop, no Qt event loop running.
    with pytest.raises(RuntimeError, match=r"needs a running Qt event loop on this thread"):
        asyncio.run(
            annotate_under_qtasyncio(annotator, records, store=registered_store, manager=manager)
        )
    with pytest.raises(RuntimeError, match=r"HttpAnnotator.annotate_async with aiohttp instead"):
        asyncio.run(qt_post(manager, "http://127.0.0.1:9/v1", {}, b"", timeout_s=1))
    assert registered_store.annotations(1) == []


def test_qtasyncio_socket_probe_matches_actual_aiohttp_attempt(
    fake_api: FakeVisionServer,
) -> None:
    support = qtasyncio_socket_support()
    attempt = run_result("qtasyncio_sockets.py", f"{fake_api.base_url}/chat/completions")
    assert support.supported == attempt["ok"], (support, attempt)
    if not support.supported:
        # PySide6 6.11.3: both say NotImplementedError (create_connection, sock_connect).
        assert attempt["error_type"] in support.detail, (support, attempt)
        assert "QNetworkAccessManager" in support.detail


def test_qtasyncio_socket_support_cached_per_process() -> None:
    assert qtasyncio_socket_support() is qtasyncio_socket_support()
