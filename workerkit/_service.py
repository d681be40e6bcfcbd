"""JobService: run jobs of any declared kind, each on the stack its flag names."""

from __future__ import annotations

import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, overload

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from workerkit._batch import Batch
from workerkit._feeder import Feeder
from workerkit._job import Job, JobState
from workerkit._shadow import DEFAULT_SHADOW_LOG, CandidateFactory, ShadowRunner, ShadowStats
from workerkit._stack import Stack, new_job_id
from workerkit._stacks import builtin_stack, check_stack
from workerkit.flags import RUNTIME_SOURCE, Flag, default_flags, make_flag, resolve_flags

if TYPE_CHECKING:
    from workerkit._app import App
    from workerkit._kind import WorkerKind

__all__ = ["CONSTRUCTOR_SOURCE", "JobService"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

# How many items of a batch may be taken and not yet delivered, by default.
DEFAULT_MAX_PENDING = 1024

CONSTRUCTOR_SOURCE = "constructor stacks="


class JobService(QObject):
    """Run jobs of an app's declared kinds; each kind runs on the stack its flag names.

    Every event carries the kind's name and the job id, and is emitted on the GUI thread,
    with the same payload whichever stack ran the job: ``job_progressed`` a
    WorkerProgress, ``job_finished`` the result, ``job_failed`` the exception.
    ``all_jobs_finished`` comes once the stacks count no active job and every started
    job's end has been sent, once per busy spell.
    """

    job_started = Signal(str, str)
    job_progressed = Signal(str, str, object)
    job_batch_progressed = Signal(str, str, int, int, str)
    partial_delivered = Signal(str, str, object)
    job_finished = Signal(str, str, object)
    job_failed = Signal(str, str, object)
    job_canceled = Signal(str, str)
    active_count_changed = Signal(int)
    all_jobs_finished = Signal()
    # One record per shadow comparison; candidates emit nothing else here.
    shadow_compared = Signal(object)

    def __init__(
        self,
        app: App,
        *,
        stacks: Mapping[str, str] | None = None,
        flags: Mapping[str, Flag] | None = None,
        max_threads: int | None = None,
        shadow_log: Path | None = None,
        parent: QObject | None = None,
        backends: Mapping[str, str] | None = None,
        _shadow_candidate: CandidateFactory | None = None,
        _stack_classes: Mapping[str, type[Stack]] | None = None,
    ) -> None:
        """Make the service for ``app``'s kinds.

        Args:
            app: The app whose declared kinds the service runs.
            stacks: A flag per kind name (legacy, simplified or shadow), read instead of
                ``workerkit.toml`` and the environment (kinds left out: legacy).
            flags: Flags with their sources, as ``workerkit.flags.resolve_flags`` returns
                them (kinds left out: the default).
            max_threads: The pool stack's thread count (default: the ideal count).
            shadow_log: The JSON-lines file shadow comparisons go to.
            parent: The QObject that owns the service.
            backends: The old name of ``stacks`` (deprecated).

        Raises:
            FlagError: A flag names an unknown kind or value.
        """
        super().__init__(parent)
        if backends is not None:
            warnings.warn(
                "JobService(backends=...) is deprecated; pass stacks=... instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            stacks = backends if stacks is None else stacks
        self.app = app
        # Test hooks: a stack name's Stack class instead of the built-in one (a broken stack
        # in workerkit's own tests), and the shadow candidate's factory.
        self._stack_classes = dict(_stack_classes or {})
        self.max_threads = max_threads
        self._flags = _initial_flags(app, stacks, flags)
        self._stacks: dict[str, Stack] = {}
        self._shadow_log = Path(shadow_log) if shadow_log else Path.cwd() / DEFAULT_SHADOW_LOG
        self._shadow_candidate = _shadow_candidate
        self._shadow: ShadowRunner | None = None
        # The total last sent in active_count_changed.
        self._reported_count = 0
        # True from a start() (or a count above zero) until the next all_jobs_finished. Not
        # the count alone: a job may end in its thread before its stack's first count is
        # read on the GUI thread, so the total never reads above zero, yet the app is owed
        # an all_jobs_finished after the job's end.
        self._busy = False
        self._closed = False
        # The handles of running jobs (a caller may drop its own), removed at their end.
        self._jobs: dict[str, Job[Any]] = {}
        # Handles whose stack gave them the id of a job whose end has not arrived yet
        # (a stack with clock-made ids), in start order: each end goes to the oldest.
        self._reused: dict[str, deque[Job[Any]]] = {}
        # Ends of jobs whose start() had not returned yet, by job id.
        self._starting: dict[str, tuple[JobState, object]] = {}
        # How many handles have signals (made on first use): progress reaches handles
        # through a Python slot connected only while there is one.
        self._listeners = 0
        # Batches fed one job per item (stacks with no bulk path), by batch id.
        self._feeders: dict[str, Feeder] = {}

    # --- routing -------------------------------------------------------------------------

    def set_stack(self, kind: str | WorkerKind[Any, Any], name: str) -> None:
        """Send new jobs of ``kind`` to legacy, simplified or shadow; running jobs stay put.

        Raises:
            FlagError: ``kind`` or ``name`` is unknown, or ``kind`` cannot be shadowed.
        """
        key = kind if isinstance(kind, str) else kind.name
        flag = make_flag(key, name, RUNTIME_SOURCE, self.app)
        self._flags[flag.kind] = flag

    def stack_for(self, kind: str | WorkerKind[Any, Any]) -> str:
        """Return where new jobs of ``kind`` go: legacy, simplified or shadow."""
        return self._flags[self.app.kind(kind).name].value

    def set_backend(self, kind: str, name: str) -> None:
        """Deprecated: use ``set_stack``."""
        warnings.warn("set_backend() is deprecated; use set_stack().", DeprecationWarning, 2)
        self.set_stack(kind, name)

    def backend_for(self, kind: str) -> str:
        """Deprecated: use ``stack_for``."""
        warnings.warn("backend_for() is deprecated; use stack_for().", DeprecationWarning, 2)
        return self.stack_for(kind)

    def flags(self) -> dict[str, Flag]:
        """Return every kind's current flag."""
        return dict(self._flags)

    def flag_sources(self) -> dict[str, str]:
        """Return, per kind name, which source set its current flag."""
        return {str(name): flag.source for name, flag in self._flags.items()}

    def shadow_stats(self) -> ShadowStats:
        """Return the shadow-mode counters (all zero until a shadow job ends)."""
        return self._shadow.stats() if self._shadow is not None else ShadowStats()

    @property
    def shadow_log(self) -> Path:
        """Return the JSON-lines file shadow comparisons are appended to."""
        return self._shadow_log

    # --- jobs ----------------------------------------------------------------------------

    @overload
    def start(
        self, kind: WorkerKind[P, Coroutine[Any, Any, R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> Job[R]: ...

    @overload
    def start(self, kind: WorkerKind[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Job[R]: ...

    @overload
    def start(self, kind: str, /, *args: Any, **kwargs: Any) -> Job[Any]: ...

    def start(self, kind: WorkerKind[Any, Any] | str, /, *args: Any, **kwargs: Any) -> Job[Any]:
        """Start a job of ``kind`` with these arguments on the stack its flag names.

        Args:
            kind: The declared kind, or its name.
            *args: The job's arguments, as the kind's pool function takes them after its
                control (and its legacy worker's factory takes them).
            **kwargs: The job's keyword arguments; any name works, ``kind`` included.

        Returns:
            The job's handle, which is also its id (a ``str``).

        Raises:
            UnknownKind: ``kind`` is not one of the app's kinds.
            RuntimeError: The service was shut down, or the stack refused the job.
        """
        declared = self.app.kind(kind)
        if self._closed:
            raise RuntimeError(
                "This service has been shut down and starts no more jobs; "
                "create a new one to run more work."
            )
        # Decided per job, now: a later set_backend() moves new jobs only.
        route = self._flags[declared.name].value
        self._starting.clear()
        if route == "shadow":
            job_id = self._shadow_runner().start(declared, args, kwargs)
        else:
            job_id = self._started_on(self.stack(route), declared, args, kwargs)
        self._busy = True
        job: Job[Any] = Job(self, job_id, str(declared.name))
        early = self._starting.pop(job_id, None)
        if early is not None:  # the stack ended the job before start() returned
            job._end(*early)
            self._after_end()
        elif job_id in self._jobs:
            self._reused_id(route, job)
        else:
            self._jobs[job_id] = job
        return job

    def _reused_id(self, route: str, job: Job[Any]) -> None:
        """Queue the handle of a job whose id an earlier job still waiting for its end has."""
        logger.warning(
            "The %s stack gave the new %s job the id %r, which an earlier job whose end has "
            "not reached the service yet also has; their ends go to the handles in start "
            "order, but progress and cancel() cannot tell the two apart. Make the stack's "
            "ids unique (workerkit._stack.new_job_id makes such ids).",
            route,
            job.kind,
            job.id,
        )
        self._reused.setdefault(job.id, deque()).append(job)

    # --- batches -------------------------------------------------------------------------

    def map(
        self,
        kind: WorkerKind[Concatenate[T, P], R] | str,
        items: Iterable[T],
        /,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        window: int | None = None,
    ) -> Batch[R]:
        """Run a job of ``kind`` for each item (its one argument), fed lazily; return the batch.

        Args:
            kind: The declared kind, or its name.
            items: The items, read only as fast as they are run (a generator works).
            max_pending: On the simplified stack, how many items may be taken and not yet
                delivered to the GUI thread; bounds the memory a large batch holds.
            window: On any other stack, how many item jobs run at once (default: the
                pool's thread count).

        Returns:
            The batch's handle; connect ``results_delivered`` before returning to the
            event loop.

        Raises:
            UnknownKind: ``kind`` is not one of the app's kinds.
            ValueError: ``max_pending`` or ``window`` is below 1.
            RuntimeError: The service was shut down.
        """
        return self._map(kind, items, True, max_pending, window)

    def starmap(
        self,
        kind: WorkerKind[P, R] | str,
        arguments: Iterable[tuple[Any, ...]],
        /,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        window: int | None = None,
    ) -> Batch[R]:
        """Run a job of ``kind`` for each tuple of arguments; as ``map`` otherwise."""
        return self._map(kind, arguments, False, max_pending, window)

    def _map(
        self,
        kind: WorkerKind[Any, Any] | str,
        items: Iterable[Any],
        single: bool,
        max_pending: int,
        window: int | None,
    ) -> Batch[Any]:
        declared = self.app.kind(kind)
        if self._closed:
            raise RuntimeError(
                "This service has been shut down and starts no more batches; "
                "create a new one to run more work."
            )
        for name, value in (("max_pending", max_pending), ("window", window)):
            if value is not None and value < 1:
                raise ValueError(f"map(): {name} must be at least 1, not {value}.")
        total = len(items) if isinstance(items, Sized) else None
        tuples = ((item,) for item in items) if single else iter(items)
        batch: Batch[Any] = Batch(self, str(declared.name), total)
        route = self._flags[declared.name].value
        stack = None if route == "shadow" else self.stack(route)
        batch_id = stack._start_batch(declared, tuples, batch, max_pending) if stack else None
        self._busy = self._busy or batch_id is not None
        if batch_id is None:
            feeder = Feeder(
                self,
                declared,
                tuples,
                batch,
                window or self.max_threads or QThread.idealThreadCount(),
            )
            batch_id = new_job_id(declared)
            self._feeders[batch_id] = feeder
            feeder.destroyed.connect(lambda: self._feeders.pop(batch_id, None))
            feeder.begin()
            self.job_started.emit(str(declared.name), batch_id)
        batch._bind(batch_id)
        self._jobs[batch_id] = batch  # type: ignore[assignment]
        return batch

    def job(self, job_id: str | Job[Any]) -> Job[Any] | None:
        """Return the handle of the running job ``job_id``, or None once it has ended."""
        return self._jobs.get(str(job_id))

    def cancel(self, job_id: str | Job[Any]) -> bool:
        """Ask the job (its handle or id) to stop; return False if no stack counts it as active."""
        # str(): a stack's signals are typed (str, ...): a Job emitted there would arrive as ''.
        job_id = str(job_id)
        feeder = self._feeders.get(job_id)
        if feeder is not None:
            return feeder.cancel()
        owner = self._owner(job_id)
        return owner is not None and owner.cancel(job_id)

    def cancel_all(self) -> None:
        """Ask every active job on every stack to stop, and every batch to start no more."""
        for feeder in list(self._feeders.values()):
            feeder.cancel()
        for job_id in self.active_job_ids():
            self.cancel(job_id)

    def active_count(self) -> int:
        """Return how many jobs the stacks count as active."""
        return sum(stack.active_count() for stack in self._stacks.values())

    def active_job_ids(self) -> list[str]:
        """Return the ids of all active jobs."""
        return [job_id for stack in self._stacks.values() for job_id in stack.active_job_ids()]

    def is_active(self, job_id: str | Job[Any]) -> bool:
        """Return True if a stack counts ``job_id`` (a handle or id) as active."""
        return self._owner(str(job_id)) is not None

    def wait_for_all(self, timeout_ms: int = 30000) -> bool:
        """Block until every job has ended or ``timeout_ms`` passed; return True if all ended."""
        return self._each_stack_within(timeout_ms, lambda stack, ms: stack.wait_for_all(ms))

    def summary(self) -> dict[str, Any]:
        """Return the routes, the active count and each stack's own summary."""
        return {
            "routes": {str(name): flag.value for name, flag in self._flags.items()},
            "flag_sources": self.flag_sources(),
            "active_worker_count": self.active_count(),
            "active_worker_ids": self.active_job_ids(),
            "stacks": {name: stack.summary() for name, stack in self._stacks.items()},
            "shadow": self._shadow.summary() if self._shadow is not None else None,
        }

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every job, wait up to ``timeout_ms`` and refuse new jobs; True if all ended."""
        self._closed = True
        for feeder in list(self._feeders.values()):
            feeder.cancel()  # before the stacks: a batch must start no item while they stop
        deadline = time.monotonic() + timeout_ms / 1000
        if self._shadow is not None:
            # Candidates share the simplified pool: stop them before anything waits on it.
            self._shadow.cancel_candidates()
        ended = self._each_stack_within(timeout_ms, lambda stack, ms: stack.shutdown(ms))
        if self._shadow is not None:
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            ended = self._shadow.shutdown(remaining) and ended
        return ended

    @property
    def is_shut_down(self) -> bool:
        """Return True once shutdown() was called."""
        return self._closed

    def stack(self, name: str) -> Stack:
        """Return the stack called ``name`` (legacy or simplified), creating it on first use.

        ``legacy`` is the app's own ``legacy_stack`` when it declares one, else
        workerkit's careful QThread-per-job stack.
        """
        name = check_stack(name)
        if name not in self._stacks:
            self._stacks[name] = self._connect(self._make_stack(name))
        return self._stacks[name]

    # --- helpers -------------------------------------------------------------------------

    def _shadow_runner(self) -> ShadowRunner:
        if self._shadow is None:
            self._shadow = ShadowRunner(
                self.stack("legacy"),
                self.stack("simplified"),
                self._shadow_log,
                candidate_factory=self._shadow_candidate,
                parent=self,
            )
            self._shadow.compared.connect(self.shadow_compared)
        return self._shadow

    def _make_stack(self, name: str) -> Stack:
        override = self._stack_classes.get(name)
        if name == "simplified":
            pool_stack: Any = override or builtin_stack(name)
            return pool_stack(self.app, self, max_threads=self.max_threads)
        factory = override or self.app.legacy_stack or builtin_stack(name)
        stack = factory(self.app, self)
        if not isinstance(stack, Stack):
            raise TypeError(
                f"{self.app.name}'s legacy_stack made {type(stack).__name__}, not a "
                "workerkit.Stack; subclass workerkit.Stack around your worker manager."
            )
        return stack

    def _started_on(
        self, stack: Stack, kind: WorkerKind[Any, Any], args: tuple[Any, ...], kwargs: Any
    ) -> str:
        job_id = stack.start(kind, args, kwargs)
        if not (isinstance(job_id, str) and job_id.startswith(kind.prefix + "_")):
            raise RuntimeError(
                f"{type(stack).__name__}.start() returned the job id {job_id!r} for a "
                f"{kind.name} job; a stack's job ids must start with the kind's prefix "
                f"{kind.prefix + '_'!r} (workerkit._stack.new_job_id makes such ids)."
            )
        return job_id

    def _owner(self, job_id: str) -> Stack | None:
        return next((s for s in self._stacks.values() if s.is_active(job_id)), None)

    def _each_stack_within(self, timeout_ms: int, step: Callable[[Stack, int], bool]) -> bool:
        deadline = time.monotonic() + timeout_ms / 1000
        ok = True
        for stack in list(self._stacks.values()):
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            ok = step(stack, remaining) and ok
        return ok

    def _connect(self, stack: Stack) -> Stack:
        # Signal to signal, in Qt alone: progress is the busiest event, and a Python slot
        # on it would take the GIL on the GUI thread while the job's pool thread holds it.
        stack.job_started.connect(self.job_started)
        stack.job_progressed.connect(self.job_progressed)
        stack.job_batch_progressed.connect(self.job_batch_progressed)
        stack.partial_delivered.connect(self.partial_delivered)
        if self._listeners:
            self._listen(stack, True)
        stack.job_finished.connect(self._on_finished)
        stack.job_failed.connect(self._on_failed)
        stack.job_canceled.connect(self._on_canceled)
        stack.active_count_changed.connect(self._on_count_changed)
        return stack

    def _handle_listens(self, listening: bool) -> None:
        """Count handles whose signals exist; only while any does, hand them progress."""
        before = self._listeners
        self._listeners += 1 if listening else -1
        if (before == 0) != (self._listeners == 0):
            for stack in self._stacks.values():
                self._listen(stack, listening)

    def _listen(self, stack: Stack, listening: bool) -> None:
        for signal, slot in (
            (stack.job_progressed, self._on_progressed),
            (stack.partial_delivered, self._on_partial),
        ):
            if listening:
                signal.connect(slot)
            else:
                signal.disconnect(slot)

    @Slot(str, str, object)
    def _on_progressed(self, _kind: str, job_id: str, progress: object) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            job._progressed(progress)  # type: ignore[arg-type]

    @Slot(str, str, object)
    def _on_partial(self, _kind: str, job_id: str, payload: object) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            job._partial(payload)

    @Slot(str, str, object)
    def _on_finished(self, kind: str, job_id: str, result: object) -> None:
        job = self._ended(job_id, JobState.FINISHED, result)
        self.job_finished.emit(kind, job_id, result)
        if job is not None:
            job._end(JobState.FINISHED, result)
        self._after_end()

    @Slot(str, str, object)
    def _on_failed(self, kind: str, job_id: str, error: object) -> None:
        # Every failure, whichever stack ran the job, is logged once with its traceback.
        exc = error if isinstance(error, BaseException) else None
        logger.error("%s job %s failed: %s", kind, job_id, error, exc_info=exc)
        job = self._ended(job_id, JobState.FAILED, error)
        self.job_failed.emit(kind, job_id, error)
        if job is not None:
            job._end(JobState.FAILED, error)
        self._after_end()

    @Slot(str, str)
    def _on_canceled(self, kind: str, job_id: str) -> None:
        job = self._ended(job_id, JobState.CANCELED, None)
        self.job_canceled.emit(kind, job_id)
        if job is not None:
            job._end(JobState.CANCELED, None)
        self._after_end()

    def _ended(self, job_id: str, state: JobState, outcome: object) -> Job[Any] | None:
        """Forget the ended job's handle; note an end that came while its start() ran.

        A handle queued behind it under the same id (``_reused_id``) takes its place.
        """
        job = self._jobs.pop(job_id, None)
        if job is None:
            self._starting.setdefault(job_id, (state, outcome))
        elif (waiting := self._reused.get(job_id)) is not None:
            self._jobs[job_id] = waiting.popleft()
            if not waiting:
                del self._reused[job_id]
        return job

    @Slot(int)
    def _on_count_changed(self, _stack_count: int) -> None:
        total = self.active_count()
        self._reported_count = total
        self._busy = self._busy or total > 0
        self.active_count_changed.emit(total)
        if self._busy and total == 0:
            if self._jobs:
                # A stack may send its count before the job's end, queued right behind:
                # look again after it, and send anyway then (an end may never come).
                QTimer.singleShot(0, self, lambda: self._all_finished_if_idle(ends=False))
            else:
                self._all_finished_if_idle()

    def _after_end(self) -> None:
        """Look for the end of a busy spell whose count of zero was sent before this end.

        A stack usually sends its count after the job's end, from the same thread, so
        that count is already queued: look after it, and all_jobs_finished follows it.
        """
        if self._busy and not self._jobs and self._reported_count == 0:
            QTimer.singleShot(0, self, self._all_finished_if_idle)

    def _all_finished_if_idle(self, ends: bool = True) -> None:
        """Send all_jobs_finished if the last count said zero and no stack counts a job.

        Args:
            ends: Also require every handle to have ended.
        """
        if ends and self._jobs:
            return
        if self._busy and self._reported_count == 0 and not self.active_count():
            self._busy = False
            self.all_jobs_finished.emit()


def _initial_flags(
    app: App, stacks: Mapping[str, str] | None, flags: Mapping[str, Flag] | None
) -> dict[str, Flag]:
    # Explicit stacks never read workerkit.toml or the environment, so a test's service
    # does not depend on the directory it runs in.
    if flags is not None:
        checked = (make_flag(kind, flag.value, flag.source, app) for kind, flag in flags.items())
        initial = default_flags(app) | {flag.kind: flag for flag in checked}
    elif stacks is None:
        initial = resolve_flags(app)
    else:
        initial = default_flags(app)
    for kind, name in (stacks or {}).items():
        flag = make_flag(kind, name, CONSTRUCTOR_SOURCE, app)
        initial[flag.kind] = flag
    return initial
