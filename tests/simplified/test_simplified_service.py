"""End to end on the simplified stack through WorkerService: pool threads, files, SQLite, HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPixmap

from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.fakeapi import FakeVisionServer, Fault
from workerkit.imagelib.domain.results import AnnotationResult, RegistrationResult, ThumbnailResult
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.pool_workers.registration import BATCH_SIZE
from workerkit.imagelib.sample import SampleManifest
from workerkit.imagelib.service import WorkerService

pytestmark = pytest.mark.timeout(120)

LONG = 60_000


def test_simplified_registration_matches_a_plain_registration(
    qtbot,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    registered_store: ImageStore,
    sample_library: SampleManifest,
) -> None:
    service = make_service(store, "simplified")
    with qtbot.waitSignal(service.batch_registration_finished, timeout=LONG) as finished:
        service.start_batch_registration(sample_library.root)
    result: RegistrationResult = finished.args[0]
    assert (result.registered_count, result.skipped_count, result.error_count) == (
        sample_library.images - sample_library.duplicates,
        sample_library.duplicates,
        sample_library.corrupt,
    )
    assert store.all_paths() == registered_store.all_paths()
    ours = {r.path: (r.phash, r.tags, r.caption) for r in store.search(SearchConditions())}
    plain = {
        r.path: (r.phash, r.tags, r.caption) for r in registered_store.search(SearchConditions())
    }
    assert ours == plain
    assert store.integrity_check()


def test_simplified_registration_cancel_keeps_whole_batches_and_rerun_completes(
    qtbot,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    sample_library: SampleManifest,
) -> None:
    service = make_service(store, "simplified")
    job_id = service.start_batch_registration(sample_library.root)
    qtbot.waitUntil(lambda: store.count_images() >= BATCH_SIZE, timeout=LONG)
    with qtbot.waitSignal(service.batch_registration_canceled, timeout=LONG):
        assert service.cancel_batch_registration(job_id)
    kept = store.count_images()
    assert 0 < kept < sample_library.images - sample_library.duplicates
    assert store.integrity_check()
    with qtbot.waitSignal(service.batch_registration_finished, timeout=LONG) as finished:
        service.start_batch_registration(sample_library.root)
    rerun: RegistrationResult = finished.args[0]
    total = sample_library.images - sample_library.duplicates
    assert rerun.registered_count == total - kept
    assert store.count_images() == total


def test_simplified_search_replaces_the_previous_search(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, "simplified")
    delivered: list[str] = []
    canceled: list[str] = []
    service.job_finished.connect(lambda job, _result: delivered.append(job))
    service.job_canceled.connect(canceled.append)
    first = service.start_search(SearchConditions(min_width=100))
    second = service.start_search(SearchConditions(min_width=2000))
    with qtbot.waitSignal(service.all_workers_finished, timeout=LONG):
        pass
    assert delivered == [second]
    assert canceled == [first]


def test_simplified_thumbnails_arrive_in_chunks_as_gui_pixmaps(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
) -> None:
    service = make_service(registered_store, "simplified")
    records = registered_store.search(SearchConditions())
    chunks: list[int] = []
    service.thumbnails_loaded.connect(lambda _job, chunk: chunks.append(len(chunk)))
    with qtbot.waitSignal(service.thumbnail_finished, timeout=LONG) as finished:
        service.start_thumbnail_loading(records, QSize(96, 96))
    result: ThumbnailResult = finished.args[0]
    assert sum(chunks) == len(result.loaded_thumbnails) == len(records)
    assert len(chunks) >= 2
    assert [image_id for image_id, _ in result.loaded_thumbnails] == [r.id for r in records]
    for (_, pixmap), record in zip(result.loaded_thumbnails, records, strict=True):
        assert isinstance(pixmap, QPixmap)
        expected = QSize(record.width, record.height).scaled(
            QSize(96, 96), Qt.AspectRatioMode.KeepAspectRatio
        )
        assert pixmap.size() == expected


def test_simplified_annotation_local_and_http_with_faults_loses_nothing(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    fake_api: FakeVisionServer,
) -> None:
    fake_api.latency = 0.2
    fake_api.inject(Fault.SERVER_ERROR, times=2)
    fake_api.inject(Fault.RATE_LIMIT, times=1, retry_after=0.2)
    service = make_service(registered_store, "simplified")
    ids = [r.id for r in registered_store.search(SearchConditions(limit=12))]
    with qtbot.waitSignal(service.annotation_finished, timeout=LONG) as finished:
        service.start_annotation([*ids, 987_654], ["local", "http"])
    result: AnnotationResult = finished.args[0]
    assert list(result.results) == [*ids, 987_654]
    assert all(result.results[i][m].ok for i in ids for m in ("local", "http"))
    assert all(not o.ok for o in result.results[987_654].values())
    assert fake_api.faults_served[Fault.SERVER_ERROR] == 2
    assert fake_api.faults_served[Fault.RATE_LIMIT] == 1
    assert fake_api.requests == len(ids) + 3
    assert fake_api.max_concurrent > 1
    for image_id in ids:
        models = {a["model"] for a in registered_store.annotations(image_id)}
        assert models == {"local", "http"}


def test_simplified_annotation_reports_a_failing_image_per_image(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    fake_api: FakeVisionServer,
) -> None:
    fake_api.fail_always(Fault.MALFORMED)
    service = make_service(registered_store, "simplified")
    ids = [r.id for r in registered_store.search(SearchConditions(limit=3))]
    with qtbot.waitSignal(service.annotation_finished, timeout=LONG) as finished:
        service.start_annotation(ids, ["http"])
    result: AnnotationResult = finished.args[0]
    assert result.error_count == 3
    assert all("chat-completions" in (result.results[i]["http"].error or "") for i in ids)
    assert "test-key" not in repr(result)
