"""Turn the runs' metrics into report rows: legacy, simplified, floor, ratio, target, met, peer.

A ratio above 1 always means the simplified stack did better: legacy/simplified
for lower-is-better metrics, simplified/legacy for higher-is-better ones. The peer
(superqt's create_worker, benchmarks/peers.py) gets its own ratio by the same rule,
on the rows of the workloads it runs.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from workerkit.tools.benchmarks.apps import JOB_ENDS, KindWorkload, is_kind_workload
from workerkit.tools.benchmarks.campaign import PlannedRun
from workerkit.tools.benchmarks.plan import FLOOR, PEER, PEER_WORKLOADS, Sizes
from workerkit.tools.benchmarks.runner import RunResult
from workerkit.tools.benchmarks.stats import percentile

__all__ = [
    "Outcome",
    "Row",
    "build_kind_rows",
    "build_outcomes",
    "build_rows",
    "ratio",
    "stacks_with_failures",
]

Better = Literal["lower", "higher"]
Runs = Sequence[tuple[PlannedRun, RunResult]]
# (legacy, simplified, floor, ratio) -> met
Check = Callable[[float | None, float | None, float | None, float | None], bool | None]
# A declared workload's rows: metric key, label, unit, which way is better.
_KIND_METRICS: tuple[tuple[str, str, str, Better], ...] = (
    ("wall_ms", "wall time", "ms", "lower"),
    ("median_ms", "job latency, median", "ms", "lower"),
    ("p95_ms", "job latency, p95", "ms", "lower"),
    ("lag_max_ms", "GUI lag, max", "ms", "lower"),
    ("finished", "jobs finished", "count", "higher"),
    ("failed", "jobs failed", "count", "lower"),
    ("canceled", "jobs canceled", "count", "lower"),
    ("peak_threads_added", "peak threads added", "count", "lower"),
    ("refused_starts", "refused starts", "count", "lower"),
)


@dataclass(frozen=True, slots=True)
class Row:
    """One metric of one worker on both stacks, with its floor, ratio, target and peer.

    ``peer`` is superqt's value and ``peer_ratio`` simplified against it (> 1: the
    simplified stack is better); both are None outside the peer workloads.
    """

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
    peer: float | None = None
    peer_ratio: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the row in the report's JSON schema."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        """Build a row from its JSON form."""
        # A missing field reads as None; the JSON values are not checked here.
        fields: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        return cls(**fields)


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
    """Return how many times better ``simplified`` is than ``legacy`` (or the peer); or None."""
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
        return percentile(values, 0.95) if how == "p95" else statistics.median(values)

    def has(self, workload: str) -> bool:
        return any(w == workload for w, _ in self._metrics)

    def unequal_work(self, workload: str) -> str | None:
        """Say why the stacks did not do the same work on ``workload``, or return None.

        A stack that refused starts (legacy ids collide within a second, D5) ran its jobs
        one after another where the other ran them at once; one that finished fewer jobs
        did less work. Either way a ratio of their times would compare unlike things.
        """
        reasons = []
        for stack in ("legacy", "simplified"):
            refused = self.value(workload, stack, "refused_starts")
            jobs = self.value(workload, stack, "jobs")
            if refused:
                of = f" of its {jobs:.0f} jobs" if jobs is not None else ""
                reasons.append(f"{stack} refused {refused:.0f} starts{of}, retried one by one")
        finished = [self.value(workload, stack, "finished") for stack in ("legacy", "simplified")]
        if None not in finished and finished[0] != finished[1]:
            reasons.append(f"jobs finished: legacy {finished[0]:g}, simplified {finished[1]:g}")
        return "; ".join(reasons) or None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Spec:
    """One report row: where its values come from and the issue's target for it."""

    worker: str
    workload: str
    key: str
    metric: str
    unit: str
    better: Better = "lower"
    how: str = "median"
    floor_key: str | None = None
    target: str | None = None
    check: Check | None = None


def _specs(sizes: Sizes, pool: float | None) -> list[_Spec]:
    """Return every row the report can hold, in report order."""
    threads = (pool or 0) + 2
    http = f"in a {sizes.http_cancel_latency_s:g} s HTTP call"
    places = {"cancel-sqlite": "in a slow SQLite query", "cancel-http": http,
              "cancel-loop": "in a registration loop"}  # fmt: skip
    rows = [
        _Spec(worker="plumbing", workload="roundtrip", key="median_ms", unit="ms",
              metric="no-op round trip, median", floor_key="median_ms",
              target=">= 2x legacy and <= 3x floor",
              check=_both(_at_least(2.0), _within_floor(3.0))),
        _Spec(worker="plumbing", workload="roundtrip", key="p95_ms", unit="ms",
              metric="no-op round trip, p95", floor_key="p95_ms"),
        _Spec(worker="plumbing", workload="roundtrip", key="signals_per_job", unit="count",
              metric="round trip: signals per job"),
        _Spec(worker="plumbing", workload="burst", key="wall_ms", unit="ms",
              metric="burst: wall time", target=">= 1.8x legacy", check=_at_least(1.8)),
        _Spec(worker="plumbing", workload="burst", key="peak_threads_added", unit="count",
              metric="burst: peak threads added",
              target=f"<= pool size + 2 (= {threads:.0f})" if pool else None,
              check=_at_most(threads) if pool else None),
        _Spec(worker="plumbing", workload="burst", key="peak_rss_growth_mb", unit="MB",
              metric="burst: peak RSS growth", target="<= 1 MB", check=_at_most(1.0)),
        _Spec(worker="plumbing", workload="burst", key="refused_starts", unit="count",
              metric="burst: refused starts"),
        _Spec(worker="plumbing", workload="burst", key="signals", unit="count",
              metric="burst: signals to the GUI thread"),
        _Spec(worker="plumbing", workload="burst", key="lag_max_ms", unit="ms",
              metric="burst: GUI lag, max"),
        _Spec(worker="registration", workload="registration", key="wall_s", unit="s",
              metric="registration: wall time", target=">= 1.5x legacy",
              check=_at_least(1.5)),
        *_gui_specs("registration", with_targets=True),
        _Spec(worker="search", workload="search", key="wall_ms", unit="ms",
              metric="queries: wall time",
              target="no slower than legacy (>= 0.95x)", check=_at_least(0.95)),
        _Spec(worker="search", workload="search", key="median_ms", unit="ms",
              metric="query: median latency"),
        _Spec(worker="search", workload="search", key="lag_max_ms", unit="ms",
              metric="search: GUI lag, max"),
        _Spec(worker="thumbnail", workload="thumbnail", key="images_per_s", unit="images/s",
              metric="thumbnails: throughput", better="higher", floor_key="images_per_s",
              target=">= 4x legacy and >= 70% of floor",
              check=_both(_at_least(4.0), _share_of_floor(0.7))),
        *_gui_specs("thumbnail", with_targets=True),
        _Spec(worker="annotation", workload="annotation", key="wall_s", unit="s",
              metric="annotation: wall time", floor_key="computed",
              target=">= 6x legacy and <= 1.5x floor",
              check=_both(_at_least(6.0), _within_floor(1.5))),
        *_gui_specs("annotation", with_targets=False),
    ]  # fmt: skip
    for workload, place in places.items():
        rows += [
            _Spec(worker="cancellation", workload=workload, key="blocked_ms", unit="ms",
                  how="p95", metric=f"cancel {place}: GUI blocked, p95",
                  target="<= 1 ms", check=_at_most(1.0)),
            _Spec(worker="cancellation", workload=workload, key="latency_ms", unit="ms",
                  how="p95", metric=f"cancel {place}: to terminal signal, p95",
                  target="<= 50 ms", check=_at_most(50.0)),
        ]  # fmt: skip
    return rows


def _gui_specs(worker: str, *, with_targets: bool) -> list[_Spec]:
    """Return the GUI lag and signal rows of a one-job workload named like its worker."""
    return [
        _Spec(worker=worker, workload=worker, key="lag_p99_ms", unit="ms",
              metric=f"{worker}: GUI lag, p99", target="<= 16 ms" if with_targets else None,
              check=_at_most(16.0) if with_targets else None),
        _Spec(worker=worker, workload=worker, key="lag_max_ms", unit="ms",
              metric=f"{worker}: GUI lag, max", target="<= 50 ms" if with_targets else None,
              check=_at_most(50.0) if with_targets else None),
        _Spec(worker=worker, workload=worker, key="signals", unit="count",
              metric=f"{worker}: signals to the GUI thread"),
    ]  # fmt: skip


def build_rows(runs: Runs, workers: Sequence[str], sizes: Sizes, concurrency: int) -> list[Row]:
    """Return the report rows of ``workers`` from the runs' metrics.

    ``concurrency`` is the simplified annotation's, for the N x latency / concurrency floor.
    """
    table = _Table(runs)
    computed = sizes.annotations * sizes.annotation_latency_s / concurrency
    specs = _specs(sizes, table.value("burst", "simplified", "pool_size"))
    return [_row(table, spec, computed) for spec in specs if spec.worker in workers]


def build_kind_rows(runs: Runs, kinds: Sequence[KindWorkload]) -> list[Row]:
    """Return the report rows of the kinds' declared workloads, worker = the kind's name."""
    table = _Table(runs)
    return [_row(table, spec) for kind in kinds for spec in _kind_specs(kind)]


def _kind_specs(kind: KindWorkload) -> list[_Spec]:
    """Return the rows of one declared workload: time, latency, GUI lag, threads, outcomes."""
    return [
        _kind_spec(kind, *metric)
        for metric in _KIND_METRICS
        # Refusals need jobs at once; one after another, the previous id is free again.
        if metric[0] != "refused_starts" or kind.in_flight != 1
    ]


def _kind_spec(kind: KindWorkload, key: str, label: str, unit: str, better: Better) -> _Spec:
    target, check = _KIND_TARGETS.get(key, (None, None))
    return _Spec(
        worker=kind.kind, workload=kind.key, key=key, metric=f"{kind.name}: {label}",
        unit=unit, better=better, target=target, check=check,
    )  # fmt: skip


def _no_more_than_legacy(
    legacy: float | None, simplified: float | None, _floor: float | None, _ratio: float | None
) -> bool | None:
    return None if legacy is None or simplified is None else simplified <= legacy


# A simplified stack that fails jobs legacy finishes must not pass for a fast one.
_KIND_TARGETS: dict[str, tuple[str | None, Check | None]] = {
    "failed": ("no more than legacy", _no_more_than_legacy),
}


def _row(table: _Table, spec: _Spec, computed_floor: float | None = None) -> Row:
    legacy = table.value(spec.workload, "legacy", spec.key, spec.how)
    simplified = table.value(spec.workload, "simplified", spec.key, spec.how)
    if spec.floor_key == "computed":
        floor = computed_floor if table.has(spec.workload) else None
    elif spec.floor_key is not None:
        floor = table.value(spec.workload, FLOOR, spec.floor_key, spec.how)
    else:
        floor = None
    r = ratio(legacy, simplified, spec.better)
    met = spec.check(legacy, simplified, floor, r) if spec.check is not None else None
    target = spec.target
    unequal = table.unequal_work(spec.workload)
    if unequal is not None and spec.key not in _OUTCOME_KEYS:
        # The outcome rows (refusals, jobs finished) say what happened; no ratio then.
        r, met, target = None, None, f"not compared: {unequal}"
    peer = (
        table.value(spec.workload, PEER, spec.key, spec.how)
        if spec.workload in PEER_WORKLOADS
        else None
    )
    return Row(
        spec.worker, spec.metric, spec.unit, legacy, simplified, floor, r, spec.better,
        target, met, peer, ratio(peer, simplified, spec.better),
    )  # fmt: skip


# Rows that report what happened rather than how fast: shown even over unequal work.
_OUTCOME_KEYS = frozenset({"refused_starts", "finished", "failed", "canceled"})


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
    if is_kind_workload(workload):
        ends = {e: statistics.median(m.get(e, 0) for m in metrics) for e in JOB_ENDS}
        jobs = statistics.median(m.get("jobs", 0) for m in metrics)
        told = ", ".join(f"{count:g} {event}" for event, count in ends.items())
        return [f"of {jobs:g} jobs per run (median): {told}"]
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
