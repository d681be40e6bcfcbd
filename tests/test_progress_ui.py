"""progress_ui on both stacks: real jobs drive a QProgressDialog and a QProgressBar."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressBar, QProgressDialog, QPushButton

from workerkit import STACKS
from workerkit._progress import WorkerProgress
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.kinds import app as image_library
from workerkit.imagelib.sample import SampleManifest, make_sample_library
from workerkit.imagelib.service import WorkerService
from workerkit.progress_ui import (
    ProgressBinding,
    bind_progress_bar,
    bind_progress_dialog,
    progress_label,
)

from .conftest import EventLog, qthreads_alive

LONG = 30_000


@pytest.fixture(scope="module")
def small_library(tmp_path_factory: pytest.TempPathFactory) -> SampleManifest:
    """Return a 40-file sample library (39 decodable, 1 duplicate, 1 corrupt)."""
    return make_sample_library(tmp_path_factory.mktemp("progress") / "library", count=40)


def ended(log: EventLog, job_id: str) -> list[str]:
    """Return how the service said ``job_id`` ended: finished, failed or canceled, each time."""
    return [outcome for outcome, _payload in log.outcomes(job_id)]


def results(dialog: QProgressDialog) -> list[int]:
    """Return the list the dialog's finished() results (1 accepted, 0 rejected) go to."""
    codes: list[int] = []
    dialog.finished.connect(codes.append)
    return codes


def record(binding: ProgressBinding) -> tuple[list[int], list[str]]:
    """Return the lists the binding's updated values and ended outcomes are appended to."""
    values: list[int] = []
    outcomes: list[str] = []
    binding.updated.connect(lambda value, _label: values.append(value))
    binding.ended.connect(lambda outcome, _message: outcomes.append(outcome))
    return values, outcomes


def make_dialog(qtbot) -> QProgressDialog:
    """Return a shown, non-modal progress dialog that pops up at once."""
    dialog = QProgressDialog("waiting", "Cancel", 0, 100)
    dialog.setWindowModality(Qt.WindowModality.NonModal)
    dialog.setMinimumDuration(0)
    qtbot.addWidget(dialog)
    return dialog


def make_bar(qtbot) -> QProgressBar:
    """Return a progress bar owned by qtbot."""
    bar = QProgressBar()
    qtbot.addWidget(bar)
    return bar


def start_job(service: WorkerService, store: ImageStore, kind: str, root: Path) -> str:
    """Start a registration of ``root`` or an annotation of five registered images."""
    if kind == "registration":
        return service.start_batch_registration(root)
    ids = [record.id for record in store.search(SearchConditions(limit=5))]
    return service.start_annotation(ids, ["local"])


@pytest.mark.parametrize("kind", ["registration", "annotation"])
@pytest.mark.parametrize("stack", STACKS)
def test_progress_ui_dialog_and_bar_reach_100_and_close_once(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    small_library: SampleManifest,
    stack: str,
    kind: str,
) -> None:
    service = make_service(registered_store, stack)
    dialog, bar = make_dialog(qtbot), make_bar(qtbot)
    log, dialog_results = EventLog(service), results(dialog)
    job_id = start_job(service, registered_store, kind, small_library.root)
    on_dialog = bind_progress_dialog(service, job_id, dialog)
    on_bar = bind_progress_bar(service, job_id, bar)
    dialog_values, dialog_outcomes = record(on_dialog)
    _, bar_outcomes = record(on_bar)
    qtbot.waitUntil(lambda: ended(log, job_id) == ["finished"], timeout=LONG)

    assert on_dialog.percentage == on_bar.percentage == 100
    assert dialog_values == sorted(dialog_values) and dialog_values[-1] >= 95
    assert bar.value() == 100 and bar.text() == f"{kind} finished"
    assert dialog_outcomes == bar_outcomes == ["finished"]
    assert dialog_results == [1]  # accepted, exactly once
    assert not dialog.isVisible()
    assert not on_dialog.is_active and not on_bar.is_active


@pytest.mark.parametrize("stack", STACKS)
def test_progress_ui_dialog_cancel_cancels_the_job(
    qtbot,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    small_library: SampleManifest,
    stack: str,
) -> None:
    service = make_service(store, stack)
    dialog = make_dialog(qtbot)
    log, dialog_results = EventLog(service), results(dialog)
    job_id = service.start_batch_registration(small_library.root)
    binding = bind_progress_dialog(service, job_id, dialog)
    _, outcomes = record(binding)
    qtbot.waitUntil(dialog.isVisible, timeout=LONG)
    button = dialog.findChild(QPushButton)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: outcomes == ["canceled"], timeout=LONG)

    assert ended(log, job_id)[:1] == ["canceled"]
    if stack == "legacy":
        # D2: the manager reports the cancel, then the worker's RuntimeError arrives as an error.
        qtbot.waitUntil(lambda: len(ended(log, job_id)) == 2, timeout=LONG)
        failed = ("failed", "worker error: operation was canceled")
        assert log.outcomes(job_id) == [("canceled", None), failed]
    else:
        assert service.wait_for_all_workers(LONG)
        assert log.outcomes(job_id) == [("canceled", None)]
    assert dialog_results == [0]  # rejected, exactly once, even after the legacy error
    assert not dialog.isVisible()
    assert store.count_images() < small_library.images - small_library.duplicates


@pytest.mark.parametrize("stack", STACKS)
def test_progress_ui_cancel_after_completion_is_harmless(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    small_library: SampleManifest,
    stack: str,
) -> None:
    service = make_service(registered_store, stack)
    dialog = make_dialog(qtbot)
    log, dialog_results = EventLog(service), results(dialog)
    job_id = start_job(service, registered_store, "annotation", small_library.root)
    binding = bind_progress_dialog(service, job_id, dialog)
    qtbot.waitUntil(lambda: binding.outcome == "finished", timeout=LONG)

    dialog.show()
    dialog.close()  # QProgressDialog emits canceled() from its close event
    dialog.canceled.emit()
    assert binding.cancel() is False
    assert service.cancel_annotation(job_id) is False
    assert ended(log, job_id) == ["finished"]
    assert dialog_results == [1]


@pytest.mark.parametrize("stack", STACKS)
def test_progress_ui_release_twice_stops_following_the_job(
    qtbot,
    make_service: Callable[..., WorkerService],
    registered_store: ImageStore,
    small_library: SampleManifest,
    stack: str,
) -> None:
    service = make_service(registered_store, stack)
    bar = make_bar(qtbot)
    log = EventLog(service)
    job_id = start_job(service, registered_store, "registration", small_library.root)
    binding = bind_progress_bar(service, job_id, bar)
    values, outcomes = record(binding)
    binding.release()
    binding.release()
    qtbot.waitUntil(lambda: ended(log, job_id) == ["finished"], timeout=LONG)
    qtbot.waitUntil(lambda: qthreads_alive() == 0, timeout=LONG)

    assert not binding.is_active
    assert values == [] and outcomes == [] and binding.outcome is None
    assert bar.value() == 0
    assert bar.text() == "registration started  0%"
    assert binding.cancel() is False


class StubService(QObject):
    """Carry the four JobService signals a binding listens to, so event orders can be replayed."""

    job_progressed = Signal(str, str, object)
    job_finished = Signal(str, str, object)
    job_failed = Signal(str, str, str)
    job_canceled = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.app = image_library
        self.cancels: list[str] = []

    def cancel(self, job_id: str) -> bool:
        """Record the cancel and report the job canceled at once, as legacy does."""
        self.cancels.append(job_id)
        self.job_canceled.emit("registration", job_id)
        return True


def test_progress_ui_binding_a_job_id_of_no_kind_raises(qtbot) -> None:
    with pytest.raises(ValueError, match="does not start with a known kind prefix"):
        bind_progress_bar(StubService(), "report_1", make_bar(qtbot))  # type: ignore[arg-type]


def test_progress_ui_dialog_closes_once_when_canceled_then_failed(qtbot) -> None:
    service = StubService()
    dialog = make_dialog(qtbot)
    closes: list[int] = []
    dialog.finished.connect(closes.append)
    binding = bind_progress_dialog(service, "batch_reg_1", dialog)  # type: ignore[arg-type]
    service.job_progressed.emit("registration", "batch_reg_1", WorkerProgress(40, "registering"))
    dialog.canceled.emit()
    service.job_failed.emit("registration", "batch_reg_1", "worker error: operation was canceled")
    service.job_finished.emit("registration", "batch_reg_1", None)
    dialog.canceled.emit()

    assert service.cancels == ["batch_reg_1"]
    assert closes == [0]
    assert binding.outcome == "canceled" and binding.percentage == 40


def test_progress_ui_programmatic_close_of_another_job_is_ignored(qtbot) -> None:
    service = StubService()
    dialog = make_dialog(qtbot)
    binding = bind_progress_dialog(service, "batch_reg_1", dialog)  # type: ignore[arg-type]
    service.job_progressed.emit("registration", "batch_reg_2", WorkerProgress(70, "other job"))
    service.job_finished.emit("registration", "batch_reg_2", None)

    assert binding.is_active and binding.percentage == 0
    assert dialog.labelText() == "registration started"


def test_progress_ui_release_after_the_widget_is_deleted_is_harmless(qtbot) -> None:
    service = StubService()
    bar = QProgressBar()
    binding = bind_progress_bar(service, "batch_reg_1", bar)  # type: ignore[arg-type]
    shiboken6.delete(bar)  # deletes the binding, its child, with it
    service.job_progressed.emit("registration", "batch_reg_1", WorkerProgress(10, "registering"))
    binding.release()
    binding.release()
    assert not binding.is_active


def test_progress_ui_bar_keeps_percent_signs_in_names_literal(qtbot) -> None:
    service = StubService()
    bar = make_bar(qtbot)
    bind_progress_bar(service, "batch_reg_1", bar)  # type: ignore[arg-type]
    progress = WorkerProgress(50, "registered", "50%pale.jpg", 3, 6)
    service.job_progressed.emit("registration", "batch_reg_1", progress)

    assert bar.text().replace("\u200b", "") == "registered: 50%pale.jpg (3/6)  50%"
    assert bar.toolTip() == "registered: 50%pale.jpg (3/6)"


def test_progress_label_joins_message_item_and_count() -> None:
    assert progress_label(WorkerProgress(10, "found 40 images")) == "found 40 images"
    assert progress_label(WorkerProgress(50, "registered a.jpg", "a.jpg", 2, 4)) == (
        "registered a.jpg (2/4)"
    )
    assert progress_label(WorkerProgress(50, "loading", "b.png")) == "loading: b.png"
    assert progress_label(WorkerProgress(50, "", "b.png")) == "b.png"
