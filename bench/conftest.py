"""Fixtures for the pytest-benchmark modules: the shared dataset and a measured run.

Not collected by the default test run (pyproject's testpaths is ``tests``); run
``.venv/bin/python -m pytest bench -p no:cacheprovider`` (quick sizes) or add
``--workerkit-full`` for the issue's full sizes. Every run is a child process
under a watchdog, as in ``workerkit compare``: pytest-benchmark's own timing
therefore includes starting that process, and the workload's own figures are in
``extra_info``. A legacy hang or crash is reported as an expected failure that
names how often it happened; one of the simplified stack fails the test.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workerkit.tools.benchmarks.data import prepare_dataset
from workerkit.tools.benchmarks.plan import Sizes, runs_for, sizes_for, watchdog_for
from workerkit.tools.benchmarks.runner import RunResult, run_workload


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--workerkit-full",
        action="store_true",
        default=False,
        help="run the benchmark workloads at the issue's full sizes (slow)",
    )


@pytest.fixture(scope="session")
def sizes(request: pytest.FixtureRequest) -> Sizes:
    """Return the quick sizes, or the full ones with --workerkit-full."""
    return sizes_for(quick=not request.config.getoption("--workerkit-full"))


@pytest.fixture(scope="session")
def dataset_file(sizes: Sizes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prepare (or reuse from the cache) the comparison data and write its description."""
    dataset = prepare_dataset(sizes, log=lambda _line: None)
    return dataset.write(tmp_path_factory.mktemp("dataset") / "dataset.json")


Measure = Callable[..., dict[str, Any]]


@pytest.fixture
def measure(benchmark: Any, dataset_file: Path, sizes: Sizes, tmp_path: Path) -> Measure:
    """Return a function that benchmarks a workload on a stack and returns its median metrics."""

    def run(workload: str, stack: str) -> dict[str, Any]:
        results: list[RunResult] = []
        counter = iter(range(1_000))

        def once() -> None:
            folder = tmp_path / f"run-{next(counter)}"
            watchdog = watchdog_for(workload, sizes)
            results.append(run_workload(workload, stack, dataset_file, folder, watchdog))

        rounds = runs_for(workload, sizes)
        benchmark.group = workload
        benchmark.pedantic(once, rounds=rounds, iterations=1)
        return _judge(benchmark, stack, results)

    return run


def _judge(benchmark: Any, stack: str, results: list[RunResult]) -> dict[str, Any]:
    measured = [r for r in results if r.measured]
    benchmark.extra_info.update(
        {
            "stack": stack,
            "runs": len(results),
            "hangs": sum(r.status == "hung" for r in results),
            "crashes": sum(r.status in ("crashed", "error") for r in results),
            "exits": [r.exit for r in results],
            "notes": [r.note for r in results if r.note],
        }
    )
    metrics = _medians([r.metrics for r in measured])
    benchmark.extra_info.update(metrics)
    failed = len(results) - len(measured)
    if failed:
        what = f"{stack} hung or crashed in {failed} of {len(results)} runs: {results[-1].note}"
        if stack == "legacy":
            pytest.xfail(what)
        pytest.fail(what)
    return metrics


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return each numeric metric's median over the runs, and the last run's other values."""
    merged: dict[str, Any] = {}
    for key in {key for metrics in runs for key in metrics}:
        values = [m[key] for m in runs if key in m]
        numbers = sorted(
            v for v in values if isinstance(v, int | float) and not isinstance(v, bool)
        )
        merged[key] = numbers[len(numbers) // 2] if len(numbers) == len(values) else values[-1]
    return merged
