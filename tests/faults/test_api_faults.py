"""The HTTP annotator against a misbehaving vision API: failures are stored per image; the job ends.

The fake server (workerkit.imagelib.domain.fakeapi) serves the faults; retries use a short
RetryPolicy so a test waits tenths of a second, not the production backoff.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from workerkit import STACKS
from workerkit.imagelib.domain.annotators import HttpAnnotator, HttpAnnotatorConfig, RetryPolicy
from workerkit.imagelib.domain.fakeapi import FakeVisionServer, Fault
from workerkit.imagelib.domain.results import AnnotationOutcome, AnnotationResult
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.service import WorkerService

from .conftest import EventLog, run_job

# Every case runs on both stacks.
pytestmark = [pytest.mark.timeout(120), pytest.mark.parametrize("stack", STACKS)]

ATTEMPTS = 3
IMAGES = 2
SECRET = "sk-fault-suite-4d3c2b1a0f9e8d7c6b5a"


HttpService = Callable[..., WorkerService]
Annotate = Callable[..., tuple[AnnotationResult, list[dict[str, AnnotationOutcome]]]]


@pytest.fixture
def http_service(
    make_service: Callable[..., WorkerService], registered_store: ImageStore, stack: str
) -> HttpService:
    """Return a factory of services on ``stack`` whose 'http' annotator reads the environment
    (overridden by keyword arguments of HttpAnnotatorConfig), with quick retries."""

    def build(**config: Any) -> WorkerService:
        retry = RetryPolicy(max_attempts=ATTEMPTS, base_delay=0.05, max_delay=2.0, jitter=0.0)
        annotator = HttpAnnotator(replace(HttpAnnotatorConfig.from_env(), retry=retry, **config))
        return make_service(registered_store, stack, annotators={"http": annotator})

    return build


@pytest.fixture
def annotate(qtbot: object, http_service: HttpService, registered_store: ImageStore) -> Annotate:
    """Return a function that annotates the first ``count`` images with 'http' on a new
    service (keyword arguments configure its annotator); it returns the result and the
    outcomes by image."""

    def run(
        count: int = IMAGES, **config: Any
    ) -> tuple[AnnotationResult, list[dict[str, AnnotationOutcome]]]:
        service = http_service(**config)
        ids = [record.id for record in registered_store.get_many(list(range(1, count + 1)))]
        log = EventLog.attach(service)
        event, result = run_job(qtbot, log, lambda: service.start_annotation(ids, ["http"]))
        assert event == "finished", result
        assert isinstance(result, AnnotationResult)
        assert list(result.results) == ids
        return result, [result.results[image_id] for image_id in ids]

    return run


def _stored_results(store: ImageStore, count: int = IMAGES) -> list[dict[str, Any]]:
    return [store.annotations(image_id)[-1]["result"] for image_id in range(1, count + 1)]


def test_annotation_gives_up_on_repeated_server_errors_per_image(
    fake_api: FakeVisionServer,
    annotate: Annotate,
    registered_store: ImageStore,
) -> None:
    fake_api.fail_always(Fault.SERVER_ERROR)
    result, outcomes = annotate()
    assert result.error_count == IMAGES
    for outcome in outcomes:
        error = outcome["http"].error or ""
        assert "HTTP 500" in error and f"gave up after {ATTEMPTS} attempts" in error, error
    assert fake_api.requests == IMAGES * ATTEMPTS
    assert all("HTTP 500" in stored["error"] for stored in _stored_results(registered_store))


def test_annotation_recovers_from_one_server_error(
    fake_api: FakeVisionServer,
    annotate: Annotate,
) -> None:
    fake_api.inject(Fault.SERVER_ERROR)
    result, outcomes = annotate(count=1)
    assert result.error_count == 0
    assert outcomes[0]["http"].tags
    assert fake_api.requests == 2


def test_annotation_honours_retry_after_on_429(
    fake_api: FakeVisionServer,
    annotate: Annotate,
) -> None:
    fake_api.inject(Fault.RATE_LIMIT, retry_after=0.5)
    result, outcomes = annotate(count=1)
    assert outcomes[0]["http"].tags
    assert fake_api.faults_served == {Fault.RATE_LIMIT: 1}
    assert result.processing_time >= 0.5, "the retry came before the server's Retry-After"


def test_annotation_reports_rate_limits_that_never_end(
    fake_api: FakeVisionServer,
    annotate: Annotate,
) -> None:
    fake_api.fail_always(Fault.RATE_LIMIT, retry_after=0.05)
    result, outcomes = annotate()
    assert result.error_count == IMAGES
    for outcome in outcomes:
        error = outcome["http"].error or ""
        assert "HTTP 429" in error and "Lower the number of concurrent requests" in error, error


def test_annotation_times_out_a_reply_that_never_comes(
    fake_api: FakeVisionServer,
    annotate: Annotate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKERKIT_API_TIMEOUT", "0.3")
    fake_api.fail_always(Fault.TIMEOUT)  # the server holds each request for 5 s
    result, outcomes = annotate()
    for outcome in outcomes:
        error = outcome["http"].error or ""
        assert "within 0.3 s" in error and "raise WORKERKIT_API_TIMEOUT" in error, error
    # Sequential (legacy): 2 images x 3 attempts x 0.3 s plus backoff; far below one 5 s hang.
    assert result.processing_time < 4.0


def test_annotation_retries_a_slow_reply_and_gets_the_tags(
    fake_api: FakeVisionServer,
    annotate: Annotate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKERKIT_API_TIMEOUT", "0.3")
    fake_api.inject(Fault.TIMEOUT)
    result, outcomes = annotate(count=1)
    assert result.error_count == 0
    assert outcomes[0]["http"].tags
    assert fake_api.requests == 2


def test_annotation_reports_malformed_json_without_retrying(
    fake_api: FakeVisionServer,
    annotate: Annotate,
) -> None:
    fake_api.fail_always(Fault.MALFORMED)
    result, outcomes = annotate()
    assert result.error_count == IMAGES
    for outcome in outcomes:
        error = outcome["http"].error or ""
        assert "invalid JSON" in error and "OpenAI-compatible /v1 endpoint" in error, error
    assert fake_api.requests == IMAGES


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_annotation_reports_a_refused_connection(
    fake_api: FakeVisionServer,
    annotate: Annotate,
) -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}/v1"
    result, outcomes = annotate(base_url=base_url)
    assert result.error_count == IMAGES
    for outcome in outcomes:
        error = outcome["http"].error or ""
        assert f"the connection to {base_url}/chat/completions failed" in error, error
        assert "Check WORKERKIT_API_BASE" in error
    assert fake_api.requests == 0


def test_annotation_of_a_reply_with_no_tags_stores_an_empty_list(
    fake_api: FakeVisionServer,
    annotate: Annotate,
    registered_store: ImageStore,
) -> None:
    fake_api.fail_always(Fault.NO_TAGS)
    result, outcomes = annotate()
    assert result.error_count == 0
    assert [outcome["http"] for outcome in outcomes] == [AnnotationOutcome(tags=())] * IMAGES
    assert _stored_results(registered_store) == [{"tags": []}] * IMAGES


def test_api_key_never_appears_in_logs_errors_results_or_the_database(
    qtbot,
    stack: str,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("WORKERKIT_API_KEY", SECRET)
    # The "echo" API wants another key: its 401 quotes the one it got, as real APIs do.
    with (
        FakeVisionServer(required_key=SECRET) as server,
        FakeVisionServer(required_key="another key") as key_echo,
    ):
        monkeypatch.setenv("WORKERKIT_API_BASE", server.base_url)
        for fault in (Fault.SERVER_ERROR, Fault.RATE_LIMIT, Fault.MALFORMED):
            server.inject(fault)
        retry = RetryPolicy(max_attempts=ATTEMPTS, base_delay=0.01, jitter=0.0)
        config = replace(HttpAnnotatorConfig.from_env(), retry=retry)
        annotators = {
            "http": HttpAnnotator(config),
            "echo": HttpAnnotator(replace(config, base_url=key_echo.base_url)),
        }
        service = make_service(registered_store, stack, annotators=annotators)
        log = EventLog.attach(service)
        ids = list(range(1, 5))
        event, result = run_job(qtbot, log, lambda: service.start_annotation(ids, ["http", "echo"]))
        service.shutdown(timeout_ms=5000)
    assert event == "finished", result
    assert isinstance(result, AnnotationResult)
    errors = [o.error or "" for per_image in result.results.values() for o in per_image.values()]
    assert server.faults_served == dict.fromkeys(
        (Fault.SERVER_ERROR, Fault.RATE_LIMIT, Fault.MALFORMED), 1
    )
    assert sum("invalid JSON" in error for error in errors) == 1
    echoed = [e for e in errors if "Incorrect API key provided" in e]
    assert len(echoed) == len(ids) and all("<redacted>" in e for e in echoed), echoed
    shown = [caplog.text, repr(result), json.dumps(result.to_dict()), *map(str, log.events)]
    assert all(SECRET not in text for text in shown)
    registered_store.close()
    files = [registered_store.path.with_name(registered_store.path.name + s) for s in ("-wal", "")]
    assert all(SECRET.encode() not in path.read_bytes() for path in files if path.exists())
