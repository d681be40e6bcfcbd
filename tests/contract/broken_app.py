"""A small app and deliberately broken stacks, each breaking one guarantee.

``tests/contract/test_broken_stacks.py`` runs the contract plugin on every one of them
(in a child pytest) and checks that each is caught by at least one case.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from unittest import mock

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from workerkit.simplified import _stack as simplified_stack
from workerkit.simplified._signals import CANCELED, FAILED, FINISHED, PROGRESS
from workerkit.simplified._stack import SimplifiedStack, _InFlight

from workerkit._app import App
from workerkit._control import JobControl
from workerkit._kind import LegacyWorker, WorkerKind
from workerkit._progress import WorkerProgress
from workerkit._stack import Stack
from workerkit.testing import Contract, ContractSuite, call

# The long job: this many blocking steps of STEP_S each, a cancel check between steps.
LONG_STEPS = 20
STEP_S = 0.1
CLEANUP_S = 0.2
# A quick save computes this long: the jobs started after it in one event-loop turn queue.
QUICK_SAVE_CPU_S = 0.05


class TickWorker(QObject):
    """The legacy side of both kinds: reports its steps at once, without blocking or computing.

    Only the cases that mix stacks or run shadow mode start it, with quick samples.
    """

    finished = Signal(object)
    error_occurred = Signal(str)

    def __init__(self, steps: int, cpu_s: float = 0.0) -> None:
        super().__init__()
        self.steps = steps

    @Slot()
    def run(self) -> None:
        """Report the steps."""
        self.finished.emit(self.steps)

    def cancel(self) -> None:
        """Do nothing."""


def tick(control: JobControl, steps: int) -> int:
    """Send two small images as partials, then block ``steps`` times, checking for a cancel.

    A canceled job tidies up for CLEANUP_S before it ends, so a cancel that waits for
    the job always waits that long. A negative ``steps`` raises ValueError.
    """
    if steps < 0:
        raise ValueError(f"a tick job takes a number of steps >= 0, not {steps}")
    for shade in (64, 192):
        image = QImage(8, 8, QImage.Format.Format_RGB32)
        image.fill(shade)
        control.partial(image)
    return _block(control, steps)


def save(control: JobControl, steps: int, cpu_s: float = 0.0) -> int:
    """Compute for ``cpu_s``, then store one record per blocking step, checking for a cancel.

    The computing never sleeps: a job with no steps keeps its thread running until its
    work is done, which the case about a late cancel of a completed write waits for.
    """
    deadline = time.perf_counter() + cpu_s
    while time.perf_counter() < deadline:
        pass
    return _block(control, steps)


def _block(control: JobControl, steps: int) -> int:
    blocker = threading.Event()
    for step in range(steps):
        if control.is_canceled:
            blocker.wait(CLEANUP_S)
            control.check()
        blocker.wait(STEP_S)  # a blocking call a cancel cannot cut short
        control.progress(100 * (step + 1) // steps, f"step {step + 1}")
    return steps


def to_pixmap(image: QImage) -> QPixmap:
    """Make the partial's QPixmap on the GUI thread."""
    return QPixmap.fromImage(image)


def compare_steps(legacy: int, candidate: int) -> list[str]:
    """Return how the candidate's step count differs from legacy's (empty when equal)."""
    return [] if legacy == candidate else [f"steps: legacy {legacy!r}, candidate {candidate!r}"]


tick_kind = WorkerKind(
    name="tick",
    legacy=LegacyWorker(TickWorker),
    simplified=tick,
    latest_wins=True,
    on_partial=to_pixmap,
    compare=compare_steps,
)
app = App("broken stacks", [tick_kind])
# A writing kind, for the cases about writes (a writing kind cannot be latest-wins or
# shadowed). Its own app: it runs only on the stacks that break what it shows.
save_kind = WorkerKind(name="save", legacy=LegacyWorker(TickWorker), simplified=save, writes=True)
writes_app = App("broken writes", [save_kind])


class SecondTerminal(SimplifiedStack):
    """Break: a job sends a second terminal event."""

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        entry = self._jobs.get(job_id)
        super()._settle(job_id, outcome, payload)
        if entry is not None:
            self.job_finished.emit(entry.kind.name, job_id, payload)


class ProgressAfterEnd(SimplifiedStack):
    """Break: a job reports progress after its terminal event."""

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        entry = self._jobs.get(job_id)
        super()._settle(job_id, outcome, payload)
        if entry is not None:
            self.job_progressed.emit(entry.kind.name, job_id, WorkerProgress(0, "late"))


class NoInterrupt(SimplifiedStack):
    """Break: a cancel reaches a running job only once its work has run its course.

    A job still waiting for a thread is canceled as usual.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._late: set[str] = set()

    def cancel(self, job_id: str) -> bool:
        """Take a waiting job back at once; tell a running one only when it ends."""
        entry = self._jobs.get(job_id)
        if entry is None:
            return False
        if self._queue.take_back(entry):
            entry.token.cancel()
            self._settle(job_id, CANCELED, None)
        else:
            self._late.add(job_id)
        return True

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        entry = self._jobs.get(job_id)
        if entry is not None and job_id in self._late:
            # Too late to stop anything: the job is still reported canceled.
            self._late.discard(job_id)
            entry.token.cancel()
        super()._settle(job_id, outcome, payload)


class OffGuiThread(SimplifiedStack):
    """Break: progress reaches the service's signals on the pool thread.

    Emitting the backend's own signals there would be queued by Qt (the service lives on
    the GUI thread); this stack calls the service's signals directly, as a stack that
    hands events to the GUI through plain callbacks would.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        queued = self._signals.post

        def post(job_id: str, event: int, payload: object = None, *, quiet: bool = False) -> None:
            if event == PROGRESS:
                self._direct(job_id, payload)
            else:
                queued(job_id, event, payload, quiet=quiet)

        self._signals.post = post  # type: ignore[method-assign]

    def _direct(self, job_id: str, progress: object) -> None:
        entry = self._jobs.get(job_id)
        service = self.parent()
        if entry is not None and service is not None:
            service.job_progressed.emit(entry.kind.name, job_id, progress)  # type: ignore[attr-defined]


class PixmapOffGui(SimplifiedStack):
    """Break: partials are turned into QPixmaps on the pool thread."""

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Start the job with the GUI-thread hook moved into the work."""
        if kind.on_partial is None:
            return super().start(kind, args, kwargs)
        assert kind.simplified is not None
        work, hook = kind.simplified, kind.on_partial
        moved = replace(kind, simplified=_converting(work, hook), on_partial=None)
        return super().start(moved, args, kwargs)


def _converting(work: Callable[..., Any], hook: Callable[[Any], Any]) -> Callable[..., Any]:
    def run(control: JobControl, *args: Any) -> Any:
        return work(_Converting(control, hook), *args)

    return run


class _Converting:
    """Stand in for a job's control and convert each partial before it is sent."""

    def __init__(self, control: JobControl, hook: Callable[[Any], Any]) -> None:
        self._control = control
        self._hook = hook

    def partial(self, payload: object) -> None:
        """Convert the partial here, on the pool thread, then send it."""
        self._control.partial(self._hook(payload))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._control, name)


class LeftActive(SimplifiedStack):
    """Break: a job still counts as active after it ended."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ended: list[str] = []

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        if job_id in self._jobs:
            self._ended.append(job_id)
        super()._settle(job_id, outcome, payload)

    def active_job_ids(self) -> list[str]:
        """Count ended jobs too."""
        return [*super().active_job_ids(), *self._ended]

    def is_active(self, job_id: str) -> bool:
        """Say ended jobs are active."""
        return job_id in self.active_job_ids()

    def active_count(self) -> int:
        """Count ended jobs too."""
        return len(self.active_job_ids())


class BlockingCancel(SimplifiedStack):
    """Break: cancel() waits on the GUI thread until the pool is idle."""

    def cancel(self, job_id: str) -> bool:
        """Cancel, then wait for the job."""
        accepted = super().cancel(job_id)
        self.pool.waitForDone(10_000)
        return accepted


class SupersededDelivered(SimplifiedStack):
    """Break: a new job of a latest-wins kind does not supersede the running one."""

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Start the job as if its kind were not latest-wins."""
        return super().start(replace(kind, latest_wins=False), args, kwargs)


class FailureAsResult(SimplifiedStack):
    """Break: a job whose work raised ends ``finished``, with the exception as its result."""

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        super()._settle(job_id, FINISHED if outcome == FAILED else outcome, payload)


class FailureAsMessage(SimplifiedStack):
    """Break: a job whose work raised ends ``failed`` with the error's message, a string."""

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        super()._settle(job_id, outcome, str(payload) if outcome == FAILED else payload)


class SupersedesOnce(SimplifiedStack):
    """Break: a job that superseded another is not recorded as its kind's current job.

    So the next job of the kind supersedes nothing, and the one before it delivers.
    """

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Start the job; forget it as the current one if it superseded a job."""
        superseding = kind.latest_wins and kind.name in self._current
        job_id = super().start(kind, args, kwargs)
        if superseding:
            del self._current[kind.name]
        return job_id


class CanceledPartials(SimplifiedStack):
    """Break: partials of a canceled job still queued for the GUI thread are delivered."""

    def _deliver_partial(self, entry: _InFlight, job_id: str, payload: object) -> None:
        kind = entry.kind
        converted = kind.on_partial(payload) if kind.on_partial else payload
        self.partial_delivered.emit(kind.name, job_id, converted)


class ShutdownSaysTrue(SimplifiedStack):
    """Break: shutdown() returns True even when jobs are still running."""

    def shutdown(self, timeout_ms: int) -> bool:
        """Shut down, and say every job ended."""
        super().shutdown(timeout_ms)
        return True


class WaitSkipsQueued(SimplifiedStack):
    """Break: wait_for_all() does not first start the jobs queued in this event-loop turn.

    They wait for the kick the event loop would run, so the pool looks idle too early.
    """

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Wait for the pool as it is, then deliver the queued events."""
        done = self.pool.waitForDone(timeout_ms)
        self._signals.drain()
        return done


class UncountedJobs(SimplifiedStack):
    """Break: the stack's active count leaves out its own jobs."""

    def active_count(self) -> int:
        """Count none of the jobs in flight."""
        return 0


class CancelBeatsWrite(SimplifiedStack):
    """Break: a cancel wins even over a write that completed before it."""

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        entry = self._jobs.get(job_id)
        if entry is not None and entry.token.is_canceled and outcome == FINISHED:
            outcome, payload = CANCELED, None
        super()._settle(job_id, outcome, payload)


class ChangedResult(SimplifiedStack):
    """Break: a finished job's result is not what its work returned."""

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        super()._settle(job_id, outcome, ("changed", payload) if outcome == FINISHED else payload)


class ClockIds(SimplifiedStack):
    """Break: job ids are made from the clock's seconds, like LoRAIro's 2025 manager's."""

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Start the job under an id made from the current second."""
        clock_id = lambda kind: f"{kind.prefix}_{int(time.time())}"  # noqa: E731
        with mock.patch.object(simplified_stack, "new_job_id", clock_id):
            return super().start(kind, args, kwargs)


BROKEN: dict[str, type[Stack]] = {
    "second_terminal": SecondTerminal,
    "progress_after_end": ProgressAfterEnd,
    "no_interrupt": NoInterrupt,
    "off_gui_thread": OffGuiThread,
    "pixmap_off_gui": PixmapOffGui,
    "left_active": LeftActive,
    "blocking_cancel": BlockingCancel,
    "superseded_delivered": SupersededDelivered,
    "failure_as_result": FailureAsResult,
    "failure_as_message": FailureAsMessage,
    "supersedes_once": SupersedesOnce,
    "canceled_partials": CanceledPartials,
    "shutdown_says_true": ShutdownSaysTrue,
    "wait_skips_queued": WaitSkipsQueued,
    "uncounted_jobs": UncountedJobs,
    "cancel_beats_write": CancelBeatsWrite,
    "changed_result": ChangedResult,
    "clock_ids": ClockIds,
}

# The broken stacks the writing kind runs on: every case, on every broken stack, for
# both kinds would take twice as long.
WRITES_BROKEN = ("cancel_beats_write", "wait_skips_queued")

CONTRACT = Contract(
    app,
    quick={"tick": call(1)},
    long={"tick": call(LONG_STEPS)},
    failing={"tick": call(-1)},
    stacks=("simplified",),
    extra_stacks=BROKEN,
    long_step_s=LONG_STEPS * STEP_S,
    terminal_timeout_s=15.0,
    shutdown_timeout_ms=1000,
)

WRITES_CONTRACT = Contract(
    writes_app,
    quick={"save": call(0, cpu_s=QUICK_SAVE_CPU_S)},
    long={"save": call(LONG_STEPS)},
    stacks=("simplified",),
    extra_stacks={label: BROKEN[label] for label in WRITES_BROKEN},
    long_step_s=LONG_STEPS * STEP_S,
    terminal_timeout_s=15.0,
    shutdown_timeout_ms=1000,
)


class TestBrokenStacks(ContractSuite):
    """Every contract case on the simplified stack and on each broken stack."""

    contract = CONTRACT


class TestBrokenWrites(ContractSuite):
    """Every contract case for the writing kind, on the simplified stack and a few broken ones."""

    contract = WRITES_CONTRACT
