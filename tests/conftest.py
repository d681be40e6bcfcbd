"""Shared fixtures and helpers of the whole suite.

A generated sample library and a registered database, the fake vision API, the stack
parameters, the event recorder of a WorkerService and the factory of services a test
builds (shut down, their threads gone, at teardown).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from PySide6.QtCore import QThread

from tests.keepalive import legacy_workers_kept
from workerkit import STACKS
from workerkit._job import wait_until
from workerkit.imagelib.domain.fakeapi import FakeVisionServer
from workerkit.imagelib.domain.imaging import ImageError
from workerkit.imagelib.domain.intake import prepare_image
from workerkit.imagelib.domain.scanner import scan_images
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.kinds import app
from workerkit.imagelib.legacy_workers.manager import WorkerManager
from workerkit.imagelib.sample import SampleManifest, make_sample_library
from workerkit.imagelib.service import WorkerService
from workerkit.testing._isolation import ChildDidNotEnd, end_child_after_case, in_child
from workerkit.testing._threads import qthreads_alive

SAMPLE_COUNT = 200
HERE = Path(__file__).parent
LONG_MS = 60_000

KINDS = ("registration", "search", "thumbnail", "annotation")
SIGNAL_WORDS = {
    "registration": "batch_registration",
    "search": "search",
    "thumbnail": "thumbnail",
    "annotation": "annotation",
}
TERMINAL_SIGNALS = frozenset({"job_finished", "job_failed", "job_canceled"})
BOOKKEEPING_SIGNALS = frozenset({"active_worker_count_changed", "all_workers_finished"})
_JOB_ID_FIRST = frozenset(
    {f"{word}_{event}" for word in SIGNAL_WORDS.values() for event in ("started", "canceled")}
    | TERMINAL_SIGNALS
    | {"worker_progress_updated", "worker_batch_progress", "thumbnails_loaded"}
)
SERVICE_SIGNALS = tuple(
    [
        f"{word}_{event}"
        for word in SIGNAL_WORDS.values()
        for event in ("started", "finished", "error", "canceled")
    ]
    + sorted(TERMINAL_SIGNALS | BOOKKEEPING_SIGNALS)
    + ["worker_progress_updated", "worker_batch_progress", "thumbnails_loaded"]
)
# A job's terminal signal, as the outcome EventLog.outcomes() names it.
_OUTCOMES = {"job_finished": "finished", "job_failed": "failed", "job_canceled": "canceled"}


# --- the stacks a test runs on -----------------------------------------------------------


class Defect(NamedTuple):
    """A legacy defect (D1-D11 in the spec) that makes a test fail on the legacy stack."""

    code: str
    reason: str
    # Further defects the same failure shows, each also marked legacy_defect.
    also: tuple[str, ...] = ()


def _param(values: tuple[str, ...], defect: Defect | None, slow: bool = False) -> Any:
    marks = [pytest.mark.slow] if slow else []
    if defect is not None:
        codes = (defect.code, *defect.also)
        marks.append(pytest.mark.xfail(strict=True, reason=f"{'+'.join(codes)}: {defect.reason}"))
        marks.extend(pytest.mark.legacy_defect(code) for code in codes)
    return pytest.param(*values, marks=marks, id="-".join(values))


def stack_params(legacy: Defect | None = None, *, slow: bool = False) -> list[Any]:
    """Return every stack as a parameter; legacy is a strict xfail when ``legacy`` is given.

    ``slow`` marks the legacy parameter slow (a defect that makes it wait for timeouts).
    """
    return [_param((stack,), legacy if stack == "legacy" else None, slow and stack == "legacy")
            for stack in STACKS]  # fmt: skip


def kind_stack_params(legacy: Mapping[str, Defect] | None = None) -> list[Any]:
    """Return every (kind, stack) pair; the legacy ones named in ``legacy`` are strict xfails."""
    defects = legacy or {}
    return [
        _param((kind, stack), defects.get(kind) if stack == "legacy" else None)
        for kind in KINDS
        for stack in STACKS
    ]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run every test of the image library's legacy stack in a child pytest (isolation).

    LoRAIro's 2025 manager can deadlock (D11), crash, or terminate() a thread inside
    SQLite and leave its lock held (D4): in this process any of them would end or hang
    the whole run. A hang or a crash in the child is an expected failure of such a test.
    """
    for item in items:
        marked = item.get_closest_marker("workerkit_isolated") is not None
        if item.path.is_relative_to(HERE) and not marked and _runs_legacy(item):
            item.add_marker(pytest.mark.workerkit_isolated)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Report a legacy test that hung or crashed in its child as legacy's known defect."""
    report = yield
    hung = call.excinfo is not None and call.excinfo.errisinstance(ChildDidNotEnd)
    if hung and report.failed and item.path.is_relative_to(HERE):
        report.outcome = "skipped"
        report.wasxfail = f"D11/D4, the legacy stack: {str(call.excinfo.value)[:200]}"
    return report


def _runs_legacy(item: pytest.Item) -> bool:
    if item.get_closest_marker("workerkit_isolated") is not None:
        return True
    params = getattr(item, "callspec", None)
    values = params.params.values() if params is not None else ()
    return any(v == "legacy" or (isinstance(v, tuple) and "legacy" in v) for v in values)


@pytest.fixture(autouse=True)
def _legacy_workers_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep legacy workers alive until their threads end: a quick job can crash the run.

    In the parent process a test that is not isolated may not start a legacy job at all.
    """
    if not in_child() and request.node.get_closest_marker("workerkit_isolated") is None:
        with legacy_jobs_refused(request.node.nodeid):
            yield
        return
    with legacy_workers_kept(), terminate_ends_the_child():
        yield


@contextmanager
def terminate_ends_the_child() -> Iterator[None]:
    """End the child pytest after a test whose legacy cancel terminate()d a thread (D4).

    A thread terminated inside SQLite can leave the connection's mutex held forever: the
    next test to touch that library would hang in C (a fresh-clone CI run hung 25 min so).
    """
    original = QThread.terminate

    def terminate(thread: QThread) -> None:
        end_child_after_case("a legacy cancel terminate()d a thread (D4)")
        original(thread)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(QThread, "terminate", terminate)
        yield


@contextmanager
def legacy_jobs_refused(nodeid: str) -> Iterator[None]:
    """Make the LoRAIro manager refuse every job, naming the test and the marker to use."""

    def refuse(*_args: object, **_kwargs: object) -> bool:
        raise AssertionError(
            f"{nodeid} starts a job on the image library's legacy stack in the test process, "
            "where a legacy hang or crash would end the run; parametrize it with a 'legacy' "
            "stack value or mark it @pytest.mark.workerkit_isolated."
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WorkerManager, "start_worker", refuse)
        yield


@pytest.fixture(scope="session")
def sample_library(tmp_path_factory: pytest.TempPathFactory) -> SampleManifest:
    """Return a 200-file sample library, generated once per test session."""
    return make_sample_library(tmp_path_factory.mktemp("sample") / "library", count=SAMPLE_COUNT)


@pytest.fixture(scope="session")
def registered_db(sample_library: SampleManifest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a database file holding the sample library, registered without any worker stack."""
    path = tmp_path_factory.mktemp("db") / "registered.sqlite"
    store = ImageStore(path)
    try:
        for image_path in scan_images(sample_library.root):
            try:
                image = prepare_image(image_path)
            except ImageError:  # the sample's corrupt files
                continue
            if store.find_id_by_phash(image.phash) is None:
                store.register(image)
        store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    """Return an empty store on a fresh SQLite file."""
    opened = ImageStore(tmp_path / "library.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def registered_store(registered_db: Path, tmp_path: Path) -> Iterator[ImageStore]:
    """Return a store on a private copy of the registered sample database."""
    copy = tmp_path / "registered.sqlite"
    shutil.copyfile(registered_db, copy)
    opened = ImageStore(copy)
    yield opened
    opened.close()


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVisionServer]:
    """Serve the fake vision API on 127.0.0.1 and point the http annotator at it."""
    with FakeVisionServer(required_key="test-key") as server:
        monkeypatch.setenv("WORKERKIT_API_BASE", server.base_url)
        monkeypatch.setenv("WORKERKIT_API_KEY", "test-key")
        yield server


# --- waiting on the Qt event loop --------------------------------------------------------


def spin_until(condition: Callable[[], bool], timeout_ms: int) -> bool:
    """Run the Qt event loop until ``condition()`` holds or ``timeout_ms`` passed; return it."""
    return wait_until(condition, timeout_ms)


# --- recording what a service reports ----------------------------------------------------


# eq=False: events are told apart by identity, and their arguments need not compare.
@dataclass(frozen=True, slots=True, eq=False)
class Event:
    """One signal the service emitted, with its arguments and the thread it arrived on."""

    name: str
    args: tuple[Any, ...]
    thread: threading.Thread
    at: float
    # For terminal events: was the job still active, and how many were, when it arrived?
    active_then: bool | None = None
    count_then: int | None = None

    @property
    def job_id(self) -> str | None:
        """Return the job id the signal carries, or None for signals without one."""
        return self.args[0] if self.name in _JOB_ID_FIRST else None

    @property
    def on_gui_thread(self) -> bool:
        """Return True if a slot saw this signal on the GUI (main) thread."""
        return self.thread is threading.main_thread()

    def brief(self) -> str:
        """Return a short text for assertion messages."""
        if self.name == "worker_progress_updated":
            return f"progress {self.args[1].percentage}"
        args = self.args if self.job_id is None else self.args[1:]
        shown = [a if isinstance(a, str | int) else type(a).__name__ for a in args]
        return f"{self.name}({', '.join(map(str, shown))})"


class EventLog:
    """Record every signal of a WorkerService from a slot, with the thread it ran on.

    The slots are plain callables connected from the GUI thread, as an app's would be.
    (``workerkit.testing``'s EventLog records a JobService, from directly connected slots.)
    """

    def __init__(self, service: WorkerService) -> None:
        self.events: list[Event] = []
        # Weak, so the service's connections to this log do not keep the service alive.
        self._service = weakref.ref(service)
        for name in SERVICE_SIGNALS:
            getattr(service, name).connect(self._recorder(name))

    @classmethod
    def attach(cls, service: WorkerService) -> EventLog:
        """Return a log of ``service`` (the same as ``EventLog(service)``)."""
        return cls(service)

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            event = Event(name, args, threading.current_thread(), time.perf_counter())
            service = self._service()
            if name in TERMINAL_SIGNALS and service is not None:
                active, count = service.is_worker_active(args[0]), service.get_active_worker_count()
                event = replace(event, active_then=active, count_then=count)
            self.events.append(event)

        return record

    def terminal(self, job_id: str, since: int = 0) -> list[Event]:
        """Return the job-level terminal events of ``job_id`` logged at index ``since`` or later."""
        return [e for e in self.events[since:] if e.name in TERMINAL_SIGNALS and e.job_id == job_id]

    def named(self, *names: str) -> list[Event]:
        """Return the events of the signals called ``names``."""
        return [e for e in self.events if e.name in names]

    def results(self, kind: str) -> list[Any]:
        """Return the results the kind's ``_finished`` signal delivered."""
        return [e.args[0] for e in self.named(f"{SIGNAL_WORDS[kind]}_finished")]

    def outcomes(self, job_id: str, since: int = 0) -> list[tuple[str, object]]:
        """Return ``job_id``'s terminal (outcome, payload) pairs logged at ``since`` or later.

        ("finished", result), ("failed", message) or ("canceled", None).
        """
        events = self.terminal(job_id, since)
        return [(_OUTCOMES[e.name], e.args[1] if len(e.args) > 1 else None) for e in events]

    def wait(
        self, qtbot: Any, job_id: str, timeout: int = LONG_MS, since: int = 0
    ) -> tuple[str, object]:
        """Process events until ``job_id`` has a terminal event; return its first outcome."""
        qtbot.waitUntil(lambda: bool(self.terminal(job_id, since)), timeout=timeout)
        return self.outcomes(job_id, since)[0]


# --- services built by a test ------------------------------------------------------------


def dispose(*services: WorkerService) -> None:
    """Shut ``services`` down and wait until no legacy job thread is left."""
    for service in services:
        if not service.is_shut_down:
            service.shutdown(timeout_ms=10_000)
    # Legacy threads quit through a signal queued to this thread: run the loop until they
    # have, so no job of this service touches a later test's objects.
    if not spin_until(lambda: qthreads_alive() == 0, 30_000):
        raise AssertionError(
            f"{qthreads_alive()} legacy job threads were still running 30 s after "
            "shutdown(); a later test would share the process with them."
        )


@pytest.fixture
def make_service(qtbot: Any) -> Iterator[Callable[..., WorkerService]]:
    """Build WorkerServices on one stack that are shut down, their threads gone, at teardown."""
    made: list[WorkerService] = []

    def build(store: ImageStore, stack: str, **kwargs: Any) -> WorkerService:
        service = WorkerService(store, stacks=dict.fromkeys(app.names, stack), **kwargs)
        made.append(service)
        return service

    yield build
    dispose(*made)
