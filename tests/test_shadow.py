"""Shadow mode: the GUI sees legacy results while a hidden simplified candidate is compared."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QPixmap
from workerkit.simplified._stack import SimplifiedStack
from workerkit.simplified._token import JobCanceled

import workerkit._shadow
from workerkit import App, JobService, LegacyWorker
from workerkit._control import JobControl
from workerkit._job import JobState
from workerkit._kind import WorkerKind
from workerkit._shadow import (
    DEFAULT_SHADOW_LOG,
    MAX_DIFFERENCES,
    Observation,
    ShadowStats,
    compare_observations,
    read_shadow_log,
    summarize_shadow_log,
)
from workerkit._stack import new_job_id
from workerkit.imagelib.comparison import Listing, compare_listings
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import SearchResult, ThumbnailResult
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.kinds import search as search_kind
from workerkit.imagelib.legacy_workers.search_worker import SearchWorker
from workerkit.imagelib.service import WorkerService

from .legacy.shapes import ResultWorker
from .scripted_stack import ScriptedStack

# Each test drives the image library's legacy stack: in a child pytest (isolation).
pytestmark = [pytest.mark.timeout(120), pytest.mark.workerkit_isolated]

LONG = 60_000
LEGACY_ID = re.compile(r"^(search|thumbnail)_\d+$")
CANDIDATE_ID = re.compile(r"^(search|thumbnail)_[0-9a-f]{13,}$")
THUMB_SIZE = QSize(96, 96)


class BrokenCandidate(SimplifiedStack):
    """A candidate whose pool functions are replaced by ``broken(original)``."""

    def broken(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """Return the pool function this candidate runs instead of ``original``."""
        raise NotImplementedError

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Start the job with the broken pool function."""
        assert kind.simplified is not None
        return super().start(replace(kind, simplified=self.broken(kind.simplified)), args, kwargs)


class DroppingBackend(BrokenCandidate):
    """A broken candidate: its searches lose their first record."""

    def broken(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """Drop the first record of every search result."""

        def dropped(control: JobControl, *args: Any) -> object:
            result = original(control, *args)
            if isinstance(result, SearchResult):
                kept = result.image_metadata[1:]
                return replace(result, image_metadata=kept, total_count=len(kept))
            return result

        return dropped


class FailingBackend(BrokenCandidate):
    """A broken candidate: every job raises."""

    def broken(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """Raise in every job."""

        def fail(_control: JobControl, *_args: Any) -> object:
            raise RuntimeError("candidate exploded")

        return fail


class CancelingBackend(BrokenCandidate):
    """A candidate whose every job ends canceled, as a superseded job does."""

    def broken(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """End every job canceled."""

        def cancel(_control: JobControl, *_args: Any) -> object:
            raise JobCanceled

        return cancel


class Run:
    """Record one service's UI job results and shadow records."""

    def __init__(self, service: WorkerService) -> None:
        self.service = service
        self.finished: dict[str, object] = {}
        self.records: list[dict[str, Any]] = []
        service.job_finished.connect(lambda job_id, r: self.finished.__setitem__(job_id, r))
        service.shadow_compared.connect(self.records.append)

    def until_compared(self, qtbot, job_id: str, count: int = 1) -> dict[str, Any]:
        """Wait for the UI result of ``job_id`` and the ``count``-th shadow record."""
        qtbot.waitUntil(
            lambda: job_id in self.finished and len(self.records) >= count, timeout=LONG
        )
        return self.records[count - 1]


@pytest.fixture
def shadow_log(tmp_path: Path) -> Path:
    """Return where this test's shadow records go."""
    return tmp_path / "shadow.jsonl"


@pytest.fixture
def shadowed(
    make_service: Callable[..., WorkerService], registered_store: ImageStore, shadow_log: Path
) -> Callable[..., WorkerService]:
    """Build a legacy service with search and thumbnail in shadow mode, on the sample library."""

    def build(candidate: type[SimplifiedStack] | None = None) -> WorkerService:
        factory = None
        if candidate is not None:
            factory = lambda app, pool, parent: candidate(app, parent, pool=pool)  # noqa: E731
        service = make_service(
            registered_store, "legacy", shadow_log=shadow_log, _shadow_candidate=factory
        )
        service.set_stack("search", "shadow")
        service.set_stack("thumbnail", "shadow")
        return service

    return build


def test_shadow_search_delivers_the_legacy_result_and_logs_a_match(
    qtbot, shadowed: Callable[..., WorkerService], registered_store: ImageStore, shadow_log: Path
) -> None:
    service = shadowed()
    run = Run(service)
    conditions = SearchConditions(min_width=800)
    job_id = service.start_search(conditions)
    record = run.until_compared(qtbot, job_id)
    result = run.finished[job_id]
    assert LEGACY_ID.match(job_id)
    assert isinstance(result, SearchResult)
    assert result.image_metadata == registered_store.search(conditions)
    assert result.total_count > 0
    assert record["kind"] == "search" and record["match"] is True
    assert record["differences"] == []
    assert record["legacy_job"] == job_id
    assert CANDIDATE_ID.match(record["candidate_job"])
    assert record["legacy_ms"] > 0 and record["simplified_ms"] > 0
    assert datetime.fromisoformat(record["time"]).utcoffset() == UTC.utcoffset(None)
    assert read_shadow_log(shadow_log) == [record]
    assert summarize_shadow_log(shadow_log, "search") == (1, 0)
    assert service.shadow_stats() == ShadowStats(compared=1, matched=1)
    assert service.get_service_summary()["shadow"]["stats"]["matched"] == 1


def test_shadow_thumbnails_deliver_legacy_pixmaps_and_log_a_match(
    qtbot, shadowed: Callable[..., WorkerService], registered_store: ImageStore, shadow_log: Path
) -> None:
    service = shadowed()
    run = Run(service)
    records = registered_store.search(SearchConditions(limit=6))
    job_id = service.start_thumbnail_loading(records, THUMB_SIZE)
    record = run.until_compared(qtbot, job_id)
    result = run.finished[job_id]
    assert isinstance(result, ThumbnailResult)
    assert [image_id for image_id, _ in result.loaded_thumbnails] == [r.id for r in records]
    assert all(isinstance(p, QPixmap) for _, p in result.loaded_thumbnails)
    assert (record["kind"], record["match"], record["legacy_job"]) == ("thumbnail", True, job_id)
    assert summarize_shadow_log(shadow_log, "thumbnail") == (1, 0)
    assert summarize_shadow_log(shadow_log, "search") == (0, 0)
    assert service.shadow_stats() == ShadowStats(compared=1, matched=1)


def test_shadow_candidate_that_drops_a_record_is_logged_as_a_mismatch(
    qtbot, shadowed: Callable[..., WorkerService], registered_store: ImageStore, shadow_log: Path
) -> None:
    service = shadowed(DroppingBackend)
    run = Run(service)
    conditions = SearchConditions(min_width=800)
    expected = registered_store.search(conditions)
    job_id = service.start_search(conditions)
    record = run.until_compared(qtbot, job_id)
    assert run.finished[job_id].image_metadata == expected  # the GUI still gets legacy's
    assert record["match"] is False
    assert record["differences"] == [
        f"total_count: legacy {len(expected)}, simplified {len(expected) - 1}",
        f"image {expected[0].id} missing from simplified",
    ]
    assert read_shadow_log(shadow_log) == [record]
    assert summarize_shadow_log(shadow_log, "search") == (1, 1)
    assert service.shadow_stats() == ShadowStats(compared=1, mismatched=1)


def test_shadow_failing_candidate_is_logged_as_a_mismatch_and_counted(
    qtbot, shadowed: Callable[..., WorkerService], shadow_log: Path
) -> None:
    service = shadowed(FailingBackend)
    run = Run(service)
    job_id = service.start_search(SearchConditions())
    record = run.until_compared(qtbot, job_id)
    assert isinstance(run.finished[job_id], SearchResult)
    assert (record["match"], record["differences"]) == (
        False,
        ["candidate failed: candidate exploded"],
    )
    assert service.shadow_stats() == ShadowStats(compared=1, mismatched=1, candidate_failed=1)
    assert summarize_shadow_log(shadow_log, "search") == (1, 1)


def test_shadow_canceled_candidate_is_skipped_and_not_logged(
    qtbot, shadowed: Callable[..., WorkerService], shadow_log: Path
) -> None:
    service = shadowed(CancelingBackend)
    run = Run(service)
    job_id = service.start_search(SearchConditions())
    qtbot.waitUntil(
        lambda: job_id in run.finished and service.shadow_stats().skipped == 1, timeout=LONG
    )
    assert service.shadow_stats() == ShadowStats(skipped=1)
    assert run.records == []
    assert not shadow_log.exists()


def test_shadow_failed_legacy_job_cancels_the_candidate_and_is_skipped(
    qtbot,
    shadowed: Callable[..., WorkerService],
    shadow_log: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(_worker: SearchWorker) -> SearchResult:
        raise RuntimeError("legacy broke")

    monkeypatch.setattr(SearchWorker, "execute", broken)
    service = shadowed()
    run = Run(service)
    errors: list[str] = []
    service.search_error.connect(errors.append)
    service.start_search(SearchConditions())
    candidate = lambda: service.get_service_summary()["shadow"]["candidate"]  # noqa: E731
    qtbot.waitUntil(lambda: bool(errors) and not candidate()["active_worker_ids"], timeout=LONG)
    assert errors == ["worker error: legacy broke"]
    assert service.shadow_stats() == ShadowStats(skipped=1)
    assert run.records == []
    assert not shadow_log.exists()


def database_state(path: Path, observer: sqlite3.Connection) -> dict[str, object]:
    """Return the files' hashes, every table's row count and the observer's data_version."""
    files = {
        name: hashlib.sha256(file.read_bytes()).hexdigest()
        for name in (path.name, f"{path.name}-wal")
        if (file := path.with_name(name)).exists()
    }
    tables = [
        row[0] for row in observer.execute("SELECT name FROM sqlite_master WHERE type='table'")
    ]
    counts = {t: observer.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    version = observer.execute("PRAGMA data_version").fetchone()[0]
    return {"files": files, "counts": counts, "data_version": version}


def test_shadow_never_writes_to_the_database(
    qtbot, shadowed: Callable[..., WorkerService], registered_store: ImageStore
) -> None:
    service = shadowed()
    run = Run(service)
    observer = sqlite3.connect(registered_store.path)
    try:
        before = database_state(registered_store.path, observer)
        search = service.start_search(SearchConditions(limit=5))
        run.until_compared(qtbot, search, 1)
        thumbs = service.start_thumbnail_loading(run.finished[search].image_metadata, THUMB_SIZE)
        run.until_compared(qtbot, thumbs, 2)
        after = database_state(registered_store.path, observer)
    finally:
        observer.close()
    assert [r["match"] for r in run.records] == [True, True]
    assert before["counts"]["images"] > 0
    assert after == before


def test_shadow_candidate_events_never_reach_ui_signals(
    qtbot, shadowed: Callable[..., WorkerService], registered_store: ImageStore
) -> None:
    service = shadowed()
    run = Run(service)
    events: list[tuple[str, tuple[object, ...]]] = []
    for name in UI_SIGNALS:
        getattr(service, name).connect(lambda *args, name=name: events.append((name, args)))
    # LoRAIro's manager forgets a job in the worker's thread and posts its count after
    # the job's end: wait for that signal before the next start, or the service sees the
    # count go from 1 to 1 (the thumbnail job already active) and rightly stays silent.
    ended = lambda n: [name for name, _ in events].count("all_workers_finished") >= n  # noqa: E731
    search = service.start_search(SearchConditions(limit=4))
    run.until_compared(qtbot, search, 1)
    qtbot.waitUntil(lambda: ended(1), timeout=LONG)
    thumbs = service.start_thumbnail_loading(run.finished[search].image_metadata, THUMB_SIZE)
    run.until_compared(qtbot, thumbs, 2)
    qtbot.waitUntil(lambda: ended(2), timeout=LONG)
    assert service.get_active_worker_count() == 0
    job_ids = {a for _, args in events for a in args if isinstance(a, str) and "_" in a}
    assert job_ids == {search, thumbs}
    assert not {r["candidate_job"] for r in run.records} & job_ids
    names = [name for name, _ in events]
    assert names.count("search_started") == names.count("search_finished") == 1
    assert names.count("thumbnail_started") == names.count("thumbnail_finished") == 1
    assert names.count("job_finished") == 2
    counts = [args[0] for name, args in events if name == "active_worker_count_changed"]
    # Never two (a counted candidate); the 1 may be missed when a quick job ends in its
    # thread before the manager's start count is read on the GUI thread.
    assert counts[-1] == 0 and set(counts) <= {0, 1}
    assert names.count("all_workers_finished") == 2
    # The candidate shares the simplified stack's pool, but none of its jobs is counted.
    stacks = service.get_service_summary()["stacks"]
    assert stacks.keys() == {"legacy", "simplified"}
    assert stacks["simplified"]["active_worker_count"] == 0


UI_SIGNALS = (
    *(
        f"{word}_{event}"
        for word in ("search", "thumbnail", "batch_registration", "annotation")
        for event in ("started", "finished", "error", "canceled")
    ),
    "worker_progress_updated",
    "worker_batch_progress",
    "active_worker_count_changed",
    "all_workers_finished",
    "job_finished",
    "job_failed",
    "job_canceled",
    "thumbnails_loaded",
)


def test_shadow_comparison_runs_off_the_gui_thread(
    qtbot, shadowed: Callable[..., WorkerService], monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    original = workerkit._shadow.compare_observations

    def spy(kind: WorkerKind, legacy: Observation, candidate: Observation) -> list[str]:
        threads.append(threading.get_ident())
        return original(kind, legacy, candidate)

    monkeypatch.setattr(workerkit._shadow, "compare_observations", spy)
    service = shadowed()
    run = Run(service)
    run.until_compared(qtbot, service.start_search(SearchConditions(limit=3)))
    assert len(threads) == 1
    assert threads[0] != threading.get_ident()


def test_shadow_log_defaults_to_the_working_directory(
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    service = make_service(store, "legacy")
    assert DEFAULT_SHADOW_LOG == "workerkit-shadow.jsonl"
    assert service.shadow_log == tmp_path / DEFAULT_SHADOW_LOG
    assert service.shadow_stats() == ShadowStats()


def _twice(control: JobControl, value: int) -> int:
    return 2 * value


class EndsInStart(ScriptedStack):
    """A legacy stack whose job ends before ``start()`` returns (failed for a negative value)."""

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Report the job started and ended, then return its id."""
        job_id = new_job_id(kind)
        self.report_started(job_id)
        if args[0] < 0:
            self.report_failed(job_id, "negative")
        else:
            self.report_finished(job_id, 2 * args[0])
        return job_id


twice = WorkerKind(
    name="twice",
    legacy=LegacyWorker(ResultWorker),
    simplified=_twice,
    compare=lambda legacy, candidate: [] if legacy == candidate else [f"{legacy} != {candidate}"],
)


def test_shadow_legacy_job_that_ends_inside_its_start_is_still_compared(
    qtbot, shadow_log: Path
) -> None:
    """Fails if a legacy end sent before start() returned is lost: the pair never settles."""
    app = App("quick", [twice], legacy_stack=EndsInStart)
    service = JobService(app, stacks={"twice": "shadow"}, shadow_log=shadow_log)
    records: list[dict[str, Any]] = []
    service.shadow_compared.connect(records.append)
    finished = service.start(twice, 21)
    failed = service.start(twice, -1)
    assert finished.result() == 42 and failed.state is JobState.FAILED
    qtbot.waitUntil(lambda: service.shadow_stats().skipped == 1 and len(records) == 1)
    assert records[0]["match"] is True and records[0]["legacy_job"] == finished.id
    assert service.shadow_stats().compared == 1
    assert service.shutdown(5000)


# --- comparison and log helpers, no Qt ------------------------------------------------------


def observation(*items: tuple[int, ...], total: int | None = None) -> Observation:
    """Return a finished observation of ``items``."""
    return Observation("job", "finished", 1.0, Listing(items, total))


def compare(legacy: Observation, candidate: Observation) -> list[str]:
    """Compare two search observations the way shadow mode does."""
    return compare_observations(search_kind, legacy, candidate)


def test_shadow_compare_reports_order_and_size_differences() -> None:
    assert compare(observation((1,), (2,)), observation((2,), (1,))) == [
        "order differs at 0: legacy image 1, simplified 2"
    ]
    legacy = observation((1, 96, 64), (2, 96, 72))
    candidate = observation((1, 96, 64), (2, 96, 71), (3, 10, 10))
    assert compare(legacy, candidate) == [
        "image 3 only in simplified",
        "image 2: legacy 96x72, simplified 96x71",
    ]
    assert compare(legacy, legacy) == []
    assert compare_listings(Listing(((1,),)), Listing(((1,),))) == []


def test_shadow_compare_keeps_at_most_ten_differences() -> None:
    legacy = observation(*((i,) for i in range(25)), total=25)
    differences = compare(legacy, observation(total=0))
    assert len(differences) == MAX_DIFFERENCES
    assert differences[0] == "total_count: legacy 25, simplified 0"
    assert differences[-1] == "... and 17 more differences"


def test_shadow_log_reader_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    good = {"kind": "search", "match": False}
    path.write_text(json.dumps(good) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        read_shadow_log(path)
    assert str(raised.value).startswith(f"Shadow log {path}, line 3: expected one JSON object")
    assert read_shadow_log(tmp_path / "absent.jsonl") == []
    path.write_text(json.dumps(good) + "\n", encoding="utf-8")
    assert summarize_shadow_log(path, "search") == (1, 1)
