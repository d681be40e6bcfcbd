"""LegacyWorker declarations: each mistake is refused at once, with the fix in the message."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QObject, QThread, Signal, Slot

from workerkit import LegacyWorker, WorkerKind
from workerkit._kind import INTERRUPT, DeclarationError


class Worker(QObject):
    """A worker with signals of every arity a role might be given."""

    finished = Signal(object)
    error_occurred = Signal(str)
    progress_updated = Signal(int)
    step = Signal(int)
    batch = Signal(int, int, str)
    done = Signal()

    @Slot()
    def run(self) -> None:
        """Send nothing."""

    def cancel(self) -> None:
        """Do nothing."""

    not_a_method = 3


class Thread(QThread):
    """A QThread subclass with a result signal."""

    result_ready = Signal(object)


def _declare(legacy: LegacyWorker) -> WorkerKind:
    return WorkerKind(name="job", legacy=legacy, simplified=lambda control: None)


def test_legacy_worker_unknown_keyword_names_the_known_ones() -> None:
    """Fails if a misspelt keyword is a bare TypeError (or is ignored)."""
    with pytest.raises(DeclarationError) as raised:
        LegacyWorker(Worker, canceld="canceled")  # type: ignore[call-arg]
    message = str(raised.value)
    assert message.startswith("LegacyWorker(Worker) got unknown keyword 'canceld'; ")
    assert "canceled" in message and "error_of_result" in message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"batch_progress": "step"}, r"Worker.step carries 1 value\(s\), but the batch_progress "),
        ({"progress": "done"}, r"Worker.done carries 0 value\(s\), but the progress signal must"),
        ({"partial": "done"}, r"Worker.done carries 0 value\(s\), but the partial signal must"),
        ({"finished": "batch"}, r"Worker.batch carries 3 value\(s\), but the finished signal"),
    ],
)
def test_legacy_worker_signal_that_cannot_carry_its_role_is_refused(
    options: dict[str, Any], expected: str
) -> None:
    """Fails if a signal of the wrong shape is accepted (the job would fail at run time)."""
    with pytest.raises(DeclarationError, match=expected):
        _declare(LegacyWorker(Worker, **options))


def test_legacy_worker_run_that_is_not_a_method_is_refused() -> None:
    """Fails if run= names an attribute that cannot be called (a job that never starts)."""
    with pytest.raises(DeclarationError, match=r"Worker has no method 'not_a_method' \(the run"):
        _declare(LegacyWorker(Worker, run="not_a_method"))


def test_legacy_worker_run_on_a_qthread_subclass_is_refused() -> None:
    """Fails if run= is accepted for a QThread subclass, whose run() override is what runs."""
    with pytest.raises(DeclarationError, match=r"runs its run\(\) override; run='work'"):
        _declare(LegacyWorker(Thread, finished="result_ready", error=None, run="work"))


def test_legacy_worker_accepts_the_real_shapes() -> None:
    """Fails if a shape real workers have is refused."""
    shapes = [
        LegacyWorker(Worker, canceled="done", progress="progress_updated", batch_progress="batch"),
        LegacyWorker(Worker, finished="done", result="finished", cancel=INTERRUPT),
        LegacyWorker(Worker, error=None, error_of_result=lambda r: None),
        LegacyWorker(Thread, finished="result_ready", error=None, cancel=INTERRUPT),
        LegacyWorker(Thread, finished="finished", result="result_ready", error=None, cancel=None),
    ]
    for shape in shapes:
        assert _declare(shape).legacy == shape
