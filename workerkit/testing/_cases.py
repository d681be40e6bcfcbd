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

from workerkit.testing._harness import QUIET_MS, Harness
from workerkit.testing._threads import qt_threads, wait_until_other_threads_idle

if TYPE_CHECKING:
    from workerkit.testing._contract import Contract
    from workerkit.testing._recorder import Event

__all__ = ["NON_BLOCKING_S", "ContractSuite"]

# A cancel() that returns within this has not waited for the job.
NON_BLOCKING_S = 0.1
# Threads that are neither the pool's nor a job's may come and go (a resolver, a timer).
THREAD_SLACK = 1
# A shutdown this short returns while a job inside its long step is still running.
SHORT_SHUTDOWN_MS = 50


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

    def test_contract_each_job_gets_an_id_of_its_own(self, contract_harness: Harness) -> None:
        """Jobs started one right after another's end each get an id no earlier job had.

        Fails on ids made from the clock (jobs started within one tick share an id, and
        one job's events are taken for the other's) or from a counter that starts again.
        """
        h = contract_harness
        ids: list[str] = []
        for _ in range(3):
            ids.append(h.start("quick"))
            h.wait_terminal(ids[-1])
        assert len(set(ids)) == len(ids), f"job ids given out twice: {ids}"

    def test_contract_cancel_ends_canceled_not_failed(self, contract_harness: Harness) -> None:
        """A cancel inside the long step ends the job with ``canceled``, soon, and only that.

        Fails when a cancel is reported as an error, as a result, twice, never, or only
        after the long step ran its course.
        """
        h = contract_harness
        job_id = h.start("long")
        h.wait_started(job_id)
        h.spin(h.contract.cancel_after_ms)
        returned, blocked = h.timed_cancel(job_id)
        # From the call, not from its return: a cancel that waits for the job is not quick.
        canceled_at = _now() - blocked
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
        stack = h.service.stack(h.stack_name)
        objects, threads = _objects(stack), qt_threads()
        jobs = [h.start("quick") for _ in range(3)]
        for job_id in jobs:
            h.wait_terminal(job_id)
        h.qtbot.waitUntil(lambda: h.service.active_count() == 0, timeout=10_000)
        h.spin(QUIET_MS)
        h.settle()
        assert h.log.all_finished >= 2, f"all_jobs_finished sent {h.log.all_finished} times"
        assert _objects(stack) <= objects, "per-job QObjects outlived their jobs"
        assert qt_threads() <= threads + h.contract.max_threads + THREAD_SLACK

    def test_contract_failing_job_ends_failed_with_the_exception(
        self, contract_harness: Harness
    ) -> None:
        """A job whose work raises ends with ``failed`` carrying an exception, and only that.

        Fails when a failure is reported as a result (``finished``), as a message string
        instead of an exception, twice, or not at all.
        """
        h = contract_harness
        if not h.contract.has_failing(h.kind.name):
            pytest.skip(
                f"{h.kind.name} has no failing sample: add failing={{'{h.kind.name}': "
                "call(...)} to the Contract, with arguments that make its work raise"
            )
        job_id = h.start("failing")
        h.wait_terminal(job_id)
        h.spin(QUIET_MS)
        story = h.log.story(job_id)
        terminal = h.log.terminal(job_id)
        assert [e.name for e in terminal] == ["job_failed"], story
        error = terminal[0].payload[0]
        assert isinstance(error, BaseException), (
            f"job_failed carried {type(error).__name__} {error!r}, not an exception; {story}"
        )
        assert not h.log.after_terminal(job_id), story

    def test_contract_latest_wins_over_three_starts(self, contract_harness: Harness) -> None:
        """For a latest-wins kind, each new job supersedes the one before: only the last delivers.

        Long job A, then long job B, then quick job C: A and B end ``canceled``, C
        ``finished``, and neither A nor B delivers a partial once C started. Fails when a
        stack supersedes only once (B is not the current job after it superseded A).
        """
        h = contract_harness
        if not h.kind.latest_wins:
            pytest.skip(f"{h.kind.name} is not latest-wins")
        older = []
        for _ in range(2):
            job_id = h.start("long")
            h.wait_started(job_id)
            h.spin(h.contract.cancel_after_ms)
            older.append(job_id)
        newest = h.start("quick")
        for job_id in (newest, *older):
            h.wait_terminal(job_id)
        h.spin(QUIET_MS)
        for job_id in older:
            assert [e.name for e in h.log.terminal(job_id)] == ["job_canceled"], h.log.story(job_id)
        assert [e.name for e in h.log.terminal(newest)] == ["job_finished"], h.log.story(newest)
        since = h.log.of(newest)[0].at
        late = [
            e.brief()
            for job_id in older
            for e in h.log.of(job_id)
            if e.name == "partial_delivered" and e.at > since
        ]
        assert not late, f"superseded jobs delivered partials after the newest started: {late}"

    def test_contract_partials_queued_at_a_cancel_never_arrive(
        self, contract_harness: Harness
    ) -> None:
        """A partial still on its way to the GUI thread when its job is canceled is never delivered.

        The GUI thread is kept busy while the long job sends its first partials, so they
        are queued, not delivered, when it cancels. A writing kind's summary of what it
        committed, sent just before ``canceled``, is the one partial allowed after the
        cancel. Fails on a stack that delivers the partials of canceled jobs.
        """
        h = contract_harness
        job_id = h.start("long")
        h.wait_started(job_id)
        # An input delay, not a synchronisation: a GUI thread busy elsewhere while the
        # job runs, so what the job sends meanwhile waits in the queue.
        h.block(h.contract.cancel_after_ms)
        h.service.cancel(job_id)
        canceled_at = _now()
        h.wait_terminal(job_id)
        h.spin(QUIET_MS)
        events = h.log.of(job_id)
        late = [
            e.brief()
            for i, e in enumerate(events)
            if e.name == "partial_delivered"
            and e.at > canceled_at
            and not (h.kind.writes and _before_canceled(events, i))
        ]
        assert not late, (
            f"partials delivered after cancel() returned: {late}; {h.log.story(job_id)}"
        )

    def test_contract_shutdown_says_whether_jobs_ended(self, contract_harness: Harness) -> None:
        """``shutdown(t)`` says True only if no job is still active, and returns within t + 0.5 s.

        With the long job inside its long step, ``shutdown(50)`` may well return before
        the job ends; then it must say False. (It may say False with no job active: work
        a canceled job left on the pool can still be running.) Fails on a shutdown that
        always says True.
        """
        h = contract_harness
        job_id = h.start("long")
        h.wait_started(job_id)
        h.spin(h.contract.cancel_after_ms)
        started = _now()
        ended = h.service.shutdown(SHORT_SHUTDOWN_MS)
        seconds = _now() - started
        active = h.service.active_count()
        assert not (ended and active), (
            f"shutdown({SHORT_SHUTDOWN_MS}) returned True with {active} jobs still active "
            f"({h.service.active_job_ids()}); {h.log.story(job_id)}"
        )
        assert seconds < SHORT_SHUTDOWN_MS / 1000 + 0.5, f"shutdown took {seconds:.2f} s"

    def test_contract_wait_for_all_waits_for_jobs_started_this_turn(
        self, contract_harness: Harness
    ) -> None:
        """``wait_for_all`` called right after the starts, with no event loop run, waits for them.

        It returns True, and each job has sent its terminal event by then. Fails on a stack
        whose wait_for_all does not first start the jobs still queued in this turn.
        """
        h = contract_harness
        jobs = [h.start("quick") for _ in range(3)]
        ended = h.service.wait_for_all(int(h.contract.terminal_timeout_s * 1000))
        unended = [h.log.story(job_id) for job_id in jobs if not h.log.terminal(job_id)]
        assert ended, f"wait_for_all() returned False; active: {h.service.active_job_ids()}"
        assert not unended, f"jobs without a terminal event when wait_for_all() returned: {unended}"

    # It runs a job on the legacy stack whatever stack it is about: in a child, where a
    # legacy hang or crash is its result, not the end of the run.
    @pytest.mark.workerkit_isolated
    def test_contract_all_finished_waits_for_the_other_stack(
        self, contract_harness: Harness
    ) -> None:
        """``all_jobs_finished`` never fires while a job is active, whatever stack runs it.

        The long job runs here; the kind's flag then moves to the other stack, where a
        quick job runs and ends. Fails on a stack whose active count leaves out its jobs:
        the service's count then reads zero while the long job runs.
        """
        h = contract_harness
        long_id = h.start("long")
        h.wait_started(long_id)
        h.service.set_stack(h.kind.name, h.other_stack)
        quick_id = h.start("quick")
        h.wait_terminal(quick_id)
        h.spin(QUIET_MS)
        ended = h.log.terminal(long_id)
        until = ended[0].at if ended else float("inf")
        early = [at for at in h.log.all_finished_at if at < until]
        assert not early, (
            f"all_jobs_finished was sent while the long job on {h.stack_name} was active; "
            f"{h.log.story(long_id)}"
        )
        if not ended:
            counted, sent = h.service.active_count(), h.log.counts[-1:]
            assert counted >= 1 and sent and sent[0] >= 1, (
                f"the long job on {h.stack_name} is running, yet the service counts {counted} "
                f"active jobs (last active_count_changed: {sent}); the stack's "
                f"active_count() leaves out its jobs; {h.log.story(long_id)}"
            )

    def test_contract_completed_write_outlives_a_late_cancel(
        self, contract_harness: Harness
    ) -> None:
        """A writing job whose work completed before a cancel ends ``finished``, with its result.

        The work's result says what is now stored, so a cancel that came too late must not
        hide it. Fails on a stack where a cancel always wins over a completed write.
        """
        h = contract_harness
        if not h.kind.writes:
            pytest.skip(f"{h.kind.name} does not write")
        job_id = h.start("quick")
        # No event loop here: the job's work completes, its events stay queued.
        assert wait_until_other_threads_idle(h.contract.terminal_timeout_s), (
            "the job's threads never went idle"
        )
        h.service.cancel(job_id)
        h.wait_terminal(job_id)
        h.spin(QUIET_MS)
        story = h.log.story(job_id)
        terminal = h.log.terminal(job_id)
        assert [e.name for e in terminal] == ["job_finished"], story
        assert terminal[0].payload[0] is not None, f"job_finished carried no result; {story}"

    # Shadow mode shows the legacy job: in a child, like the case above.
    @pytest.mark.workerkit_isolated
    def test_contract_shadow_candidate_agrees_with_legacy(self, contract_harness: Harness) -> None:
        """In shadow mode the candidate's result of the same work matches legacy's.

        Fails on a candidate stack whose results differ from the legacy stack's.
        """
        h = contract_harness
        if not h.kind.shadowable:
            pytest.skip(f"{h.kind.name} cannot run in shadow mode (it writes, or has no compare=)")
        h.service.set_stack(h.kind.name, "shadow")
        job_id = h.start("quick")
        h.wait_terminal(job_id)
        record = h.wait_shadow_record(job_id)
        assert [e.name for e in h.log.terminal(job_id)] == ["job_finished"], h.log.story(job_id)
        assert record["match"], f"the candidate disagreed with legacy: {record['differences']}"


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


def _before_canceled(events: list[Event], index: int) -> bool:
    """Return True if the event after ``events[index]`` is the job's ``canceled``."""
    return index + 1 < len(events) and events[index + 1].name == "job_canceled"


def _objects(stack: QObject) -> int:
    return len(stack.findChildren(QObject))


def _now() -> float:
    return time.perf_counter()


def contract_of(cls: Any) -> Contract | None:
    """Return the contract a ContractSuite subclass declares, if it is one."""
    if isinstance(cls, type) and issubclass(cls, ContractSuite):
        return getattr(cls, "contract", None)
    return None
