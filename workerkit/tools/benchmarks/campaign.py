"""Every run of a comparison, in order: stacks alternate so drift hits both alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from workerkit.tools.benchmarks.apps import AppTarget, KindWorkload
from workerkit.tools.benchmarks.plan import (
    FLOOR,
    MEASURED_FLOORS,
    PEER,
    PEER_WORKLOADS,
    STACKS,
    WORKLOADS,
    Sizes,
    runs_for,
    watchdog_for,
)
from workerkit.tools.benchmarks.runner import RunResult, run_workload

__all__ = ["PlannedRun", "plan_kind_runs", "plan_runs", "run_campaign"]

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """One process to start: a workload on a stack, the n-th time (``size``: a kind's jobs)."""

    worker: str
    workload: str
    stack: str
    index: int
    runs: int
    size: int | None = None


def plan_runs(workers: Sequence[str], sizes: Sizes, *, peer: bool = False) -> list[PlannedRun]:
    """Return the runs for ``workers``: per workload, run 1 of every stack, then run 2...

    With ``peer`` (superqt is importable), the peer workloads also run on the "peer" stack.
    """
    planned: list[PlannedRun] = []
    for worker in workers:
        for workload in WORKLOADS[worker]:
            stacks = _stacks(workload, peer=peer)
            planned += _alternating(worker, workload, stacks, runs_for(workload, sizes))
    return planned


def _stacks(workload: str, *, peer: bool) -> tuple[str, ...]:
    """Return the stacks ``workload`` runs on: both, then its floor and its peer if any."""
    floor = (FLOOR,) if workload in MEASURED_FLOORS else ()
    peers = (PEER,) if peer and workload in PEER_WORKLOADS else ()
    return (*STACKS, *floor, *peers)


def plan_kind_runs(kinds: Sequence[KindWorkload], sizes: Sizes) -> list[PlannedRun]:
    """Return the runs of the kinds' declared workloads, as many per stack as a plain workload."""
    return [
        run
        for kind in kinds
        for run in _alternating(kind.kind, kind.key, STACKS, sizes.runs, kind.size)
    ]


def _alternating(
    worker: str, workload: str, stacks: Sequence[str], runs: int, size: int | None = None
) -> list[PlannedRun]:
    planned: list[PlannedRun] = []
    for index in range(1, runs + 1):
        # Alternate which stack goes first, so neither always runs on a colder machine.
        order = stacks if index % 2 else (*reversed(STACKS), *stacks[len(STACKS) :])
        planned += [PlannedRun(worker, workload, s, index, runs, size) for s in order]
    return planned


def run_campaign(
    planned: Sequence[PlannedRun],
    dataset: Path | None,
    work: Path,
    sizes: Sizes,
    log: Log,
    app: AppTarget | None = None,
) -> list[tuple[PlannedRun, RunResult]]:
    """Run every planned process under the watchdog, logging one line per run.

    ``dataset`` may be None when no built-in workload is planned; ``app`` is where the
    children find the kinds of the runs that have a size.
    """
    done: list[tuple[PlannedRun, RunResult]] = []
    started = time.perf_counter()
    width = len(str(len(planned)))
    for number, run in enumerate(planned, start=1):
        folder = work / f"{number:03d}-{run.workload.replace('/', '-')}-{run.stack}"
        watchdog = watchdog_for(run.workload, sizes)
        declared = app if run.size is not None else None
        result = run_workload(
            run.workload, run.stack, dataset, folder, watchdog, app=declared, size=run.size
        )
        done.append((run, result))
        log(
            f"[{number:>{width}}/{len(planned)}] {run.worker:<12} {run.workload:<13} "
            f"{run.stack:<10} run {run.index}/{run.runs}  {result.seconds:6.1f} s  "
            f"{_describe(result)}  (total {time.perf_counter() - started:.0f} s)"
        )
    return done


def _describe(result: RunResult) -> str:
    if result.status == "ok":
        return "ok" if result.exit == "clean" else f"ok, then {result.exit} at exit"
    return f"{result.status.upper()}: {result.note.splitlines()[0][:120] if result.note else ''}"
