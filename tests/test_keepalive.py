"""The test harness holds legacy workers until their threads end (tests.keepalive)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import tests.keepalive
from tests.keepalive import legacy_workers_kept
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.legacy_workers.manager import WorkerManager
from workerkit.imagelib.legacy_workers.search_worker import SearchWorker
from workerkit.imagelib.service import WorkerService
from workerkit.testing._threads import qthreads_alive

# Each test drives the image library's legacy stack: in a child pytest (isolation).
pytestmark = [pytest.mark.timeout(60), pytest.mark.workerkit_isolated]

LONG = 30_000


def test_keepalive_holds_each_worker_and_releases_it_once_threads_end(
    qtbot, make_service: Callable[..., WorkerService], registered_store: ImageStore
) -> None:
    service = make_service(registered_store, "legacy")
    before = WorkerManager.start_worker
    with legacy_workers_kept() as held:
        with qtbot.waitSignal(service.search_finished, timeout=LONG):
            service.start_search(SearchConditions())
        assert [type(worker) for worker in held] == [SearchWorker]
        qtbot.waitUntil(lambda: qthreads_alive() == 0, timeout=LONG)
    assert held == [], "with every thread gone, the wrappers are released"
    assert WorkerManager.start_worker is before, "the manager's own start_worker is back"


def test_keepalive_keeps_a_worker_whose_thread_still_runs(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    fake_api: FakeVisionServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unreleased: list[object] = []
    monkeypatch.setattr(tests.keepalive, "_UNRELEASED", unreleased)
    fake_api.latency = 0.5  # the job's thread is still in its request when the block ends
    service = make_service(registered_store, "legacy")
    ended: list[object] = []
    service.annotation_finished.connect(ended.append)
    with legacy_workers_kept() as held:
        service.start_annotation([1], ["http"])
        qtbot.waitUntil(lambda: fake_api.requests >= 1, timeout=LONG)
        [worker] = held
    assert unreleased == [worker], "a worker whose thread runs is kept for the process"
    qtbot.waitUntil(lambda: bool(ended), timeout=LONG)
