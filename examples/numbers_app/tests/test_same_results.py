"""Both implementations of each kind, called directly, agree with each other and the truth."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from examples.numbers_app.domain import FetchResult, PageRecord, PrimeResult, read_pages
from examples.numbers_app.legacy_workers import FetchThread, PrimeCountWorker
from examples.numbers_app.pool_jobs import count_primes, fetch_pages
from examples.numbers_app.server import PageServer, page_body
from examples.numbers_app.tests.support import StubCanceled, StubControl, expected_primes
from examples.numbers_app.workers import compare_primes

LIMITS = (0, 2, 3, 100, 32_768, 32_769, 70_001)


def run_prime_worker(qtbot: QtBot, limit: int) -> tuple[PrimeResult, list[object]]:
    """Run a PrimeCountWorker on its own QThread, the pre-workerkit way; return its result."""
    thread = QThread()
    worker = PrimeCountWorker(limit)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    progress: list[object] = []
    worker.progress_updated.connect(progress.append)
    try:
        with qtbot.waitSignal(worker.finished, timeout=5000) as blocker:
            thread.start()
    finally:
        thread.quit()
        assert thread.wait(5000)
    return blocker.args[0], progress


def run_fetch_thread(qtbot: QtBot, urls: list[str], db_path: Path) -> FetchResult:
    """Run a FetchThread, the pre-workerkit way; return what it fetched."""
    thread = FetchThread(urls, str(db_path))
    try:
        with qtbot.waitSignal(thread.fetched, timeout=5000) as blocker:
            thread.start()
    finally:
        assert thread.wait(5000)
    return blocker.args[0]


@pytest.mark.parametrize("limit", LIMITS)
def test_count_primes_matches_trial_division(limit: int) -> None:
    """Count the primes below each limit as trial division does."""
    assert count_primes(StubControl(), limit) == expected_primes(limit)


@pytest.mark.parametrize("limit", LIMITS)
def test_legacy_worker_matches_the_pool_function(qtbot: QtBot, limit: int) -> None:
    """Give the same prime result on the QThread worker as on the pool function."""
    legacy, progress = run_prime_worker(qtbot, limit)
    candidate = count_primes(StubControl(), limit)
    assert compare_primes(legacy, candidate) == []
    assert legacy == candidate
    assert all(isinstance(p, int) for p in progress)
    assert progress[-1:] == ([] if limit == 0 else [100])


def test_count_primes_reports_progress_up_to_100() -> None:
    """Report rising percentages that end at 100."""
    control = StubControl()
    count_primes(control, 100_000)
    percentages = [percentage for percentage, _ in control.progress_calls]
    assert percentages == sorted(percentages)
    assert percentages[-1] == 100
    assert "9592 primes below 100000" in control.progress_calls[-1][1]


def test_count_primes_stops_at_the_first_check_after_cancel() -> None:
    """Raise the control's cancel exception instead of finishing."""
    control = StubControl()
    control.cancel()
    with pytest.raises(StubCanceled):
        count_primes(control, 5_000_000)
    assert control.progress_calls == []


def test_fetch_stacks_store_the_same_pages(
    qtbot: QtBot, local_server: PageServer, tmp_path: Path
) -> None:
    """Store the same length and SHA-256 per page from the QThread and from aiohttp."""
    urls = local_server.urls(6)
    legacy = run_fetch_thread(qtbot, urls, tmp_path / "legacy.sqlite")
    candidate = asyncio.run(fetch_pages(StubControl(), urls, str(tmp_path / "pool.sqlite")))
    expected = tuple(PageRecord.of(url, page_body(n)) for n, url in enumerate(urls, start=1))
    assert legacy.pages == candidate.pages == expected
    assert candidate.db_path == str(tmp_path / "pool.sqlite")
    stored = read_pages(tmp_path / "pool.sqlite")
    assert stored == read_pages(tmp_path / "legacy.sqlite")
    assert stored == {page.url: page for page in expected}


def test_fetch_pages_fails_on_a_missing_page(local_server: PageServer, tmp_path: Path) -> None:
    """Raise on an HTTP error instead of storing the error page."""
    urls = [local_server.url(1), f"{local_server.base_url}/missing"]
    with pytest.raises(Exception, match="404"):
        asyncio.run(fetch_pages(StubControl(), urls, str(tmp_path / "pool.sqlite")))
    assert list(read_pages(tmp_path / "pool.sqlite")) == [local_server.url(1)]


def test_fetch_thread_reports_a_missing_page_as_failed(
    qtbot: QtBot, local_server: PageServer, tmp_path: Path
) -> None:
    """Emit failed with the HTTP error on the QThread stack."""
    thread = FetchThread([f"{local_server.base_url}/missing"], str(tmp_path / "legacy.sqlite"))
    try:
        with qtbot.waitSignal(thread.failed, timeout=5000) as blocker:
            thread.start()
    finally:
        assert thread.wait(5000)
    assert "404" in blocker.args[0]
