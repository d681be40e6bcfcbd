"""End to end on the legacy stack: every public WorkerService method, real threads and files."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QPixmap

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.results import (
    AnnotationResult,
    RegistrationResult,
    SearchResult,
    ThumbnailResult,
)
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.kinds import Kind
from workerkit.imagelib.legacy_workers.search_worker import SearchWorker
from workerkit.imagelib.sample import SampleManifest
from workerkit.imagelib.service import WorkerService

from ..conftest import qthreads_alive

# Each test drives the image library's legacy stack: in a child pytest (isolation).
pytestmark = [pytest.mark.timeout(120), pytest.mark.workerkit_isolated]

LONG = 60_000


def test_legacy_registration_counts_duplicates_and_corrupt_files(
    qtbot,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    sample_library: SampleManifest,
) -> None:
    service = make_service(store, "legacy")
    with qtbot.waitSignal(service.batch_registration_finished, timeout=LONG) as finished:
        job_id = service.start_batch_registration(sample_library.root)
    result: RegistrationResult = finished.args[0]
    assert job_id.startswith("batch_reg_")
    decodable = sample_library.images
    assert result.registered_count == decodable - sample_library.duplicates
    assert result.skipped_count == sample_library.duplicates
    assert result.error_count == sample_library.corrupt
    assert all(f.path.is_relative_to(sample_library.root) for f in result.errors)
    assert all("Cannot read image" in f.reason for f in result.errors)
    assert store.count_images() == result.registered_count
    tagged = [r for r in store.search(SearchConditions()) if r.tags]
    assert len(tagged) >= result.registered_count // 2


def test_legacy_registration_rerun_registers_nothing_new(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    sample_library: SampleManifest,
) -> None:
    before = registered_store.count_images()
    service = make_service(registered_store, "legacy")
    with qtbot.waitSignal(service.batch_registration_finished, timeout=LONG) as finished:
        service.start_batch_registration(sample_library.root)
    assert finished.args[0].registered_count == 0
    assert registered_store.count_images() == before


def test_legacy_search_filters_by_tags_caption_and_resolution(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, "legacy")
    everything = registered_store.search(SearchConditions())
    tag = max(
        {t for r in everything for t in r.tags}, key=lambda t: sum(t in r.tags for r in everything)
    )
    cases = {
        "tags": SearchConditions(tags=(tag,)),
        "caption": SearchConditions(caption=next(r.caption for r in everything if r.caption)[:6]),
        "resolution": SearchConditions(min_width=1600, min_height=1200),
    }
    for name, conditions in cases.items():
        with qtbot.waitSignal(service.search_finished, timeout=LONG) as finished:
            service.start_search(conditions)
        result: SearchResult = finished.args[0]
        assert result.filter_conditions == conditions, name
        assert result.total_count == len(result.image_metadata) > 0, name
        assert result.image_metadata == registered_store.search(conditions), name
    assert all(tag in r.tags for r in registered_store.search(cases["tags"]))


def test_legacy_search_accepts_a_lorairo_filter_dict(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, "legacy")
    with qtbot.waitSignal(service.search_finished, timeout=LONG) as finished:
        service.start_search({"tags": [], "resolution": 2000})
    result: SearchResult = finished.args[0]
    assert result.filter_conditions == SearchConditions(min_width=2000, min_height=2000)
    assert all(r.width >= 2000 and r.height >= 2000 for r in result.image_metadata)


def test_legacy_thumbnails_load_scaled_pixmaps(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, "legacy")
    records = registered_store.search(SearchConditions(limit=12))
    with qtbot.waitSignal(service.thumbnail_finished, timeout=LONG) as finished:
        service.start_thumbnail_loading(records, QSize(128, 128))
    result: ThumbnailResult = finished.args[0]
    assert result.total_count == 12 and result.failed_count == 0
    assert [image_id for image_id, _ in result.loaded_thumbnails] == [r.id for r in records]
    for _, pixmap in result.loaded_thumbnails:
        assert isinstance(pixmap, QPixmap)
        assert max(pixmap.width(), pixmap.height()) == 128


def test_legacy_thumbnails_count_a_vanished_file_as_failed(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    tmp_path,
) -> None:
    records = registered_store.search(SearchConditions(limit=3))
    gone = records[1].path.rename(tmp_path / "moved-away")
    try:
        service = make_service(registered_store, "legacy")
        with qtbot.waitSignal(service.thumbnail_finished, timeout=LONG) as finished:
            service.start_thumbnail_loading(records, QSize(64, 64))
    finally:
        gone.rename(records[1].path)
    result: ThumbnailResult = finished.args[0]
    assert (len(result.loaded_thumbnails), result.failed_count) == (2, 1)
    assert result.failures[0].path == records[1].path


def test_legacy_annotation_local_stores_tags(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, "legacy")
    ids = [r.id for r in registered_store.search(SearchConditions(limit=4))]
    with qtbot.waitSignal(service.annotation_finished, timeout=LONG) as finished:
        service.start_annotation(ids, ["local"])
    result: AnnotationResult = finished.args[0]
    assert set(result.results) == set(ids)
    assert result.annotated_count == 4 and result.error_count == 0
    for image_id in ids:
        tags = result.results[image_id]["local"].tags
        stored = {tag for tag, source in registered_store.tags_for(image_id) if source == "local"}
        assert tags and stored == set(tags)


def test_legacy_annotation_http_reports_failures_per_image(
    qtbot,
    fake_api: FakeVisionServer,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    from workerkit.imagelib.domain.fakeapi import Fault

    service = make_service(registered_store, "legacy")
    ids = [r.id for r in registered_store.search(SearchConditions(limit=3))]
    fake_api.inject(Fault.SERVER_ERROR, times=1)
    with qtbot.waitSignal(service.annotation_finished, timeout=LONG) as finished:
        service.start_annotation([*ids, 999_999], ["http"])
    result: AnnotationResult = finished.args[0]
    assert all(result.results[i]["http"].ok for i in ids)
    assert "999999" in (result.results[999_999]["http"].error or "")
    assert fake_api.faults_served[Fault.SERVER_ERROR] == 1
    assert fake_api.requests == len(ids) + 1


def test_legacy_service_reports_routes_counts_and_summary(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The legacy handlers drop a job from the table in its own thread as soon as it ends:
    # hold the job inside execute() until the checks of an active job are done.
    release = threading.Event()
    original = SearchWorker.execute

    def held(self: SearchWorker) -> object:
        release.wait(LONG / 1000)
        return original(self)

    monkeypatch.setattr(SearchWorker, "execute", held)
    service = make_service(registered_store, "legacy")
    assert all(service.stack_for(kind) == "legacy" for kind in Kind)
    assert service.get_active_worker_count() == 0
    started: list[str] = []
    service.search_started.connect(started.append)
    with qtbot.waitSignal(service.all_workers_finished, timeout=LONG):
        job_id = service.start_search(SearchConditions())
        try:
            assert service.is_worker_active(job_id)
            assert service.get_active_worker_ids() == [job_id]
            summary = service.get_service_summary()
            assert summary["active_worker_ids"] == [job_id]
            assert summary["stacks"]["legacy"]["workers"][job_id]["class"] == "SearchWorker"
        finally:
            release.set()
    assert started == [job_id]
    assert not service.is_worker_active(job_id)
    assert service.get_active_worker_count() == 0
    # The thread quits through a signal queued to this thread; until that ran,
    # wait_for_all_workers() could only time out.
    qtbot.waitUntil(lambda: qthreads_alive() == 0, timeout=LONG)
    assert service.wait_for_all_workers(5000)


def test_legacy_service_cancel_methods_return_false_for_unknown_ids(
    make_service: Callable[..., WorkerService],
    store: ImageStore,
) -> None:
    service = make_service(store, "legacy")
    assert not service.cancel_search("search_0")
    assert not service.cancel_thumbnail_loading("thumbnail_0")
    assert not service.cancel_annotation("annotation_0")
    assert not service.cancel_batch_registration("batch_reg_0")
    service.cancel_all_workers()
    assert service.get_active_worker_count() == 0


def test_legacy_service_cancel_all_and_shutdown_stop_a_registration(
    qtbot,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    sample_library: SampleManifest,
) -> None:
    service = make_service(store, "legacy")
    with qtbot.waitSignal(service.worker_batch_progress, timeout=LONG):
        service.start_batch_registration(sample_library.root)
    service.cancel_all_workers()
    assert service.shutdown(timeout_ms=5000)
    with pytest.raises(RuntimeError, match="has been shut down"):
        service.start_search(SearchConditions())
    assert store.count_images() < sample_library.images
    assert store.integrity_check()


def test_legacy_workers_run_off_the_gui_thread(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Record the thread inside execute() instead of holding the worker object: the legacy
    # worker deletes itself in its own thread, and touching it from here races that.
    threads: list[int] = []
    original = SearchWorker.execute

    def execute(self: SearchWorker) -> object:
        threads.append(threading.get_ident())
        return original(self)

    monkeypatch.setattr(SearchWorker, "execute", execute)
    service = make_service(registered_store, "legacy")
    with qtbot.waitSignal(service.search_finished, timeout=LONG):
        service.start_search(SearchConditions())
    assert threads and threads[0] != threading.get_ident()
