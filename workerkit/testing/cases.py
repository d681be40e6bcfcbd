"""The contract cases, run for every declared kind on both stacks.

Subclass ``ContractSuite`` in a test module, with a ``contract`` class attribute; the
plugin parametrizes every case over (kind, stack). Each case names the guarantee it
checks; the docstring says which breakage makes it fail.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from PySide6 import QtGui
from PySide6.QtCore import QObject

from workerkit.testing.child import in_child, rerun_in_child
from workerkit.testing.harness import QUIET_MS, Harness
from workerkit.testing.threads import qt_threads

if TYPE_CHECKING:
    from workerkit.testing.contract import Contract

__all__ = ["NON_BLOCKING_S", "ContractSuite"]

# A cancel() that returns within this has not waited for the job.
NON_BLOCKING_S = 0.1
# Threads that are neither the pool's nor a job's may come and go (a resolver, a timer).
THREAD_SLACK = 1


class ContractSuite:
    """Every contract case; subclass it as ``class TestX(ContractSuite): contract = ...``."""

    contract: ClassVar[Contract]

    def test_contract_quick_job_ends_once_and_stays_quiet(self, contract_harness: Harness) -> None:
        """A quick job sends exactly one terminal event, ``finished``, and nothing after it.

        Fails on a second terminal event, an error, or progress or partials after the end.
        """
        h = contract_harness
        job_id = h.start("quick")
        h.wait_terminal(job_id)
        h.spin(QUIET_MS)
        story = h.log.story(job_id)
        assert [e.name for e in h.log.terminal(job_id)] == ["job_finished"], story
        assert not h.log.after_terminal(job_id), story
        assert not h.service.is_active(job_id), story

    def test_contract_cancel_ends_canceled_not_failed(self, contract_harness: Harness) -> None:
        """A cancel inside the long step ends the job with ``canceled``, soon, and only that.

        Fails when a cancel is reported as an error, as a result, twice, never, or only
        after the long step ran its course.
        """
        h = contract_harness
        job_id = h.start("long")
        h.wait_started(job_id)
        h.spin(h.contract.cancel_after_ms)
        returned, _ = h.timed_cancel(job_id)
        canceled_at = _now()
        ended_at = h.wait_terminal(job_id)
        h.spin(QUIET_MS)
        story = h.log.story(job_id)
        assert returned, f"cancel() of a running job returned False; {story}"
        assert [e.name for e in h.log.terminal(job_id)] == ["job_canceled"], story
        assert not h.log.after_terminal(job_id), story
        if h.kind.name in h.contract.uninterruptible:
            return
        step = h.contract.step_of(h.kind.name)
        assert ended_at - canceled_at < step / 2, (
            f"the canceled job ended {ended_at - canceled_at:.2f} s after cancel(); its long "
            f"step takes about {step:g} s by itself; {story}"
        )

    def test_contract_cancel_does_not_block_the_gui_thread(self, contract_harness: Harness) -> None:
        """``cancel()`` returns at once; it never waits for the job on the GUI thread.

        Fails on a cancel that joins, waits for or terminates the worker.
        """
        h = contract_harness
        job_id = h.start("long")
        h.wait_started(job_id)
        h.spin(h.contract.cancel_after_ms)
        _, seconds = h.timed_cancel(job_id)
        h.wait_terminal(job_id)
        assert seconds < NON_BLOCKING_S, f"cancel() kept the GUI thread {seconds:.3f} s"

    def test_contract_progress_never_goes_back(self, contract_harness: Harness) -> None:
        """Progress percentages of a job never decrease, and none comes after its end.

        Fails on reordered, reset or late progress.
        """
        h = contract_harness
        job_id = h.start("quick")
        h.wait_terminal(job_id)
        h.spin(QUIET_MS)
        values = h.log.percentages(job_id)
        assert values == sorted(values), f"progress went back: {values}"
        late = [e for e in h.log.after_terminal(job_id) if e.name == "job_progressed"]
        assert not late, h.log.story(job_id)

    def test_contract_events_arrive_on_the_gui_thread(self, contract_harness: Harness) -> None:
        """Every event of a job reaches the service's slots on the GUI thread.

        Fails when a stack emits the service's signals from a worker thread.
        """
        h = contract_harness
        job_id = h.start("quick")
        h.wait_terminal(job_id)
        h.spin(QUIET_MS)
        off = [f"{e.name} on {e.thread.name}" for e in h.log.of(job_id) if not e.on_gui_thread]
        assert not off, f"events off the GUI thread: {off}"

    def test_contract_no_pixmap_made_off_the_gui_thread(
        self, contract_harness: Harness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No QPixmap is made off the GUI thread while a job runs (QPixmap is a GUI-thread class).

        Fails on a worker or a stack that makes QPixmaps in a pool or QThread.
        """
        h = contract_harness
        makers = record_pixmaps(monkeypatch)
        job_id = h.start("quick")
        h.wait_terminal(job_id)
        off = sorted({thread.name for thread in makers if thread is not threading.main_thread()})
        assert not off, f"QPixmaps made on {off}"

    def test_contract_latest_wins_delivers_only_the_newest(self, contract_harness: Harness) -> None:
        """For a latest-wins kind, a new job supersedes the running one, which never delivers.

        Fails when a superseded job's result is delivered or the newest job is lost.
        """
        h = contract_harness
        if not h.kind.latest_wins:
            pytest.skip(f"{h.kind.name} is not latest-wins")
        first = h.start("long")
        h.wait_started(first)
        h.spin(h.contract.cancel_after_ms)
        second = h.start("quick")
        h.wait_terminal(second)
        h.wait_terminal(first)
        h.spin(QUIET_MS)
        assert [e.name for e in h.log.terminal(first)] == ["job_canceled"], h.log.story(first)
        assert [e.name for e in h.log.terminal(second)] == ["job_finished"], h.log.story(second)
        partials = [e for e in h.log.of(first) if e.name == "partial_delivered"]
        late = [e for e in partials if e.at > h.log.of(second)[0].at]
        assert not late, f"the superseded job delivered partials after the new one started: {late}"

    def test_contract_burst_stays_within_the_pool(self, contract_harness: Harness) -> None:
        """A burst of jobs adds at most the pool's threads, and every job ends exactly once.

        Fails on a thread per job, or on jobs lost or doubled under load.
        """
        h = contract_harness
        if h.stack == "legacy" and not in_child():
            # A legacy burst can deadlock or crash the whole process (D11).
            rerun_in_child(h.request)
            return
        # One job first: the threads Qt starts for the work itself (it scales large
        # images on its global pool) then count in the baseline, whatever ran before.
        h.wait_terminal(h.start("quick"))
        baseline, peak = qt_threads(), [0]
        jobs = [h.start("quick") for _ in range(4 * h.contract.max_threads)]

        def sample() -> None:
            peak[0] = max(peak[0], qt_threads())

        h.spin_sampling(
            lambda: all(h.log.terminal(j) for j in jobs), sample, h.contract.terminal_timeout_s
        )
        h.spin(QUIET_MS)
        assert all(len(h.log.terminal(j)) == 1 for j in jobs), [h.log.story(j) for j in jobs]
        allowed = baseline + h.contract.max_threads + THREAD_SLACK
        assert peak[0] <= allowed, (
            f"{len(jobs)} jobs raised the thread count from {baseline} to {peak[0]} "
            f"(pool of {h.contract.max_threads})"
        )

    def test_contract_shutdown_ends_within_its_timeout(self, contract_harness: Harness) -> None:
        """``shutdown(timeout)`` with a job inside its long step returns True within the timeout.

        Fails on a shutdown that waits for the long step, or never stops the job.
        """
        h = contract_harness
        job_id = h.start("long")
        h.wait_started(job_id)
        h.spin(h.contract.cancel_after_ms)
        timeout_ms = h.contract.shutdown_timeout_ms
        started = _now()
        ended = h.service.shutdown(timeout_ms)
        seconds = _now() - started
        assert ended, f"shutdown({timeout_ms}) said jobs were still running after {seconds:.2f} s"
        assert seconds < timeout_ms / 1000 + 0.5
        assert h.service.active_count() == 0, h.service.active_job_ids()

    def test_contract_nothing_leaks_after_jobs_end(self, contract_harness: Harness) -> None:
        """After jobs end: nothing counted active, all-finished sent, no objects or threads left.

        Fails on a job left active, a missing all_jobs_finished, or per-job QObjects or
        threads that outlive their job.
        """
        h = contract_harness
        first = h.start("quick")
        h.wait_terminal(first)
        h.spin(QUIET_MS)
        h.settle()
        backend = h.service.stack(h.backend_name)
        objects, threads = _objects(backend), qt_threads()
        jobs = [h.start("quick") for _ in range(3)]
        for job_id in jobs:
            h.wait_terminal(job_id)
        h.qtbot.waitUntil(lambda: h.service.active_count() == 0, timeout=10_000)
        h.spin(QUIET_MS)
        h.settle()
        assert h.log.all_finished >= 2, f"all_jobs_finished sent {h.log.all_finished} times"
        assert _objects(backend) <= objects, "per-job QObjects outlived their jobs"
        assert qt_threads() <= threads + h.contract.max_threads + THREAD_SLACK


def record_pixmaps(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """Put a QPixmap that notes its making thread in every loaded module that uses QPixmap."""
    makers: list[threading.Thread] = []
    # Bound here: this module's own QPixmap name is replaced too, as the loop runs.
    original = QtGui.QPixmap

    class RecordingPixmap(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any) -> None:
            makers.append(threading.current_thread())
            super().__init__(*args)

        @staticmethod
        def fromImage(*args: Any) -> QtGui.QPixmap:
            makers.append(threading.current_thread())
            return original.fromImage(*args)

        @staticmethod
        def fromImageReader(*args: Any) -> QtGui.QPixmap:
            makers.append(threading.current_thread())
            return original.fromImageReader(*args)

    for name, module in list(sys.modules.items()):
        if not name.startswith("PySide6") and getattr(module, "QPixmap", None) is original:
            monkeypatch.setattr(module, "QPixmap", RecordingPixmap)
    return makers


def _objects(backend: QObject) -> int:
    return len(backend.findChildren(QObject))


def _now() -> float:
    return time.perf_counter()


def contract_of(cls: Any) -> Contract | None:
    """Return the contract a ContractSuite subclass declares, if it is one."""
    if isinstance(cls, type) and issubclass(cls, ContractSuite):
        return getattr(cls, "contract", None)
    return None
