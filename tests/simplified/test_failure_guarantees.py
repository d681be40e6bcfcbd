"""What the simplified stack keeps when work goes wrong: each test fails on the old behaviour.

- helpers of a fan-out stop once their job ended, failed or not (they ran on to the end);
- a job whose work raises a BaseException still ends, once (it left no terminal event);
- a cancel hook that raises is reported and the other hooks still run (it skipped them and
  propagated out of cancel());
- a job canceled while still queued ends at once (it waited for a free pool thread);
- destroying a service whose job is stuck waits a bounded time (it waited for the job);
- two registrations of one folder at once insert no duplicate (both inserted each image).
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, QThreadPool, Signal, Slot
from workerkit.simplified._fanout import ordered_map
from workerkit.simplified._job import PoolControl
from workerkit.simplified._token import CancelToken

from workerkit._app import App
from workerkit._kind import LegacyWorker, WorkerKind
from workerkit._service import JobService
from workerkit.imagelib import ImageStore, WorkerService

from ..child import run_child

pytestmark = pytest.mark.timeout(60)

ITEMS = 400


class _Unused(QObject):
    """The legacy side of the test kinds; these tests run only the simplified stack."""

    finished = Signal(object)
    error_occurred = Signal(str)

    @Slot()
    def run(self) -> None:
        """Do nothing."""

    def cancel(self) -> None:
        """Do nothing."""


GATE = threading.Event()


def _raise_system_exit(_control: PoolControl) -> None:
    raise SystemExit(3)


def _raise_cancelled_error(_control: PoolControl) -> None:
    raise asyncio.CancelledError


def _wait_for_gate(control: PoolControl) -> str:
    while not GATE.wait(0.01):
        control.check()
    return "done"


def _report_then_hold(control: PoolControl) -> str:
    control.progress(10, "started")
    return _wait_for_gate(control)


def _report(control: PoolControl) -> str:
    for step in (10, 50, 100):
        control.progress(step, "working")
        control.batch(step, 100, "file")
    control.partial("part")
    return "reported"


def _kind(name: str, function: Any) -> WorkerKind:
    return WorkerKind(name, LegacyWorker(_Unused), function)


APP = App(
    "failure guarantees",
    [
        _kind("exits", _raise_system_exit),
        _kind("leaks", _raise_cancelled_error),
        _kind("holds", _wait_for_gate),
        _kind("reports", _report),
        _kind("starts_then_holds", _report_then_hold),
    ],
)


@pytest.fixture
def service(qtbot: Any) -> Iterator[JobService]:
    """Return a simplified-only service with a one-thread pool."""
    GATE.clear()
    made = JobService(APP, stacks=dict.fromkeys(APP.names, "simplified"), max_threads=1)
    yield made
    GATE.set()
    assert made.shutdown(10_000)


def test_fanout_helpers_stop_once_their_job_ended() -> None:
    pool = QThreadPool()
    pool.setMaxThreadCount(3)
    token = CancelToken()
    done: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> int:
        with lock:
            done.append(item)
        return sum(range(20_000))

    results = ordered_map(pool, token, list(range(ITEMS)), work)
    next(results)  # the consumer takes one result, then its job fails
    results.close()
    token.end()  # what Job.run does when the job ends for any reason
    assert pool.waitForDone(30_000)
    assert len(done) < ITEMS / 2, f"helpers worked on {len(done)} of {ITEMS} items after the end"


@pytest.mark.parametrize("kind", ["exits", "leaks"])
def test_job_raising_a_base_exception_still_ends_once(
    qtbot: Any, service: JobService, kind: str
) -> None:
    ended: list[tuple[str, str]] = []
    service.job_failed.connect(lambda _k, job_id, message: ended.append(("failed", job_id)))
    service.job_finished.connect(lambda _k, job_id, _r: ended.append(("finished", job_id)))
    with qtbot.waitSignal(service.all_jobs_finished, timeout=10_000):
        job_id = service.start(kind)
    qtbot.wait(100)
    assert ended == [("failed", job_id)]
    assert service.active_count() == 0


def test_raising_cancel_hook_is_reported_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = CancelToken()
    ran: list[str] = []

    def broken() -> None:
        raise OSError("interrupt failed")

    token.on_cancel(broken)
    token.on_cancel(lambda: ran.append("second"))
    errors = token.cancel()
    assert ran == ["second"]
    assert errors == ["OSError: interrupt failed"]
    assert "cancel hook" in caplog.text


def test_cancel_of_a_queued_job_ends_it_at_once(qtbot: Any, service: JobService) -> None:
    canceled: list[str] = []
    service.job_canceled.connect(lambda _k, job_id: canceled.append(job_id))
    running = service.start("holds")
    queued = service.start("holds")  # the one pool thread is busy: this one waits
    qtbot.waitUntil(lambda: service.stack("simplified").pool.activeThreadCount() == 1)
    assert service.cancel(queued)
    # Settled inside cancel(), while the running job still holds the only thread.
    assert canceled == [queued]
    assert service.is_active(running) and not service.is_active(queued)
    GATE.set()
    with qtbot.waitSignal(service.job_finished, timeout=10_000):
        pass


def test_progress_of_a_job_that_then_blocks_arrives_while_it_runs(
    qtbot: Any, service: JobService
) -> None:
    # Its progress is quiet (wakes nobody) for the job's first moments; the sweep must
    # still deliver it while the job is stuck in one long call.
    with qtbot.waitSignal(service.job_progressed, timeout=5000) as progressed:
        job_id = service.start("starts_then_holds")
    assert progressed.args[1] == job_id
    assert service.is_active(job_id)
    GATE.set()
    with qtbot.waitSignal(service.job_finished, timeout=10_000):
        pass


def test_ended_jobs_leave_no_reference_cycle(qtbot: Any, service: JobService) -> None:
    # A cycle outlives its job until the garbage collector runs: a burst's worth of them
    # is memory the process holds for nothing.
    gc.collect()
    gc.disable()
    # What an earlier test left (a service its teardown let go of) is held here, so only
    # what this test's jobs made can turn up as garbage.
    earlier = gc.get_objects()
    known = {id(o) for o in earlier}
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        with qtbot.waitSignal(service.all_jobs_finished, timeout=10_000):
            for _ in range(20):
                service.start("reports")
        gc.collect()
        made = [o for o in gc.garbage if id(o) not in known]
        left = {type(o).__qualname__ for o in made if _from_workerkit(o)}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        del earlier
        gc.enable()
    assert left == set(), f"ended jobs left cycles through {sorted(left)}"


def _from_workerkit(thing: object) -> bool:
    owner = getattr(thing, "__self__", thing)  # a bound method: its object
    return type(owner).__module__.startswith("workerkit")


STUCK_ENTERED = threading.Event()


def _stuck(_control: PoolControl) -> str:
    # One blocking call no cancel reaches, as a C library call can be.
    STUCK_ENTERED.set()
    threading.Event().wait(STUCK_S)
    return "unstuck"


STUCK_S = 3.0
STUCK_APP = App("stuck", [_kind("stuck", _stuck)])


DESTROY_BUSY = """
import time, shiboken6
from PySide6.QtCore import QCoreApplication
app = QCoreApplication([])
from tests.simplified.test_failure_guarantees import STUCK_APP, STUCK_ENTERED
from workerkit._service import JobService
from workerkit.simplified import _stack as backend
backend.DRAIN_TIMEOUT_MS = 300
service = JobService(STUCK_APP, stacks={"stuck": "simplified"}, max_threads=1)
pool = service.stack("simplified").pool
service.start("stuck")
while not STUCK_ENTERED.wait(0.01):
    app.processEvents()
started = time.perf_counter()
shiboken6.delete(service)
waited = time.perf_counter() - started
print(round(waited, 2), pool in backend._ORPHANS, pool.waitForDone(10_000))
"""


def test_destroying_a_busy_service_waits_a_bounded_time() -> None:
    # In a child process: the stuck job outlives the service it was started from.
    run = run_child(
        [sys.executable, "-c", DESTROY_BUSY], timeout_s=60, cwd=Path(__file__).parents[2]
    )
    assert run.ok, run.describe()
    waited, orphaned, finished = run.stdout.split()
    assert float(waited) < STUCK_S / 2, f"destroying the service waited {waited} s for the job"
    assert (orphaned, finished) == ("True", "True")


def test_concurrent_registrations_of_one_folder_insert_no_duplicate(
    qtbot: Any, sample_library: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "twice"
    folder.mkdir()
    # Each image twice, under two names: the second copy must merge, never insert.
    for path in sorted(sample_library.root.rglob("*.jpg"))[:20]:
        shutil.copy(path, folder / path.name)
        shutil.copy(path, folder / f"copy-{path.name}")
    with ImageStore(tmp_path / "library.sqlite") as store:
        service = WorkerService(store, stacks={"registration": "simplified"}, max_threads=2)
        results: list[Any] = []
        service.batch_registration_finished.connect(results.append)
        service.start_batch_registration(folder)
        service.start_batch_registration(folder)
        qtbot.waitUntil(lambda: len(results) == 2, timeout=60_000)
        assert service.shutdown(10_000)
        rows = (
            store.connection()
            .execute("SELECT phash, count(*) FROM images GROUP BY phash HAVING count(*) > 1")
            .fetchall()
        )
        distinct = store.connection().execute("SELECT count(DISTINCT phash) FROM images")
        assert rows == [], f"{len(rows)} perceptual hashes registered twice"
        assert sum(r.registered_count for r in results) == distinct.fetchone()[0]


def test_canceled_registration_reports_what_it_committed(
    qtbot: Any, sample_library: Any, tmp_path: Path
) -> None:
    with ImageStore(tmp_path / "library.sqlite") as store:
        service = WorkerService(store, stacks={"registration": "simplified"}, max_threads=2)
        committed: list[Any] = []
        service.batch_registration_committed.connect(lambda _job_id, r: committed.append(r))
        job_id = service.start_batch_registration(sample_library.root)
        # Cancel once the first batch of 32 is in the database.
        qtbot.waitUntil(lambda: store.count_images() >= 32, timeout=60_000)
        with qtbot.waitSignal(service.batch_registration_canceled, timeout=60_000):
            service.cancel_batch_registration(job_id)
        assert service.shutdown(10_000)
        assert len(committed) == 1, "the canceled registration did not say what it committed"
        result = committed[0]
        assert result.registered_count == store.count_images() > 0
        assert len(result.processed_paths) == result.registered_count + result.skipped_count
