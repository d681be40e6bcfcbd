"""Turn the runs' metrics into report rows: legacy, simplified, floor, ratio, target, met.

A ratio above 1 always means the simplified stack did better: legacy/simplified
for lower-is-better metrics, simplified/legacy for higher-is-better ones.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from workerkit.benchmarks.campaign import PlannedRun
from workerkit.benchmarks.plan import FLOOR, WORKLOADS, Sizes
from workerkit.benchmarks.runner import RunResult

__all__ = ["Outcome", "Row", "build_outcomes", "build_rows", "ratio", "stacks_with_failures"]

Better = Literal["lower", "higher"]
Runs = Sequence[tuple[PlannedRun, RunResult]]
# (legacy, simplified, floor, ratio) -> met
Check = Callable[[float | None, float | None, float | None, float | None], bool | None]


@dataclass(frozen=True, slots=True)
class Row:
    """One metric of one worker on both stacks, with its floor, ratio and target."""

    worker: str
    metric: str
    unit: str
    legacy: float | None
    simplified: float | None
    floor: float | None
    ratio: float | None
    better: Better
    target: str | None
    met: bool | None

    def to_dict(self) -> dict[str, Any]:
        """Return the row in the report's JSON schema."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        """Build a row from its JSON form."""
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the runs of one workload on one stack ended."""

    worker: str
    stack: str
    runs: int
    hangs: int
    crashes: int
    note: str

    def to_dict(self) -> dict[str, Any]:
        """Return the outcome in the report's JSON schema."""
        return asdict(self)


def ratio(legacy: float | None, simplified: float | None, better: Better) -> float | None:
    """Return how many times better the simplified value is; None when it cannot be told."""
    if legacy is None or simplified is None:
        return None
    numerator, denominator = (legacy, simplified) if better == "lower" else (simplified, legacy)
    if denominator <= 0 or numerator < 0:
        return None
    return numerator / denominator


# --- targets -----------------------------------------------------------------------------


def _at_least(times: float) -> Check:
    return lambda legacy, simplified, floor, r: None if r is None else r >= times


def _at_most(limit: float) -> Check:
    return lambda legacy, simplified, floor, r: None if simplified is None else simplified <= limit


def _both(first: Check, second: Check) -> Check:
    def check(*values: float | None) -> bool | None:
        results = (first(*values), second(*values))
        if False in results:
            return False
        return None if None in results else True

    return check


def _within_floor(times: float) -> Check:
    """Simplified within ``times`` the floor (lower is better)."""
    return lambda legacy, simplified, floor, r: (
        None if simplified is None or floor is None else simplified <= times * floor
    )


def _share_of_floor(share: float) -> Check:
    """Simplified reaches ``share`` of the floor (higher is better)."""
    return lambda legacy, simplified, floor, r: (
        None if simplified is None or floor is None else simplified >= share * floor
    )


# --- building rows -----------------------------------------------------------------------


class _Table:
    """The runs' metrics by (workload, stack), reduced to one value per metric."""

    def __init__(self, runs: Runs) -> None:
        self._metrics: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for run, result in runs:
            if result.measured:
                self._metrics[run.workload, run.stack].append(result.metrics)

    def value(self, workload: str, stack: str, key: str, how: str = "median") -> float | None:
        values = [
            float(m[key])
            for m in self._metrics.get((workload, stack), [])
            if isinstance(m.get(key), int | float) and not isinstance(m.get(key), bool)
        ]
        if not values:
            return None
        if how == "p95":
            ordered = sorted(values)
            return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
        return statistics.median(values)

    def has(self, workload: str) -> bool:
        return any(w == workload for w, _ in self._metrics)


@dataclass(slots=True)
class _Builder:
    table: _Table
    rows: list[Row]

    def add(
        self,
        worker: str,
        workload: str,
        key: str,
        metric: str,
        unit: str,
        better: Better,
        *,
        how: str = "median",
        floor: float | None = None,
        target: tuple[str, Check] | None = None,
    ) -> None:
        legacy = self.table.value(workload, "legacy", key, how)
        simplified = self.table.value(workload, "simplified", key, how)
        r = ratio(legacy, simplified, better)
        text, check = target if target is not None else (None, None)
        met = check(legacy, simplified, floor, r) if check is not None else None
        self.rows.append(Row(worker, metric, unit, legacy, simplified, floor, r, better, text, met))


def build_rows(runs: Runs, workers: Sequence[str], sizes: Sizes, concurrency: int) -> list[Row]:
    """Return the report rows of ``workers`` from the runs' metrics."""
    builder = _Builder(_Table(runs), [])
    for worker in workers:
        _ROW_MAKERS[worker](builder, sizes, concurrency)
    return builder.rows


def _plumbing(b: _Builder, sizes: Sizes, concurrency: int) -> None:
    floor = b.table.value("roundtrip", FLOOR, "median_ms")
    b.add(
        "plumbing",
        "roundtrip",
        "median_ms",
        "no-op round trip, median",
        "ms",
        "lower",
        floor=floor,
        target=(">= 2x legacy and <= 3x floor", _both(_at_least(2.0), _within_floor(3.0))),
    )
    b.add(
        "plumbing",
        "roundtrip",
        "p95_ms",
        "no-op round trip, p95",
        "ms",
        "lower",
        floor=b.table.value("roundtrip", FLOOR, "p95_ms"),
    )
    b.add(
        "plumbing", "roundtrip", "signals_per_job", "round trip: signals per job", "count", "lower"
    )
    b.add(
        "plumbing",
        "burst",
        "wall_ms",
        "burst: wall time",
        "ms",
        "lower",
        target=(">= 1.8x legacy", _at_least(1.8)),
    )
    pool = b.table.value("burst", "simplified", "pool_size")
    limit = (pool or 0) + 2
    b.add(
        "plumbing",
        "burst",
        "peak_threads_added",
        "burst: peak threads added",
        "count",
        "lower",
        target=(f"<= pool size + 2 (= {limit:.0f})", _at_most(limit)) if pool else None,
    )
    b.add(
        "plumbing",
        "burst",
        "peak_rss_growth_mb",
        "burst: peak RSS growth",
        "MB",
        "lower",
        target=("<= 2 MB", _at_most(2.0)),
    )
    b.add("plumbing", "burst", "refused_starts", "burst: refused starts", "count", "lower")
    b.add("plumbing", "burst", "signals", "burst: signals to the GUI thread", "count", "lower")
    b.add("plumbing", "burst", "lag_max_ms", "burst: GUI lag, max", "ms", "lower")


def _registration(b: _Builder, sizes: Sizes, concurrency: int) -> None:
    b.add(
        "registration",
        "registration",
        "wall_s",
        "registration: wall time",
        "s",
        "lower",
        target=(">= 1.5x legacy", _at_least(1.5)),
    )
    _gui_rows(b, "registration", "registration", with_targets=True)


def _search(b: _Builder, sizes: Sizes, concurrency: int) -> None:
    b.add(
        "search",
        "search",
        "wall_ms",
        "queries: wall time",
        "ms",
        "lower",
        target=("no slower than legacy (>= 0.95x, noise margin)", _at_least(0.95)),
    )
    b.add("search", "search", "median_ms", "query: median latency", "ms", "lower")
    b.add("search", "search", "lag_max_ms", "GUI lag, max", "ms", "lower")


def _thumbnail(b: _Builder, sizes: Sizes, concurrency: int) -> None:
    b.add(
        "thumbnail",
        "thumbnail",
        "images_per_s",
        "thumbnails: throughput",
        "images/s",
        "higher",
        floor=b.table.value("thumbnail", FLOOR, "images_per_s"),
        target=(">= 4x legacy and >= 70% of floor", _both(_at_least(4.0), _share_of_floor(0.7))),
    )
    _gui_rows(b, "thumbnail", "thumbnail", with_targets=True)


def _annotation(b: _Builder, sizes: Sizes, concurrency: int) -> None:
    floor = sizes.annotations * sizes.annotation_latency_s / concurrency
    b.add(
        "annotation",
        "annotation",
        "wall_s",
        "annotation: wall time",
        "s",
        "lower",
        floor=floor if b.table.has("annotation") else None,
        target=(">= 6x legacy and <= 1.5x floor", _both(_at_least(6.0), _within_floor(1.5))),
    )
    _gui_rows(b, "annotation", "annotation", with_targets=False)


def _cancellation(b: _Builder, sizes: Sizes, concurrency: int) -> None:
    places = {
        "cancel-sqlite": "in a slow SQLite query",
        "cancel-http": f"in a {sizes.http_cancel_latency_s:g} s HTTP call",
        "cancel-loop": "in a registration loop",
    }
    for workload in WORKLOADS["cancellation"]:
        place = places[workload]
        b.add(
            "cancellation",
            workload,
            "blocked_ms",
            f"cancel {place}: GUI blocked, p95",
            "ms",
            "lower",
            how="p95",
            target=("<= 1 ms", _at_most(1.0)),
        )
        b.add(
            "cancellation",
            workload,
            "latency_ms",
            f"cancel {place}: to terminal signal, p95",
            "ms",
            "lower",
            how="p95",
            target=("<= 50 ms", _at_most(50.0)),
        )


def _gui_rows(b: _Builder, worker: str, workload: str, *, with_targets: bool) -> None:
    p99 = ("<= 16 ms", _at_most(16.0)) if with_targets else None
    peak = ("<= 50 ms", _at_most(50.0)) if with_targets else None
    b.add(worker, workload, "lag_p99_ms", f"{worker}: GUI lag, p99", "ms", "lower", target=p99)
    b.add(worker, workload, "lag_max_ms", f"{worker}: GUI lag, max", "ms", "lower", target=peak)
    b.add(worker, workload, "signals", f"{worker}: signals to the GUI thread", "count", "lower")


_ROW_MAKERS: dict[str, Callable[[_Builder, Sizes, int], None]] = {
    "plumbing": _plumbing,
    "registration": _registration,
    "search": _search,
    "thumbnail": _thumbnail,
    "annotation": _annotation,
    "cancellation": _cancellation,
}


# --- outcomes ----------------------------------------------------------------------------


def build_outcomes(runs: Runs) -> list[Outcome]:
    """Return how the runs of every (workload, stack) ended, with what is worth knowing."""
    grouped: dict[tuple[str, str, str], list[RunResult]] = defaultdict(list)
    for run, result in runs:
        grouped[run.worker, run.workload, run.stack].append(result)
    return [
        _outcome(worker, workload, stack, results)
        for (worker, workload, stack), results in grouped.items()
    ]


def _outcome(worker: str, workload: str, stack: str, results: list[RunResult]) -> Outcome:
    count = len(results)
    hangs = sum(r.status == "hung" for r in results)
    crashes = sum(r.status in ("crashed", "error") for r in results)
    parts = [f"{workload}: {count - hangs - crashes} of {count} runs measured"]
    if hangs:
        parts.append(f"hung in {hangs} of {count} runs")
    if crashes:
        parts.append(f"crashed or failed in {crashes} of {count} runs")
    for ending in ("hung", "crashed"):
        after = sum(r.measured and r.exit == ending for r in results)
        if after:
            parts.append(f"{ending} while shutting down after reporting in {after} of {count} runs")
    parts += _workload_facts(workload, [r.metrics for r in results if r.measured])
    notes = {r.note.splitlines()[0][:200] for r in results if r.note and not r.measured}
    parts += sorted(notes)
    return Outcome(worker, stack, count, hangs, crashes, "; ".join(parts))


def _workload_facts(workload: str, metrics: list[dict[str, Any]]) -> list[str]:
    if not metrics:
        return []
    if workload == "burst":
        refused = statistics.median(m.get("refused_starts", 0) for m in metrics)
        return (
            [f"median {refused:.0f} refused starts (ids collide within a second, D5)"]
            if (refused)
            else []
        )
    if workload.startswith("cancel-"):
        events = sorted({str(m.get("event")) for m in metrics})
        early = sum(bool(m.get("ended_before_cancel")) for m in metrics)
        facts = [f"first terminal event: {', '.join(events)}"]
        if early:
            facts.append(f"job ended before the cancel in {early} runs (latency not counted)")
        return facts
    return []


def stacks_with_failures(outcomes: Sequence[Outcome]) -> set[str]:
    """Return the stacks that hung, crashed or failed in any run."""
    return {o.stack for o in outcomes if o.hangs or o.crashes}
