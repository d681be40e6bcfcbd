"""A canceled job really stops working: the database and the vision API show it.

A stack can report ``canceled`` and still work on in the background; these cases look at
what the work left behind instead of at the service's signals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize

from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.scanner import scan_images
from workerkit.imagelib.domain.store import ImageRecord, ImageStore
from workerkit.imagelib.pool_workers import thumbnails as pool_thumbnails
from workerkit.imagelib.service import WorkerService

from .conftest import API_KEY, LONG_MS, THUMBNAIL_PX, EventLog, spin_until, stack_params

pytestmark = pytest.mark.timeout(120)

# Longer than any bound below: a reply that comes means the call was not interrupted.
API_LATENCY_S = 10.0


@pytest.mark.parametrize("stack", stack_params())
def test_canceled_registration_registered_fewer_files_than_the_folder_holds(
    make_service: Callable[..., WorkerService],
    slow_library: Path,
    tmp_path: Path,
    stack: str,
) -> None:
    with ImageStore(tmp_path / "library.sqlite") as store:
        service = make_service(store, stack)
        log = EventLog(service)
        job_id = service.start_batch_registration(slow_library)
        # The first batch step is the big PNG: cancel while it is being decoded.
        assert spin_until(lambda: bool(log.named("worker_batch_progress")), LONG_MS)
        service.cancel_batch_registration(job_id)
        assert spin_until(lambda: bool(log.terminal(job_id)), LONG_MS), "no terminal event"
        assert service.wait_for_all_workers(LONG_MS)
        folder_holds = len(scan_images(slow_library))
        assert store.count_images() < folder_holds // 2, (
            f"the canceled registration went on: {store.count_images()} of {folder_holds}"
        )


@pytest.mark.parametrize(
    "stack",
    [
        pytest.param(
            "legacy",
            marks=pytest.mark.skip(
                reason="D3/D4: the legacy cancel waits 2 s for the HTTP call, then terminate()s "
                "the thread, which can take this process down"
            ),
        ),
        "simplified",
    ],
)
def test_canceled_annotation_hangs_up_before_the_reply_is_due(
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    sample_records: list[ImageRecord],
    monkeypatch: pytest.MonkeyPatch,
    stack: str,
) -> None:
    with FakeVisionServer(latency=API_LATENCY_S, required_key=API_KEY) as server:
        monkeypatch.setenv("WORKERKIT_API_BASE", server.base_url)
        monkeypatch.setenv("WORKERKIT_API_KEY", API_KEY)
        service = make_service(registered_store, stack)
        log = EventLog(service)
        job_id = service.start_annotation([sample_records[0].id], ["http"])
        assert spin_until(lambda: server.requests >= 1, LONG_MS), "the request never arrived"
        service.cancel_annotation(job_id)
        bound_ms = int(API_LATENCY_S * 1000 / 4)
        assert spin_until(lambda: server.hung_up_early >= 1, bound_ms), (
            f"the API still held the request {bound_ms} ms after the cancel"
        )
        assert spin_until(lambda: bool(log.terminal(job_id)), bound_ms)
        assert [e.name for e in log.terminal(job_id)] == ["job_canceled"]


def test_canceled_thumbnails_start_no_new_decode(
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    big_record: ImageRecord,
    sample_records: list[ImageRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[float] = []
    decode = pool_thumbnails.decode_thumbnail

    def counted(record: ImageRecord, width: int, height: int, **options: Any) -> object:
        started.append(time.perf_counter())
        return decode(record, width, height, **options)

    monkeypatch.setattr(pool_thumbnails, "decode_thumbnail", counted)
    service = make_service(store, "simplified")
    log = EventLog(service)
    records = [big_record, *sample_records] * 2
    job_id = service.start_thumbnail_loading(records, QSize(THUMBNAIL_PX, THUMBNAIL_PX))
    # The big PNG holds one thread; the others decode small images meanwhile.
    assert spin_until(lambda: len(started) >= 4, LONG_MS)
    canceled_at = time.perf_counter()
    service.cancel_thumbnail_loading(job_id)
    assert spin_until(lambda: bool(log.terminal(job_id)), LONG_MS)
    assert [e.name for e in log.terminal(job_id)] == ["job_canceled"]
    later = sum(at > canceled_at for at in started)
    # A decode already claimed may start just after the cancel; no more than one per thread.
    assert later <= service.get_service_summary()["stacks"]["simplified"]["max_threads"], (
        f"{later} decodes started after the cancel ({len(started)} of {len(records)} in all)"
    )
