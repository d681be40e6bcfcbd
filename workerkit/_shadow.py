"""Shadow mode (the Scientist pattern): show legacy results, run simplified unseen, compare.

Only read-only kinds that declare a comparator may run in shadow mode. The legacy job
is the one the GUI sees. The candidate runs on a private simplified backend that shares
the one pool of the service's simplified stack; its signals reach only the ShadowRunner,
never the service's UI signals. The kind's ``observe`` hook reduces each result to plain
values on the GUI thread (a QPixmap must not leave it); the kind's ``compare`` and the log
write run on the pool, off the GUI thread.

What ends a pair, and how it is counted:

- both finished: compared, logged, matched or mismatched;
- candidate failed (or did not start), legacy finished: logged with ``match``
  false and the reason in ``differences``; counted compared, mismatched and
  candidate_failed;
- legacy failed or canceled: not logged (the GUI got no result to compare),
  the candidate is canceled, counted skipped;
- candidate canceled (superseded by a newer job of its kind), legacy finished:
  not logged, counted skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QRunnable, QThreadPool, Signal, Slot

from workerkit._shadow_log import (
    DEFAULT_SHADOW_LOG,
    append_record,
    read_shadow_log,
    summarize_shadow_log,
)
from workerkit._stack import Stack

if TYPE_CHECKING:
    from workerkit._app import App
    from workerkit._kind import WorkerKind

__all__ = [
    "DEFAULT_SHADOW_LOG",
    "MAX_DIFFERENCES",
    "CandidateFactory",
    "Observation",
    "ShadowRunner",
    "ShadowStats",
    "compare_observations",
    "read_shadow_log",
    "summarize_shadow_log",
]

logger = logging.getLogger(__name__)

MAX_DIFFERENCES = 10

Outcome = Literal["finished", "failed", "canceled"]
CandidateFactory = Callable[["App", QThreadPool, QObject | None], Stack]
"""Build the candidate backend on the given (shared) pool; default: a SimplifiedStack."""


@dataclass(frozen=True, slots=True)
class ShadowStats:
    """Count what shadow mode did: pairs compared (matched or not), failed candidates, skips."""

    compared: int = 0
    matched: int = 0
    mismatched: int = 0
    candidate_failed: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class Observation:
    """Hold one side of a pair: how it ended and its result reduced to plain values."""

    job_id: str
    outcome: Outcome
    elapsed_ms: float
    value: Any = None
    error: str | None = None


def observe(kind: WorkerKind, job_id: str, elapsed_ms: float, result: object) -> Observation:
    """Reduce a finished job's result with the kind's observe hook; call on the GUI thread."""
    try:
        value = kind.observe(result) if kind.observe is not None else result
    except Exception as exc:
        error = f"observe hook of {kind.name} raised {type(exc).__name__}: {exc}"
        return Observation(job_id, "failed", elapsed_ms, error=error)
    return Observation(job_id, "finished", elapsed_ms, value)


def compare_observations(
    kind: WorkerKind, legacy: Observation, candidate: Observation
) -> list[str]:
    """Return short descriptions of how the candidate differs from legacy (empty if it does not)."""
    if candidate.outcome != "finished":
        return [f"candidate {candidate.outcome}: {candidate.error}"]
    assert kind.compare is not None  # only shadowable kinds get here
    try:
        differences = [str(d) for d in kind.compare(legacy.value, candidate.value)]
    except Exception as exc:
        differences = [f"comparator of {kind.name} raised {type(exc).__name__}: {exc}"]
    return _capped(differences)


def _capped(differences: list[str]) -> list[str]:
    if len(differences) <= MAX_DIFFERENCES:
        return differences
    kept = MAX_DIFFERENCES - 1
    return [*differences[:kept], f"... and {len(differences) - kept} more differences"]


def make_record(
    kind: str, legacy: Observation, candidate: Observation, differences: list[str]
) -> dict[str, Any]:
    """Return the JSON-friendly log record of one comparison."""
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "kind": str(kind),
        "match": not differences,
        "legacy_ms": round(legacy.elapsed_ms, 3),
        "simplified_ms": round(candidate.elapsed_ms, 3),
        "legacy_job": legacy.job_id,
        "candidate_job": candidate.job_id,
        "differences": differences,
    }


# --- running pairs ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Pair:
    """One shadow job: the legacy job the GUI sees and its unseen candidate."""

    kind: WorkerKind
    legacy_id: str
    legacy_started: float
    candidate_started: float
    candidate_id: str = ""
    legacy: Observation | None = None
    candidate: Observation | None = None


@dataclass(slots=True)
class _Comparison:
    """What crosses to the comparison thread and back."""

    kind: WorkerKind
    legacy: Observation
    candidate: Observation
    log_path: Path
    record: dict[str, Any] = field(default_factory=dict)
    log_error: str | None = None


class _ComparisonSignals(QObject):
    """Carry a finished comparison from the pool thread back to the GUI thread."""

    done = Signal(object)


class _CompareJob(QRunnable):
    """Compare one pair and append its record to the log, on a pool thread."""

    def __init__(self, comparison: _Comparison, signals: _ComparisonSignals) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._comparison = comparison
        self._signals = signals

    def run(self) -> None:
        """Compare and write; Qt calls this on a pool thread, so it cannot be renamed."""
        c = self._comparison
        differences = compare_observations(c.kind, c.legacy, c.candidate)
        c.record = make_record(c.kind.name, c.legacy, c.candidate, differences)
        try:
            append_record(c.log_path, c.record)
        except OSError as exc:
            c.log_error = f"cannot append to shadow log {c.log_path}: {exc.strerror or exc}"
        self._signals.done.emit(c)


class ShadowRunner(QObject):
    """Run read-only jobs on the legacy stack for the GUI and on a private candidate to compare."""

    compared = Signal(object)

    def __init__(
        self,
        legacy: Stack,
        simplified: Stack,
        log_path: Path,
        *,
        candidate_factory: CandidateFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.log_path = Path(log_path)
        self._legacy = legacy
        # One pool: candidates and comparisons run on the simplified stack's own pool.
        self._pool: QThreadPool = simplified.pool  # type: ignore[attr-defined]
        factory = candidate_factory or _simplified_candidate
        # Owned here and connected only here: no candidate event can reach a UI signal.
        self.candidate = factory(legacy.app, self._pool, self)
        self._by_legacy: dict[str, list[_Pair]] = {}
        self._by_candidate: dict[str, _Pair] = {}
        # While the legacy stack's start() runs: ends it sent then, by job id, to settle
        # once the pair exists (a stack may end a quick job before start() returns).
        self._in_start: dict[str, Callable[[_Pair], None]] | None = None
        self._stats = ShadowStats()
        self._closed = False
        self._signals = _ComparisonSignals(self)
        self._signals.done.connect(self._on_compared)
        self._connect()

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Start the job on legacy (its id is returned) and on the candidate."""
        if not kind.shadowable:
            raise ValueError(
                f"Shadow mode runs only read-only kinds with a comparator; {kind.name} "
                f"{'writes' if kind.writes else 'declares no compare='}: route it to legacy or "
                "simplified."
            )
        if self._closed:
            raise RuntimeError(
                "This ShadowRunner has been shut down; create a new service to shadow jobs."
            )
        legacy_started = time.perf_counter()
        self._in_start = {}
        try:
            legacy_id = self._legacy.start(kind, args, kwargs)
        finally:
            ended, self._in_start = self._in_start, None
        pair = _Pair(kind, legacy_id, legacy_started, time.perf_counter())
        settle = ended.get(legacy_id)
        if settle is None:
            self._by_legacy.setdefault(legacy_id, []).append(pair)
        self._start_candidate(pair, args, kwargs)
        if settle is not None:
            settle(pair)
        return legacy_id

    def stats(self) -> ShadowStats:
        """Return the counters so far."""
        return self._stats

    def active_candidate_ids(self) -> list[str]:
        """Return the ids of candidate jobs still running."""
        return self.candidate.active_job_ids()

    def summary(self) -> dict[str, Any]:
        """Describe the counters, the log and the pairs in flight."""
        return {
            "log": str(self.log_path),
            "stats": asdict(self._stats),
            "pending_pairs": sum(len(pairs) for pairs in self._by_legacy.values()),
            "candidate": self.candidate.summary(),
        }

    def cancel_candidates(self) -> None:
        """Ask every candidate job to stop, without waiting."""
        for job_id in self.candidate.active_job_ids():
            self.candidate.cancel(job_id)

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel the candidates, finish pending comparisons; True if all ended in time."""
        deadline = time.monotonic() + timeout_ms / 1000
        ended = self.candidate.shutdown(timeout_ms)
        self._closed = True
        self._by_legacy.clear()
        self._by_candidate.clear()
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        ended = self._pool.waitForDone(remaining) and ended
        # Deliver records of comparisons that just ended, so stats and the signal are complete.
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        return ended

    # --- helpers ------------------------------------------------------------------------------

    def _connect(self) -> None:
        self._legacy.job_finished.connect(self._on_legacy_finished)
        self._legacy.job_failed.connect(self._on_legacy_failed)
        self._legacy.job_canceled.connect(self._on_legacy_canceled)
        self.candidate.job_finished.connect(self._on_candidate_finished)
        self.candidate.job_failed.connect(self._on_candidate_failed)
        self.candidate.job_canceled.connect(self._on_candidate_canceled)

    def _start_candidate(
        self, pair: _Pair, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> None:
        try:
            pair.candidate_id = self.candidate.start(pair.kind, args, kwargs)
        except RuntimeError as exc:
            pair.candidate = Observation("", "failed", 0.0, error=f"did not start ({exc})")
            return
        self._by_candidate[pair.candidate_id] = pair

    def _legacy_pair(self, job_id: str) -> _Pair | None:
        pairs = self._by_legacy.get(job_id)
        if not pairs:
            return None
        # Legacy ids repeat within one second (D5); its events arrive in start order.
        pair = pairs.pop(0)
        if not pairs:
            del self._by_legacy[job_id]
        return pair

    def _legacy_ended(self, job_id: str, settle: Callable[[_Pair], None]) -> None:
        pair = self._legacy_pair(job_id)
        if pair is not None:
            settle(pair)
        elif self._in_start is not None:
            self._in_start.setdefault(job_id, settle)

    @Slot(str, str, object)
    def _on_legacy_finished(self, _kind: str, job_id: str, result: object) -> None:
        def settle(pair: _Pair) -> None:
            pair.legacy = observe(pair.kind, job_id, _ms_since(pair.legacy_started), result)
            self._settle(pair)

        self._legacy_ended(job_id, settle)

    @Slot(str, str, object)
    def _on_legacy_failed(self, _kind: str, job_id: str, _error: object) -> None:
        self._legacy_ended(job_id, self._drop)

    @Slot(str, str)
    def _on_legacy_canceled(self, _kind: str, job_id: str) -> None:
        self._legacy_ended(job_id, self._drop)

    def _drop(self, pair: _Pair) -> None:
        # The GUI got no result to compare with: stop the candidate and count a skip.
        if self._by_candidate.pop(pair.candidate_id, None) is not None:
            self.candidate.cancel(pair.candidate_id)
        self._count(skipped=1)

    @Slot(str, str, object)
    def _on_candidate_finished(self, _kind: str, job_id: str, result: object) -> None:
        if (pair := self._by_candidate.pop(job_id, None)) is not None:
            elapsed = _ms_since(pair.candidate_started)
            pair.candidate = observe(pair.kind, job_id, elapsed, result)
            self._settle(pair)

    @Slot(str, str, object)
    def _on_candidate_failed(self, _kind: str, job_id: str, error: object) -> None:
        if (pair := self._by_candidate.pop(job_id, None)) is not None:
            elapsed = _ms_since(pair.candidate_started)
            pair.candidate = Observation(job_id, "failed", elapsed, error=_message(error))
            self._settle(pair)

    @Slot(str, str)
    def _on_candidate_canceled(self, _kind: str, job_id: str) -> None:
        if (pair := self._by_candidate.pop(job_id, None)) is not None:
            elapsed = _ms_since(pair.candidate_started)
            pair.candidate = Observation(job_id, "canceled", elapsed, error="superseded")
            self._settle(pair)

    def _settle(self, pair: _Pair) -> None:
        if pair.legacy is None or pair.candidate is None:
            return
        if pair.candidate.outcome == "canceled":
            self._count(skipped=1)
            return
        comparison = _Comparison(pair.kind, pair.legacy, pair.candidate, self.log_path)
        self._pool.start(_CompareJob(comparison, self._signals))

    @Slot(object)
    def _on_compared(self, comparison: _Comparison) -> None:
        record = comparison.record
        if comparison.log_error is not None:
            logger.error("%s", comparison.log_error)
            record = {**record, "log_error": comparison.log_error}
        self._count(
            compared=1,
            matched=int(record["match"]),
            mismatched=int(not record["match"]),
            candidate_failed=int(comparison.candidate.outcome == "failed"),
        )
        self.compared.emit(record)

    def _count(self, **increments: int) -> None:
        self._stats = replace(
            self._stats,
            **{name: getattr(self._stats, name) + step for name, step in increments.items()},
        )


def _message(error: object) -> str:
    text = str(error).strip()
    return text if text else f"{type(error).__name__} raised with no message"


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _simplified_candidate(app: App, pool: QThreadPool, parent: QObject | None) -> Stack:
    from workerkit.simplified._stack import SimplifiedStack

    return SimplifiedStack(app, parent, pool=pool)
