"""Every run of a comparison, in order: stacks alternate so drift hits both alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from workerkit.benchmarks.plan import (
    FLOOR,
    MEASURED_FLOORS,
    STACKS,
    WORKLOADS,
    Sizes,
    runs_for,
    watchdog_for,
)
from workerkit.benchmarks.runner import RunResult, run_workload

__all__ = ["PlannedRun", "plan_runs", "run_campaign"]

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """One process to start: a workload on a stack, the n-th time."""

    worker: str
    workload: str
    stack: str
    index: int
    runs: int


def plan_runs(workers: Sequence[str], sizes: Sizes) -> list[PlannedRun]:
    """Return the runs for ``workers``: per workload, run 1 of every stack, then run 2..."""
    planned: list[PlannedRun] = []
    for worker in workers:
        for workload in WORKLOADS[worker]:
            runs = runs_for(workload, sizes)
            stacks = (*STACKS, FLOOR) if workload in MEASURED_FLOORS else STACKS
            for index in range(1, runs + 1):
                # Alternate which stack goes first, so neither always runs on a colder machine.
                order = stacks if index % 2 else (*reversed(STACKS), *stacks[len(STACKS) :])
                planned += [PlannedRun(worker, workload, s, index, runs) for s in order]
    return planned


def run_campaign(
    planned: Sequence[PlannedRun], dataset: Path, work: Path, sizes: Sizes, log: Log
) -> list[tuple[PlannedRun, RunResult]]:
    """Run every planned process under the watchdog, logging one line per run."""
    done: list[tuple[PlannedRun, RunResult]] = []
    started = time.perf_counter()
    width = len(str(len(planned)))
    for number, run in enumerate(planned, start=1):
        folder = work / f"{number:03d}-{run.workload}-{run.stack}"
        watchdog = watchdog_for(run.workload, sizes)
        result = run_workload(run.workload, run.stack, dataset, folder, watchdog)
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
