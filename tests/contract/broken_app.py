"""A small app and eight deliberately broken stacks, each breaking one guarantee.

``tests/contract/test_broken_stacks.py`` runs the contract plugin on every one of them
(in a child pytest) and checks that each is caught by at least one case.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from workerkit.simplified.backend import SimplifiedBackend
from workerkit.simplified.job import JobControl
from workerkit.simplified.signals import PROGRESS

from workerkit.app import App
from workerkit.backend import Backend
from workerkit.kind import LegacyWorker, WorkerKind
from workerkit.progress import WorkerProgress
from workerkit.testing import Contract, ContractSuite, call

# The long job: this many blocking steps of STEP_S each, a cancel check between steps.
LONG_STEPS = 15
STEP_S = 0.2
CLEANUP_S = 0.3


class TickWorker(QObject):
    """The legacy side of the kind (not run here: only simplified and broken stacks are)."""

    finished = Signal(object)
    error_occurred = Signal(str)

    def __init__(self, steps: int) -> None:
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
    the job always waits that long.
    """
    for shade in (64, 192):
        image = QImage(8, 8, QImage.Format.Format_RGB32)
        image.fill(shade)
        control.partial(image)
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


tick_kind = WorkerKind(
    name="tick",
    legacy=LegacyWorker(TickWorker),
    simplified=tick,
    latest_wins=True,
    on_partial=to_pixmap,
)
app = App("broken stacks", [tick_kind])


class SecondTerminal(SimplifiedBackend):
    """Break: a job sends a second terminal event."""

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        entry = self._jobs.get(job_id)
        super()._settle(job_id, outcome, payload)
        if entry is not None:
            self.job_finished.emit(entry.kind.name, job_id, payload)


class ProgressAfterEnd(SimplifiedBackend):
    """Break: a job reports progress after its terminal event."""

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        entry = self._jobs.get(job_id)
        super()._settle(job_id, outcome, payload)
        if entry is not None:
            self.job_progressed.emit(entry.kind.name, job_id, WorkerProgress(0, "late"))


class NoInterrupt(SimplifiedBackend):
    """Break: a cancel is only noticed once the work has run its course."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._late: set[str] = set()

    def cancel(self, job_id: str) -> bool:
        """Accept the cancel, but tell the job only when it ends."""
        entry = self._jobs.get(job_id)
        if entry is None:
            return False
        if not entry.started:
            return super().cancel(job_id)
        entry.control.token = _LateToken(entry.token)  # type: ignore[assignment]
        self._late.add(job_id)
        return True

    def _settle(self, job_id: str, outcome: int, payload: object) -> None:
        entry = self._jobs.get(job_id)
        if entry is not None and job_id in self._late:
            entry.token.cancel()
        super()._settle(job_id, outcome, payload)


class _LateToken:
    """Stand in for a job's token and never say it was canceled."""

    def __init__(self, token: Any) -> None:
        self._token = token
        self.is_canceled = False

    def raise_if_canceled(self) -> None:
        """Never raise."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._token, name)


class OffGuiThread(SimplifiedBackend):
    """Break: progress reaches the service's signals on the pool thread.

    Emitting the backend's own signals there would be queued by Qt (the service lives on
    the GUI thread); this stack calls the service's signals directly, as a stack that
    hands events to the GUI through plain callbacks would.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        queued = self._signals.post

        def post(job_id: str, event: int, payload: object = None) -> None:
            if event == PROGRESS:
                self._direct(job_id, payload)
            else:
                queued(job_id, event, payload)

        self._signals.post = post  # type: ignore[method-assign]

    def _direct(self, job_id: str, progress: object) -> None:
        entry = self._jobs.get(job_id)
        service = self.parent()
        if entry is not None and service is not None:
            service.job_progressed.emit(entry.kind.name, job_id, progress)  # type: ignore[attr-defined]


class PixmapOffGui(SimplifiedBackend):
    """Break: partials are turned into QPixmaps on the pool thread."""

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Start the job with the GUI-thread hook moved into the work."""
        assert kind.simplified is not None and kind.on_partial is not None
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


class LeftActive(SimplifiedBackend):
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


class BlockingCancel(SimplifiedBackend):
    """Break: cancel() waits on the GUI thread until the pool is idle."""

    def cancel(self, job_id: str) -> bool:
        """Cancel, then wait for the job."""
        accepted = super().cancel(job_id)
        self.pool.waitForDone(10_000)
        return accepted


class SupersededDelivered(SimplifiedBackend):
    """Break: a new job of a latest-wins kind does not supersede the running one."""

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Start the job as if its kind were not latest-wins."""
        return super().start(replace(kind, latest_wins=False), args, kwargs)


BROKEN: dict[str, type[Backend]] = {
    "second_terminal": SecondTerminal,
    "progress_after_end": ProgressAfterEnd,
    "no_interrupt": NoInterrupt,
    "off_gui_thread": OffGuiThread,
    "pixmap_off_gui": PixmapOffGui,
    "left_active": LeftActive,
    "blocking_cancel": BlockingCancel,
    "superseded_delivered": SupersededDelivered,
}

CONTRACT = Contract(
    app,
    quick={"tick": call(1)},
    long={"tick": call(LONG_STEPS)},
    stacks=("simplified",),
    backends=BROKEN,
    long_step_s=LONG_STEPS * STEP_S,
    terminal_timeout_s=15.0,
    shutdown_timeout_ms=2000,
)


class TestBrokenStacks(ContractSuite):
    """Every contract case on the simplified stack and on each broken stack."""

    contract = CONTRACT
