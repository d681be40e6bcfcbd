"""Lifecycle misuse: odd cancels, starts after shutdown, storms, busy teardown, raising slots.

Repeated, late and unknown cancels; starts after shutdown; a storm of start/cancel
pairs; destroying or shutting down a service while all four kinds run; slots that
raise. Scenarios that can abort, crash or hang the legacy stack run in a child process
(tests/scripts/fault_*.py) under a watchdog; a hang is reported as a failure.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize

from workerkit import STACKS
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.sample import SampleManifest
from workerkit.imagelib.service import WorkerService

from ..child import ChildRun, run_script
from ..conftest import LONG_MS, TERMINAL_SIGNALS, Defect, EventLog, stack_params
from .conftest import run_job

pytestmark = pytest.mark.timeout(120)

STORM_PAIRS = 1_000
SHUTDOWN_TIMEOUT_MS = 1_000
# Time for the interpreter to return from shutdown() on top of the timeout it was given.
SHUTDOWN_SLACK_S = 0.5


@pytest.fixture
def db_copy(registered_db: Path, tmp_path: Path) -> Path:
    """Return a private copy of the registered database file, for a child process."""
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(registered_db, copy)
    return copy


@pytest.mark.parametrize(
    "stack",
    stack_params(Defect("D2", "the cancel is also reported as an error", ("D1",))),
)
def test_cancel_twice_ends_the_job_once_as_canceled(
    qtbot,
    stack: str,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    sample_library: SampleManifest,
) -> None:
    service = make_service(store, stack)
    log = EventLog.attach(service)
    with qtbot.waitSignal(service.worker_batch_progress, timeout=LONG_MS):
        job_id = service.start_batch_registration(sample_library.root)
    assert service.cancel_batch_registration(job_id) is True
    service.cancel_batch_registration(job_id)
    log.wait(qtbot, job_id)
    # The next job's terminal event arrives after any straggling event of the canceled one.
    run_job(qtbot, log, lambda: service.start_search(SearchConditions(limit=1)))
    assert log.outcomes(job_id) == [("canceled", None)]
    assert not service.is_worker_active(job_id)


@pytest.mark.parametrize("stack", STACKS)
def test_cancel_after_finish_returns_false_and_sends_nothing(
    qtbot, stack: str, make_service: Callable[..., WorkerService], registered_store: ImageStore
) -> None:
    service = make_service(registered_store, stack)
    log = EventLog.attach(service)
    job_id = service.start_search(SearchConditions(limit=3))
    event, _result = log.wait(qtbot, job_id)
    assert event == "finished"
    assert service.cancel_search(job_id) is False
    run_job(qtbot, log, lambda: service.start_search(SearchConditions(limit=1)))
    assert [event for event, _payload in log.outcomes(job_id)] == ["finished"]


@pytest.mark.parametrize("stack", STACKS)
def test_cancel_of_an_unknown_id_returns_false(
    qtbot, stack: str, make_service: Callable[..., WorkerService], registered_store: ImageStore
) -> None:
    service = make_service(registered_store, stack)
    log = EventLog.attach(service)
    unknown = ("search_0", "batch_reg_unknown", "not a job id", "")
    assert [service.cancel_search(job_id) for job_id in unknown] == [False] * len(unknown)
    run_job(qtbot, log, lambda: service.start_search(SearchConditions(limit=1)))
    cancels = (
        service.cancel_batch_registration,
        service.cancel_search,
        service.cancel_thumbnail_loading,
        service.cancel_annotation,
    )
    assert [cancel(job_id) for cancel in cancels for job_id in unknown] == [False] * 16
    assert [e.name for e in log.named(*TERMINAL_SIGNALS)] == ["job_finished"]


@pytest.mark.parametrize("stack", STACKS)
def test_start_after_shutdown_raises_naming_the_fix(
    stack: str, make_service: Callable[..., WorkerService], store: ImageStore, tmp_path: Path
) -> None:
    service = make_service(store, stack)
    assert service.shutdown(timeout_ms=1000) is True
    starts = (
        lambda: service.start_batch_registration(tmp_path),
        lambda: service.start_search({}),
        lambda: service.start_thumbnail_loading([], QSize(8, 8)),
        lambda: service.start_annotation([1], ["local"]),
    )
    for start in starts:
        with pytest.raises(RuntimeError, match=r"has been shut down.*create a new WorkerService"):
            start()
    assert service.shutdown(timeout_ms=1000) is True, "a second shutdown must be harmless"
    assert service.get_active_worker_count() == 0


@pytest.mark.parametrize(
    "stack",
    stack_params(
        Defect(
            "D1",
            "canceled searches stay active, and later cancels reach workers already deleted "
            "(segfault in cancel_worker -> worker.cancel in about half the runs); D2: every "
            "cancel is also an error",
            ("D2", "D11"),
        )
    ),
)
def test_a_storm_of_start_cancel_pairs_settles_with_one_event_per_job(
    stack: str, db_copy: Path
) -> None:
    run = run_script("fault_start_cancel_storm.py", stack, STORM_PAIRS, db_copy, timeout_s=90)
    assert not run.hung, f"D11-style hang: {run.describe()}"
    assert run.returncode == 0, run.describe()
    [report] = run.json_lines()
    outcome = {key: report[key] for key in ("settled", "distinct_ids", "active_after")}
    assert outcome == {"settled": True, "distinct_ids": STORM_PAIRS, "active_after": 0}, report
    assert report["jobs_without_terminal"] == report["jobs_with_several_terminals"] == 0, report
    assert report["cancel_refused"] == 0, report
    assert float(report["storm_s"]) < 30, report  # type: ignore[arg-type]


def _busy_service(stack: str, library: Path, db: Path, mode: str, timeout: float) -> dict[str, Any]:
    run = run_script(
        "fault_busy_service.py", stack, library, db, mode, SHUTDOWN_TIMEOUT_MS, timeout_s=timeout
    )
    return _clean_end(run, "destroyed", "active_at_end", {"annotation", "batch", "thumbnail"})


def _clean_end(run: ChildRun, last_word: str, active_key: str, busy: set[str]) -> dict[str, Any]:
    """Check that a script which ended a busy service ended cleanly; return its JSON report.

    It exited 0 after printing ``last_word``, its report says the kinds ``busy`` were still
    running when the service went, and no thread was terminated nor any Qt warning printed.
    """
    assert not run.hung, run.describe()
    assert "QThread: Destroyed while thread" not in run.stderr, run.describe()
    assert run.returncode == 0, run.describe()
    assert run.stdout.rstrip().endswith(last_word), run.describe()
    [report] = run.json_lines()
    assert busy <= set(report[active_key]), report
    assert report["qt_messages"] == [], report
    assert report["terminated_threads"] == 0, report
    return report


@pytest.mark.parametrize(
    "stack",
    stack_params(Defect("D10", "QThread: Destroyed while thread is still running aborts")),
)
def test_destroying_the_service_while_all_four_kinds_run(
    stack: str, sample_library: SampleManifest, db_copy: Path
) -> None:
    report = _busy_service(stack, sample_library.root, db_copy, "destroy", timeout=60)
    assert float(report["destroy_s"]) < 5, report


@pytest.mark.parametrize(
    "stack",
    stack_params(
        Defect(
            "D3",
            "cancel_all_workers blocks 2 s on the annotation stuck in one HTTP call, then "
            "terminate()s it (D4); the process may then hang at exit",
            ("D4",),
        ),
        slow=True,
    ),
)
def test_shutdown_while_all_four_kinds_run_returns_within_its_timeout(
    stack: str, sample_library: SampleManifest, db_copy: Path
) -> None:
    report = _busy_service(stack, sample_library.root, db_copy, "shutdown", timeout=60)
    assert report["shutdown_ok"] is True, report
    assert report["threads_ended"] is True, report
    limit = SHUTDOWN_TIMEOUT_MS / 1000 + SHUTDOWN_SLACK_S
    assert float(report["shutdown_s"]) <= limit, report


@pytest.mark.parametrize("stack", STACKS)
def test_a_slot_that_raises_leaves_the_service_working(
    qtbot, stack: str, make_service: Callable[..., WorkerService], registered_store: ImageStore
) -> None:
    service = make_service(registered_store, stack)
    log = EventLog.attach(service)

    def explode(*_args: object) -> None:
        raise RuntimeError("a GUI slot failed on purpose")

    service.search_finished.connect(explode)
    service.worker_progress_updated.connect(explode)
    with qtbot.capture_exceptions() as exceptions:
        first = run_job(qtbot, log, lambda: service.start_search(SearchConditions(limit=2)))
        second = run_job(qtbot, log, lambda: service.start_search(SearchConditions(limit=1)))
        registration = run_job(
            qtbot, log, lambda: service.start_batch_registration(registered_store.path.parent)
        )
    assert [first[0], second[0], registration[0]] == ["finished"] * 3
    assert len(second[1].image_metadata) == 1  # type: ignore[attr-defined]
    raised = [str(value) for _type, value, _tb in exceptions]
    assert raised and set(raised) == {"a GUI slot failed on purpose"}
    qtbot.waitUntil(lambda: service.get_active_worker_count() == 0, timeout=LONG_MS)


@pytest.mark.parametrize(
    "stack",
    stack_params(
        Defect(
            "D4",
            "closing runs shutdown(), whose blocking cancel terminate()s the annotation thread "
            "stuck in one HTTP call after 2 s (D3); the process may then hang",
            ("D3",),
        ),
        slow=True,
    ),
)
def test_closing_the_demo_window_while_all_four_kinds_run(
    stack: str, sample_library: SampleManifest, db_copy: Path
) -> None:
    # Imported here: the demo is a separate, optional part; the other tests must not need it.
    from workerkit.imagelib.demo.window import SHUTDOWN_TIMEOUT_MS

    run = run_script("fault_close_demo.py", stack, sample_library.root, db_copy, timeout_s=60)
    report = _clean_end(run, "closed", "active_at_close", {"annotation", "thumbnail"})
    assert report["closed"] is True and report["threads_ended"] is True, report
    limit = SHUTDOWN_TIMEOUT_MS / 1000 + SHUTDOWN_SLACK_S
    assert float(report["close_s"]) <= limit, report
