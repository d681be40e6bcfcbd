"""The app's own WorkerManager and its adapter, through JobService, beside the pool stack.

Every test that starts a legacy job runs in a child pytest (``workerkit_isolated``):
there a hang or a crash of the manager is that test's result, not the end of the run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from examples.manager_app.base_worker import LabProgress
from examples.manager_app.domain import ChecksumResult, LookupResult
from examples.manager_app.manager import CANCEL_GRACE_MS
from examples.manager_app.stack import ManagerStack
from examples.manager_app.terminal import CancelReason, Outcome
from examples.manager_app.tests.support import JobLog, TerminalLog, digests_of, write_folder
from examples.manager_app.workers import checksum, lookup
from workerkit import STACKS, JobService, JobState, WorkerError, WorkerProgress

ServiceFactory = Callable[..., JobService]
# A slow step long enough for a cancel to land inside it, well within the cancel grace.
SLOW_STEP_S = 0.5
WAIT_MS = 5000


def manager_stack(service: JobService) -> ManagerStack:
    """Return the service's legacy stack, which must be the app's own."""
    stack = service.stack("legacy")
    assert isinstance(stack, ManagerStack), type(stack).__name__
    return stack


def settle(qtbot: QtBot, service: JobService) -> None:
    """Wait until the service has no active job, then let late signals arrive."""
    qtbot.waitUntil(lambda: service.active_count() == 0, timeout=WAIT_MS)
    qtbot.wait(100)  # an observation window for a stray second terminal signal


@pytest.mark.workerkit_isolated
def test_job_ids_are_unique_within_one_second(
    qtbot: QtBot, make_service: ServiceFactory, tmp_path: Path
) -> None:
    """Give jobs started in the same second distinct uuid-based ids.

    Catches ids made from the clock (LoRAIro's 2025 ``f"{prefix}_{int(time.time())}"``),
    which collide and make the manager refuse the second job.
    """
    service = make_service(stacks={"checksum": "legacy"})
    folders = [write_folder(tmp_path / f"f{n}", files=1) for n in range(5)]
    started = time.monotonic()
    ids = [service.start("checksum", str(folder)).id for folder in folders]
    assert time.monotonic() - started < 1.0, "the starts took too long to share a second"
    assert len(set(ids)) == len(ids), ids
    assert all(re.fullmatch(r"checksum_[0-9a-f]{8}", job_id) for job_id in ids), ids
    settle(qtbot, service)


@pytest.mark.workerkit_isolated
def test_every_job_ends_with_exactly_one_terminal_event(
    qtbot: QtBot, make_service: ServiceFactory, tmp_path: Path
) -> None:
    """End each of a finished, a failed and a canceled job with exactly one terminal event.

    Catches a manager that reports a job twice (the worker's own signal and a cancel's
    fallback) or never, on the manager's signal or on the service's.
    """
    service = make_service(stacks={"checksum": "legacy"})
    terminals = TerminalLog(manager_stack(service).manager)
    log = JobLog(service)
    done = service.start("checksum", str(write_folder(tmp_path / "done", files=2)))
    failed = service.start("checksum", str(tmp_path / "missing"))
    slow = service.start("checksum", str(write_folder(tmp_path / "slow", 3)), SLOW_STEP_S)
    qtbot.waitUntil(lambda: bool(log.of(slow, "started")), timeout=WAIT_MS)
    assert service.cancel(slow)
    settle(qtbot, service)
    outcomes = {
        job_id: [e.outcome for e in terminals.wait_of(qtbot, job_id)]
        for job_id in (done, failed, slow)
    }
    assert outcomes == {
        done: [Outcome.SUCCEEDED],
        failed: [Outcome.FAILED],
        slow: [Outcome.CANCELED],
    }
    assert [log.terminals(j) for j in (done, failed, slow)] == [
        ["finished"],
        ["failed"],
        ["canceled"],
    ]
    assert [job.state for job in (done, failed, slow)] == [
        JobState.FINISHED,
        JobState.FAILED,
        JobState.CANCELED,
    ]


@pytest.mark.workerkit_isolated
def test_cancel_ends_the_job_canceled_through_the_workers_own_signal(
    qtbot: QtBot, make_service: ServiceFactory, lab_folder: Path
) -> None:
    """End a canceled job with job_canceled, sent because the worker sent ``canceled``.

    Catches a cancel reported as an error, a job left among the active ids, and a
    manager that reports the cancel itself while the worker's own signal is lost.
    """
    service = make_service(stacks={"checksum": "legacy"})
    manager = manager_stack(service).manager
    terminals = TerminalLog(manager)
    log = JobLog(service)
    job = service.start(checksum, str(lab_folder), SLOW_STEP_S)
    job_id = job.id
    worker = manager.get_worker(job_id)
    assert worker is not None
    sent: list[str] = []
    worker.canceled.connect(lambda: sent.append("canceled"))
    with qtbot.waitSignal(job.canceled, timeout=WAIT_MS):
        assert job.cancel()
    assert log.terminals(job_id) == ["canceled"]
    assert sent == ["canceled"]
    [event] = terminals.wait_of(qtbot, job_id)
    assert terminals.sent_by_the_job(job_id), "the cancel's fallback ended the job"
    assert (event.outcome, event.cancel_reason) == (Outcome.CANCELED, CancelReason.USER_REQUESTED)
    assert job_id not in service.active_job_ids()
    assert not service.cancel(job_id)
    settle(qtbot, service)
    assert log.terminals(job_id) == ["canceled"]


@pytest.mark.workerkit_isolated
def test_cancel_blocks_the_gui_thread_until_the_job_stops(
    qtbot: QtBot, make_service: ServiceFactory, lab_folder: Path
) -> None:
    """Return from the legacy cancel only once the job has ended, within the 2 s grace.

    This is the app's real behaviour, kept on purpose. Catches a manager whose cancel
    stopped waiting (the job still active when cancel returns) or waits past its grace.
    """
    service = make_service(stacks={"checksum": "legacy"})
    log = JobLog(service)
    job_id = service.start("checksum", str(lab_folder), SLOW_STEP_S)
    qtbot.waitUntil(lambda: bool(log.of(job_id, "started")), timeout=WAIT_MS)
    started = time.perf_counter()
    assert service.cancel(job_id)
    seconds = time.perf_counter() - started
    assert log.terminals(job_id) == ["canceled"], "cancel() returned before the job ended"
    assert not service.is_active(job_id)
    assert seconds < CANCEL_GRACE_MS / 1000 + 0.5, f"cancel() blocked {seconds:.2f} s"


@pytest.mark.workerkit_isolated
def test_request_cancel_returns_at_once_and_the_job_ends_canceled_later(
    qtbot: QtBot, make_service: ServiceFactory, lab_folder: Path
) -> None:
    """Return from ``request_cancel_worker`` at once; end the job canceled after its step.

    Catches a request that waits for the thread, or that the worker never acts on.
    """
    service = make_service(stacks={"checksum": "legacy"})
    manager = manager_stack(service).manager
    terminals = TerminalLog(manager)
    job_id = service.start("checksum", str(lab_folder), SLOW_STEP_S)
    with qtbot.waitSignal(service.job_canceled, timeout=WAIT_MS):
        started = time.perf_counter()
        assert manager.request_cancel_worker(job_id, CancelReason.SHUTDOWN)
        assert time.perf_counter() - started < 0.05
        assert service.is_active(job_id), "the job ended before its slow step could"
    [event] = terminals.wait_of(qtbot, job_id)
    assert event.cancel_reason is CancelReason.SHUTDOWN


@pytest.mark.workerkit_isolated
def test_failing_worker_ends_job_failed_with_a_worker_error(
    qtbot: QtBot, make_service: ServiceFactory, tmp_path: Path
) -> None:
    """Fail a checksum of a missing folder with a WorkerError wrapping the worker's message.

    Catches an error sent as a bare string (job_failed always carries an exception) or
    reported as finished or canceled.
    """
    service = make_service(stacks={"checksum": "legacy"})
    log = JobLog(service)
    missing = tmp_path / "missing"
    job = service.start(checksum, str(missing))
    with qtbot.waitSignal(job.failed, timeout=WAIT_MS) as failed:
        pass
    [error] = failed.args
    assert isinstance(error, WorkerError), repr(error)
    assert str(error) == f"ChecksumWorker failed: {missing} is not a folder"
    assert error.reported == str(error)
    assert job.error is error and job.state is JobState.FAILED
    settle(qtbot, service)
    assert log.terminals(job.id) == ["failed"]


@pytest.mark.workerkit_isolated
def test_progress_arrives_as_worker_progress_holding_the_apps_own(
    qtbot: QtBot, make_service: ServiceFactory, lab_folder: Path
) -> None:
    """Deliver each file's progress as a WorkerProgress whose ``raw`` is the LabProgress.

    Catches progress delivered in the app's own type, with its message lost, or off
    the GUI thread's order (after the job's end).
    """
    service = make_service(stacks={"checksum": "legacy"})
    log = JobLog(service)
    job = service.start(checksum, str(lab_folder))
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
        pass
    payloads = log.of(job.id, "progressed")
    progress = [p for p in payloads if isinstance(p, WorkerProgress)]
    assert progress == payloads, f"progress not sent as WorkerProgress: {payloads}"
    sent = [LabProgress(100 * n // 3, f"hashed file{n - 1:03}.bin", n, 3) for n in (1, 2, 3)]
    shown = [(p.percentage, p.status_message, p.raw) for p in progress]
    assert shown == [(raw.percentage, raw.message, raw) for raw in sent]
    settle(qtbot, service)


@pytest.mark.workerkit_isolated
def test_legacy_flag_routes_jobs_to_the_apps_own_manager(
    qtbot: QtBot, make_service: ServiceFactory, lab_folder: Path, word_list: Path
) -> None:
    """Run a kind flagged ``legacy`` on the app's ManagerStack, a ``simplified`` one elsewhere.

    Catches the declaration's ``legacy_stack`` being ignored (workerkit's own QThread
    stack running instead) and a flag that sends a kind to the wrong stack.
    """
    service = make_service(stacks={"checksum": "legacy", "lookup": "simplified"})
    stack = manager_stack(service)
    legacy_id = service.start("checksum", str(lab_folder), SLOW_STEP_S)
    pool_id = service.start("lookup", str(word_list), "ca*", open_delay_s=SLOW_STEP_S)
    assert stack.manager.get_active_worker_ids() == [legacy_id]
    assert service.stack("simplified").active_job_ids() == [pool_id]
    settle(qtbot, service)


@pytest.mark.workerkit_isolated
def test_new_lookup_replaces_the_running_one(
    qtbot: QtBot, make_service: ServiceFactory, word_list: Path
) -> None:
    """Cancel a running lookup, as replaced, when a newer one starts; deliver only the newer.

    Catches a latest-wins kind whose older job still delivers, or is reported as a
    user's cancel.
    """
    service = make_service(stacks={"lookup": "legacy"})
    terminals = TerminalLog(manager_stack(service).manager)
    log = JobLog(service)
    first = service.start(lookup, str(word_list), "ca*", open_delay_s=SLOW_STEP_S)
    second = service.start(lookup, str(word_list), "do*")
    with qtbot.waitSignal(second.finished, timeout=WAIT_MS):
        pass
    settle(qtbot, service)
    assert (first.state, second.state) == (JobState.CANCELED, JobState.FINISHED)
    assert (log.terminals(first), log.terminals(second)) == (["canceled"], ["finished"])
    [event] = terminals.wait_of(qtbot, first.id)
    assert event.cancel_reason is CancelReason.REPLACED


@pytest.mark.workerkit_isolated
@pytest.mark.parametrize("kind", ["checksum", "lookup"])
def test_kind_gives_the_same_result_on_both_stacks(
    qtbot: QtBot, make_service: ServiceFactory, lab_folder: Path, word_list: Path, kind: str
) -> None:
    """Finish the same job on legacy and on simplified with equal, correct results.

    Catches a pool function that drifted from the worker it replaces.
    """
    args, expected = expected_result(kind, lab_folder, word_list)
    results = {}
    for stack in STACKS:
        service = make_service(stacks={kind: stack})
        job = service.start(kind, *args)
        with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
            pass
        results[stack] = job.result()
    assert results == {"legacy": expected, "simplified": expected}


def expected_result(
    kind: str, folder: Path, word_list: Path
) -> tuple[tuple[str, ...], ChecksumResult | LookupResult]:
    """Return a job's arguments for ``kind`` and its result, computed here without the app."""
    if kind == "checksum":
        return (str(folder),), ChecksumResult(str(folder), digests_of(folder))
    words = [w for w in word_list.read_text(encoding="utf-8").split() if w.lower().startswith("ca")]
    assert words, "the word list has no word to find"
    return (str(word_list), "CA*"), LookupResult("CA*", tuple(words))


@pytest.mark.workerkit_isolated
def test_shutdown_cancels_every_job_within_its_timeout(
    qtbot: QtBot, make_service: ServiceFactory, tmp_path: Path
) -> None:
    """Cancel three jobs inside their slow steps with one shared deadline; True when done.

    Catches a shutdown that waits for each job in turn with a full grace, or reports
    True while jobs are still active.
    """
    service = make_service(stacks={"checksum": "legacy"})
    log = JobLog(service)
    folders = [write_folder(tmp_path / f"f{n}", files=3) for n in range(3)]
    jobs = [service.start("checksum", str(folder), SLOW_STEP_S) for folder in folders]
    started = time.perf_counter()
    assert service.shutdown(3000)
    assert time.perf_counter() - started < 3.5
    assert service.active_job_ids() == []
    settle(qtbot, service)
    assert [log.terminals(j) for j in jobs] == [["canceled"]] * 3


def test_simplified_cancel_returns_at_once_and_ends_canceled(
    qtbot: QtBot, make_service: ServiceFactory, lab_folder: Path
) -> None:
    """Cancel a pool checksum inside its slow step without waiting for it.

    Catches a pool function whose slow step ignores the cancel (``control.on_cancel``).
    """
    service = make_service(stacks={"checksum": "simplified"})
    log = JobLog(service)
    job = service.start(checksum, str(lab_folder), 10.0)
    with qtbot.waitSignal(job.started, timeout=WAIT_MS):
        pass
    started = time.perf_counter()
    with qtbot.waitSignal(job.canceled, timeout=2000):
        assert job.cancel()
        assert time.perf_counter() - started < 0.1
    settle(qtbot, service)
    assert log.terminals(job.id) == ["canceled"]
