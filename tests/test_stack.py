"""The public Stack interface: reports from any thread, payload shapes, ids, declarations."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from workerkit import App, JobService, LegacyWorker, WorkerError, WorkerKind
from workerkit._kind import DeclarationError
from workerkit._progress import WorkerProgress
from workerkit._stack import new_job_id
from workerkit.testing._recorder import EventLog

from .legacy.shapes import ResultWorker
from .scripted_stack import ScriptedStack


@dataclass(frozen=True)
class Step:
    """An app's own progress object, with field names of its own."""

    done: int
    of: int


def _pool(control: Any, value: object) -> object:
    return value


def _step_progress(step: Step) -> WorkerProgress:
    return WorkerProgress(100 * step.done // step.of, f"{step.done} of {step.of}", raw=step)


plain = WorkerKind(name="plain", legacy=LegacyWorker(ResultWorker), simplified=_pool)
stepped = WorkerKind(
    name="stepped",
    legacy=LegacyWorker(ResultWorker, progress="progress_updated", progress_of=_step_progress),
    simplified=_pool,
)


app = App("scripted", [plain, stepped], legacy_stack=ScriptedStack)


@pytest.fixture
def service(qtbot: QtBot) -> Iterator[JobService]:
    """Return a service whose legacy stack is the scripted one."""
    made = JobService(app, stacks={"plain": "legacy", "stepped": "legacy"})
    yield made
    made.shutdown(1000)


def test_stack_reports_from_a_worker_thread_arrive_on_the_gui_thread_in_order(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if a report made off the GUI thread is emitted there, or overtakes a later one."""
    log = EventLog(service)
    job_id = service.start("plain").id
    stack = service.stack("legacy")
    worker = threading.Thread(
        target=lambda: [stack.report_progress(job_id, n) for n in (10, 20, 30)]
    )
    worker.start()
    worker.join(10)
    stack.report_finished(job_id, "done")  # on the GUI thread, after the worker's reports
    qtbot.waitUntil(lambda: bool(log.terminal(job_id)), timeout=5000)
    events = log.of(job_id)
    assert [e.name for e in events] == ["job_started"] + ["job_progressed"] * 3 + ["job_finished"]
    assert [e.payload[0].percentage for e in events[1:4]] == [10, 20, 30]
    assert all(e.on_gui_thread for e in events)


@pytest.mark.parametrize("count_first", [False, True], ids=["end_then_count", "count_then_end"])
def test_service_sends_all_finished_after_the_end_of_jobs_forgotten_before_counting(
    qtbot: QtBot, service: JobService, count_first: bool
) -> None:
    """Fails if all_jobs_finished needs a count above zero, or comes before the job's end.

    LoRAIro's manager forgets a quick job in the worker's thread, which can happen before
    the count it sends from start() is read: the total then never leaves zero on the GUI
    thread, yet the manager itself would have sent all_workers_finished. A stack may also
    send its count before the job's end.
    """
    log = EventLog(service)
    stack = service.stack("legacy")
    assert isinstance(stack, ScriptedStack)

    def forgotten_in_a_worker_thread(job_id: str) -> None:
        stack.jobs.remove(job_id)
        if count_first:
            stack.report_count()
        stack.report_finished(job_id, "done")
        stack.report_count()  # a count at zero after the end is not a second end

    for ended in (1, 2):
        job_id = service.start("plain").id
        counts = len(log.counts) + 1 + count_first
        worker = threading.Thread(target=forgotten_in_a_worker_thread, args=(job_id,))
        worker.start()
        worker.join(10)
        qtbot.waitUntil(
            lambda n=counts, e=ended: len(log.counts) == n and log.all_finished >= e, timeout=5000
        )
        assert log.all_finished == ended
        assert log.all_finished_at[-1] >= log.terminal(job_id)[0].at
    assert set(log.counts) == {0}


def test_service_sends_all_finished_when_a_stack_counts_out_a_job_it_never_ends(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if a lost end keeps all_jobs_finished back for good.

    The app's own manager sends all_workers_finished when its dict empties, whatever
    became of the job's end: a flag rolled back to legacy must not lose that.
    """
    log = EventLog(service)
    stack = service.stack("legacy")
    assert isinstance(stack, ScriptedStack)
    job = service.start("plain")
    stack.jobs.remove(job.id)
    stack.report_count()
    qtbot.waitUntil(lambda: log.all_finished == 1, timeout=5000)
    assert not job.done and log.counts == [0]


class LateStartStack(ScriptedStack):
    """A stack whose manager says a job started only after the job has already ended."""

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Run the job to its end on a thread, then report its start from the GUI thread."""
        job_id = new_job_id(kind)
        worker = threading.Thread(
            target=lambda: (
                self.report_progress(job_id, 50),
                self.report_finished(job_id, "done"),
                self.report_count(),
            )
        )
        worker.start()
        worker.join(10)
        self.report_started(job_id)
        return job_id


def test_stack_report_started_goes_ahead_of_the_jobs_earlier_reports(qtbot: QtBot) -> None:
    """Fails if a start the manager reports late comes after the job's own end.

    The service would then end the handle inside start() and send job_started after
    job_finished; a UI would show the job running for good.
    """
    late = App("late", [plain], legacy_stack=LateStartStack)
    service = JobService(late, stacks={"plain": "legacy"})
    log = EventLog(service)
    job = service.start("plain")
    assert [e.name for e in log.of(job.id)] == ["job_started"]
    qtbot.waitUntil(lambda: job.done, timeout=5000)
    assert [e.name for e in log.of(job.id)] == ["job_started", "job_progressed", "job_finished"]
    assert job.result() == "done"
    service.shutdown(1000)


def test_stack_report_failed_wraps_a_message_and_keeps_an_exception(
    qtbot: QtBot, service: JobService
) -> None:
    """Fails if job_failed carries a string, or an exception is wrapped a second time."""
    log = EventLog(service)
    stack = service.stack("legacy")
    texts, raised = service.start("plain").id, service.start("plain").id
    stack.report_failed(texts, "disk full")
    error = KeyError("missing")
    stack.report_failed(raised, error)
    qtbot.waitUntil(lambda: bool(log.terminal(texts) and log.terminal(raised)), timeout=5000)
    wrapped = log.terminal(texts)[0].payload[0]
    assert isinstance(wrapped, WorkerError) and wrapped.reported == "disk full"
    assert log.terminal(raised)[0].payload[0] is error


def test_stack_report_progress_uses_the_kinds_converter(qtbot: QtBot, service: JobService) -> None:
    """Fails if an app's own progress object is not converted by its declared progress_of."""
    log = EventLog(service)
    job_id = service.start("stepped").id
    service.stack("legacy").report_progress(job_id, Step(3, 4))
    qtbot.waitUntil(lambda: any(e.name == "job_progressed" for e in log.of(job_id)), timeout=5000)
    progress = next(e.payload[0] for e in log.of(job_id) if e.name == "job_progressed")
    assert (progress.percentage, progress.status_message) == (75, "3 of 4")
    assert progress.raw == Step(3, 4)


def test_service_refuses_a_stack_job_id_without_the_kind_prefix(service: JobService) -> None:
    """Fails if a stack's id that App.of_job cannot route back is accepted silently."""
    with pytest.raises(RuntimeError, match=r"must start with the kind's prefix 'plain_'"):
        service.start("plain", "job-1")


def test_app_refuses_a_legacy_stack_that_is_not_callable() -> None:
    """Fails if a misspelt declaration (an instance, a string) is only found at the first job."""
    with pytest.raises(DeclarationError, match=r"legacy_stack must be a workerkit.Stack subclass"):
        App("broken", [plain], legacy_stack="ScriptedStack")  # type: ignore[arg-type]


def test_service_refuses_a_legacy_stack_factory_that_makes_no_stack(qtbot: QtBot) -> None:
    """Fails if a factory returning the bare manager is accepted and fails later, elsewhere."""
    wrong = App("wrong", [plain], legacy_stack=lambda app, parent: QObject(parent))
    service = JobService(wrong, stacks={"plain": "legacy"})
    with pytest.raises(TypeError, match=r"made QObject, not a workerkit.Stack; subclass"):
        service.start("plain")
