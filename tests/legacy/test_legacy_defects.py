"""Each known defect of the legacy stack (D1-D10 in the spec), demonstrated on purpose.

These tests pass when the defect is there: the legacy stack must keep the
original's behaviour so the comparison can measure it. The contract suite
checks the same situations for the correct behaviour on both stacks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPixmap

import workerkit.imagelib.legacy_workers.stack
import workerkit.imagelib.legacy_workers.thumbnail_worker
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.fakeapi import FakeVisionServer, spawn_fake_server
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.sample import SampleManifest
from workerkit.imagelib.service import WorkerService

from ..child import run_script
from ..conftest import qthreads_alive

# Each test drives the image library's legacy stack: in a child pytest (isolation).
pytestmark = [pytest.mark.timeout(120), pytest.mark.workerkit_isolated]

LONG = 60_000


@pytest.fixture
def ticking_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give every legacy job id its own second, so only the defect under test shows."""
    seconds = iter(range(1_000_000, 2_000_000))
    monkeypatch.setattr(
        workerkit.imagelib.legacy_workers.stack, "time", SimpleNamespace(time=lambda: next(seconds))
    )


@pytest.fixture
def slow_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVisionServer]:
    """Serve the fake vision API with 0.8 s per request."""
    with FakeVisionServer(latency=0.8, required_key="k") as server:
        monkeypatch.setenv("WORKERKIT_API_BASE", server.base_url)
        monkeypatch.setenv("WORKERKIT_API_KEY", "k")
        yield server


def _start_annotation_in_flight(
    qtbot, service: WorkerService, store: ImageStore, server: FakeVisionServer
) -> str:
    job_id = service.start_annotation([store.get_many([1])[0].id], ["http"])
    qtbot.waitUntil(lambda: server.requests >= 1, timeout=LONG)
    return job_id


@pytest.mark.legacy_defect("D1")
def test_legacy_canceled_job_stays_active_forever(
    qtbot,
    slow_api: FakeVisionServer,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, "legacy")
    job_id = _start_annotation_in_flight(qtbot, service, registered_store, slow_api)
    with qtbot.waitSignal(service.annotation_canceled, timeout=LONG):
        service.cancel_annotation(job_id)
    with qtbot.assertNotEmitted(service.all_workers_finished, wait=500):
        pass
    assert service.is_worker_active(job_id)
    assert service.get_active_worker_count() == 1


@pytest.mark.legacy_defect("D2")
def test_legacy_cancel_is_reported_as_an_error(
    qtbot,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    sample_library: SampleManifest,
) -> None:
    service = make_service(store, "legacy")
    events: list[tuple[str, str]] = []
    service.batch_registration_canceled.connect(lambda job: events.append(("canceled", job)))
    service.batch_registration_error.connect(lambda message: events.append(("error", message)))
    with qtbot.waitSignal(service.worker_batch_progress, timeout=LONG):
        job_id = service.start_batch_registration(sample_library.root)
    service.cancel_batch_registration(job_id)
    qtbot.waitUntil(lambda: len(events) == 2, timeout=LONG)
    assert events == [("canceled", job_id), ("error", "worker error: operation was canceled")]


@pytest.mark.legacy_defect("D2")
def test_legacy_cancel_after_the_last_check_sends_no_terminal_signal(
    qtbot,
    slow_api: FakeVisionServer,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, "legacy")
    job_id = _start_annotation_in_flight(qtbot, service, registered_store, slow_api)
    service.cancel_annotation(job_id)
    with (
        qtbot.assertNotEmitted(service.annotation_finished, wait=500),
        qtbot.assertNotEmitted(service.annotation_error, wait=0),
    ):
        pass


@pytest.mark.legacy_defect("D3")
def test_legacy_cancel_blocks_the_gui_thread_until_the_next_check(
    qtbot,
    slow_api: FakeVisionServer,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, "legacy")
    job_id = _start_annotation_in_flight(qtbot, service, registered_store, slow_api)
    started = time.perf_counter()
    service.cancel_annotation(job_id)
    blocked = time.perf_counter() - started
    # The request is in flight for up to 0.8 s; the GUI thread waited for it in cancel.
    assert blocked > 0.25, f"cancel returned after {blocked:.3f} s"


@pytest.mark.legacy_defect("D3")
@pytest.mark.legacy_defect("D4")
@pytest.mark.slow
def test_legacy_cancel_in_a_long_call_blocks_2s_then_terminates(registered_db: Path, tmp_path):
    db = tmp_path / "copy.sqlite"
    db.write_bytes(registered_db.read_bytes())
    run = run_script("legacy_cancel_in_blocking_call.py", db, 6, timeout_s=90)
    measured = run.measured
    assert measured is not None, f"no measurement: {run.describe()}"
    assert measured["terminated"] is True
    assert 1.9 <= measured["blocked_s"] < 4.5


@pytest.mark.legacy_defect("D5")
def test_legacy_two_starts_in_one_second_collide(
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    sample_library: SampleManifest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        workerkit.imagelib.legacy_workers.stack,
        "time",
        SimpleNamespace(time=lambda: 1_700_000_000.5),
    )
    service = make_service(store, "legacy")
    first = service.start_batch_registration(sample_library.root)
    assert first == "batch_reg_1700000000"
    with pytest.raises(RuntimeError, match="Failed to start registration worker"):
        service.start_batch_registration(sample_library.root)


@pytest.mark.legacy_defect("D6")
def test_legacy_thumbnails_make_qpixmaps_off_the_gui_thread(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    makers: list[bool] = []

    class RecordingPixmap(QPixmap):
        def __init__(self, *args: object) -> None:
            makers.append(threading.current_thread() is threading.main_thread())
            super().__init__(*args)

    monkeypatch.setattr(
        workerkit.imagelib.legacy_workers.thumbnail_worker, "QPixmap", RecordingPixmap
    )
    service = make_service(registered_store, "legacy")
    with qtbot.waitSignal(service.thumbnail_finished, timeout=LONG):
        service.start_thumbnail_loading(
            registered_store.search(SearchConditions(limit=3)), QSize(64, 64)
        )
    assert makers == [False, False, False]


@pytest.mark.legacy_defect("D7")
def test_legacy_registration_sends_a_progress_signal_per_file(
    qtbot,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    sample_library: SampleManifest,
) -> None:
    service = make_service(store, "legacy")
    received: list[object] = []
    service.worker_progress_updated.connect(lambda _job, progress: received.append(progress))
    with qtbot.waitSignal(service.batch_registration_finished, timeout=LONG) as finished:
        service.start_batch_registration(sample_library.root)
    files = len(finished.args[0].processed_paths) + finished.args[0].error_count
    assert files == 200
    assert len(received) == files + 3


@pytest.mark.legacy_defect("D8")
def test_legacy_replaced_search_delivers_and_clears_the_new_id(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    ticking_clock: None,
) -> None:
    service = make_service(registered_store, "legacy")
    backend = service.stack("legacy")
    old_conditions = SearchConditions(min_width=2000)
    old_id = service.start_search(old_conditions)
    done = threading.Event()
    worker = backend.worker_manager.get_worker(old_id)
    if worker is not None:
        worker.finished.connect(done.set, Qt.ConnectionType.DirectConnection)
    # The manager forgets a worker from the worker's own thread as it finishes: a search
    # that finished before (or while) the line above looked is already done.
    if backend.worker_manager.get_worker(old_id) is None:
        done.set()
    # Let the old search finish in its thread while the GUI thread processes no events,
    # so its finished signal is still queued when the new search starts.
    assert done.wait(10)
    delivered: list[SearchConditions] = []
    service.search_finished.connect(lambda result: delivered.append(result.filter_conditions))
    new_id = service.start_search(SearchConditions(min_width=100))
    assert backend.current_ids["search"] == new_id
    qtbot.waitUntil(lambda: len(delivered) >= 1, timeout=LONG)
    assert delivered[0] == old_conditions
    assert backend.current_ids["search"] is None
    qtbot.waitUntil(lambda: len(delivered) == 2, timeout=LONG)


@pytest.mark.legacy_defect("D9")
def test_legacy_burst_makes_one_os_thread_per_job(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    monkeypatch: pytest.MonkeyPatch,
    ticking_clock: None,
) -> None:
    jobs = 12
    with spawn_fake_server(latency=1.5) as base_url:
        monkeypatch.setenv("WORKERKIT_API_BASE", base_url)
        monkeypatch.setenv("WORKERKIT_API_KEY", "any")
        service = make_service(registered_store, "legacy")
        before = qthreads_alive()
        ids = [service.start_annotation([1], ["http"]) for _ in range(jobs)]
        assert len(set(ids)) == jobs
        # Each QThread names itself once it runs; wait for that, not for the jobs to end.
        qtbot.waitUntil(lambda: qthreads_alive() - before >= jobs, timeout=LONG)
        with qtbot.waitSignal(service.all_workers_finished, timeout=LONG):
            pass


@pytest.mark.legacy_defect("D10")
@pytest.mark.parametrize("stack", ["legacy"])
def test_legacy_destroying_a_busy_service_aborts_the_process(
    stack: str, sample_library: SampleManifest, tmp_path: Path
) -> None:
    run = run_script(
        "destroy_running_service.py",
        stack,
        sample_library.root,
        tmp_path / "db.sqlite",
        timeout_s=90,
    )
    assert not run.hung, run.describe()
    assert run.returncode != 0
    assert "QThread: Destroyed while thread" in run.stderr
