"""Jobs of both kinds through JobService, on the legacy and on the simplified stack."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pytestqt.qtbot import QtBot

from examples.numbers_app.domain import PageRecord, read_pages
from examples.numbers_app.server import PageServer, page_body
from examples.numbers_app.tests.jobs import LONG_LIMIT, JobLog, is_pool_progress
from examples.numbers_app.tests.support import expected_primes
from examples.numbers_app.workers import fetch, primes
from workerkit import STACKS, JobCanceled, JobState, WorkerError


def settle(qtbot: QtBot, service: Any) -> None:
    """Wait until the service has no active job, then let late signals arrive."""
    qtbot.waitUntil(lambda: service.active_count() == 0, timeout=5000)
    qtbot.wait(100)  # an observation window for a stray second terminal signal


@pytest.mark.parametrize("stack", STACKS)
def test_primes_job_finishes_once_with_the_count(
    qtbot: QtBot, make_service: Callable[..., Any], stack: str
) -> None:
    """Finish a primes job with the right result and exactly one terminal signal."""
    service = make_service(stacks={"primes": stack})
    log = JobLog(service)
    job = service.start(primes, 30_000)
    with qtbot.waitSignal(job.finished, timeout=5000) as finished:
        pass
    job_id = job.id
    assert job_id.startswith("primes_") and job.kind == "primes"
    assert finished.args == [expected_primes(30_000)] == [job.result()]
    settle(qtbot, service)
    assert log.terminals(job_id) == ["finished"]
    assert log.of(job_id, "started") == [None]
    progress = log.of(job_id, "progressed")
    assert progress, "no progress reached the GUI"
    assert all(is_pool_progress(p) for p in progress) == (stack == "simplified")


@pytest.mark.parametrize("stack", STACKS)
def test_fetch_job_stores_every_page(
    qtbot: QtBot,
    make_service: Callable[..., Any],
    local_server: PageServer,
    tmp_path: Path,
    stack: str,
) -> None:
    """Finish a fetch job with every page stored in the SQLite file, once."""
    service = make_service(stacks={"fetch": stack})
    log = JobLog(service)
    urls = local_server.urls(5)
    db_path = tmp_path / f"{stack}.sqlite"
    job = service.start(fetch, urls, str(db_path))
    assert job.wait(5000)
    job_id = job.id
    assert job_id.startswith("fetch_")
    expected = tuple(PageRecord.of(url, page_body(n)) for n, url in enumerate(urls, start=1))
    assert job.result().pages == expected
    assert read_pages(db_path) == {page.url: page for page in expected}
    settle(qtbot, service)
    assert log.terminals(job_id) == ["finished"]


@pytest.mark.parametrize("stack", STACKS)
def test_fetch_job_of_a_missing_page_fails_once(
    qtbot: QtBot,
    make_service: Callable[..., Any],
    local_server: PageServer,
    tmp_path: Path,
    stack: str,
) -> None:
    """Fail a fetch job whose page is missing with an exception naming the HTTP status.

    The legacy worker reports its failure as a string; it arrives as a WorkerError.
    """
    service = make_service(stacks={"fetch": stack})
    log = JobLog(service)
    urls = [f"{local_server.base_url}/missing"]
    job = service.start(fetch, urls, str(tmp_path / "pages.sqlite"))
    with qtbot.waitSignal(job.failed, timeout=5000) as failed:
        pass
    job_id = job.id
    error = failed.args[0]
    assert job.error is error
    expected = WorkerError if stack == "legacy" else aiohttp.ClientResponseError
    assert isinstance(error, expected), repr(error)
    assert "404" in str(error)
    settle(qtbot, service)
    assert log.terminals(job_id) == ["failed"]


@pytest.mark.parametrize("stack", STACKS)
def test_cancel_of_a_long_primes_job_ends_canceled(
    qtbot: QtBot, make_service: Callable[..., Any], stack: str
) -> None:
    """End a canceled long prime count with ``canceled`` and no other terminal signal."""
    service = make_service(stacks={"primes": stack})
    log = JobLog(service)
    job = service.start(primes, LONG_LIMIT)
    with qtbot.waitSignal(job.progressed, timeout=5000):
        pass
    assert service.is_active(job)
    assert service.active_job_ids() == [job.id]
    with qtbot.waitSignal(job.canceled, timeout=3000):
        assert job.cancel()
    assert job.state is JobState.CANCELED
    with pytest.raises(JobCanceled):
        job.result()
    settle(qtbot, service)
    assert log.terminals(job.id) == ["canceled"]
    assert not job.cancel()


def test_cancel_interrupts_a_fetch_waiting_on_the_network(
    qtbot: QtBot, make_service: Callable[..., Any], slow_server: PageServer, tmp_path: Path
) -> None:
    """End a simplified fetch stuck in a slow response at once, with ``canceled``."""
    service = make_service(stacks={"fetch": "simplified"})
    log = JobLog(service)
    db_path = tmp_path / "pages.sqlite"
    job = service.start(fetch, slow_server.urls(3), str(db_path))
    qtbot.waitUntil(lambda: slow_server.requests >= 1, timeout=3000)
    with qtbot.waitSignal(job.canceled, timeout=1000):
        assert job.cancel()
    settle(qtbot, service)
    assert log.terminals(job.id) == ["canceled"]
    assert read_pages(db_path) == {}


def test_cancel_all_ends_every_simplified_job(
    qtbot: QtBot, make_service: Callable[..., Any]
) -> None:
    """Cancel two long prime counts at once and see all_jobs_finished.

    The service-wide style (ids and broadcast signals, as a dashboard uses) beside the
    handles of the other tests: both keep working.
    """
    service = make_service(stacks={"primes": "simplified"}, max_threads=2)
    log = JobLog(service)
    with qtbot.waitSignal(service.job_started, timeout=5000):
        first = service.start("primes", LONG_LIMIT)
    second = service.start("primes", LONG_LIMIT)
    assert first != second
    assert service.active_count() == 2
    with qtbot.waitSignal(service.all_jobs_finished, timeout=3000):
        service.cancel_all()
    settle(qtbot, service)
    assert log.terminals(first) == log.terminals(second) == ["canceled"]
