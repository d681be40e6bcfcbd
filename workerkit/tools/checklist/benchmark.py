"""Decide a worker's benchmark gate: its compare rows against its budgets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workerkit.tools.checklist.compare_runs import CompareRun
from workerkit.tools.checklist.config import Budget
from workerkit.tools.checklist.evidence import Evidence
from workerkit.tools.checklist.gates import Gate, Status

__all__ = ["check_benchmark"]


def check_benchmark(evidence: Evidence, worker: str) -> Gate:
    """Pass when the simplified stack meets every budget of ``worker`` and never hung or crashed."""
    name = f"{worker} benchmark"
    run = evidence.compare_run(worker)
    if isinstance(run, str):
        return Gate(name, Status.NOT_RUN, run)
    budgets = evidence.budgets.of(worker)
    if not budgets:
        return _unbudgeted(name, run, worker, evidence.budgets.source)
    checked = [(b, row) for b in budgets for row in run.rows(worker, b.metric)]
    problems = [
        f"the compare run has no {worker} row matching {b.metric!r}"
        for b in budgets
        if not run.rows(worker, b.metric)
    ]
    legacy_failed = bool(run.failures(worker, "legacy"))
    problems += [
        p for b, row in checked if (p := _budget_problem(b, row, legacy_failed)) is not None
    ]
    problems += run.failures(worker, "simplified")
    if problems:
        return Gate(name, Status.FAIL, f"{'; '.join(problems)} ({run.describe()})")
    met = "; ".join(f"{_label(row)} {_measured(b, row)}" for b, row in checked)
    return Gate(name, Status.PASS, f"{met} ({run.describe()})")


def _unbudgeted(name: str, run: CompareRun, worker: str, source: str) -> Gate:
    failures = run.failures(worker, "simplified")
    if failures:
        return Gate(name, Status.FAIL, f"{'; '.join(failures)} ({run.describe()})")
    return Gate(
        name,
        Status.PASS,
        f"no budget set for {worker} ({source}); the simplified stack "
        f"ran without a failure, hang or crash ({run.describe()})",
    )


def _label(row: Mapping[str, Any]) -> str:
    return f"{row.get('worker')} '{row.get('metric')}'"


def _budget_problem(budget: Budget, row: Mapping[str, Any], legacy_failed: bool) -> str | None:
    label = _label(row)
    if budget.unit is not None and row.get("unit") != budget.unit:
        return f"{label} is measured in {row.get('unit')!r}, the budget in {budget.unit!r}"
    if budget.min_ratio is not None and _beats_failed_legacy(row, legacy_failed):
        return None
    value = row.get("ratio") if budget.min_ratio is not None else row.get("simplified")
    if not isinstance(value, int | float):
        what = "ratio" if budget.min_ratio is not None else "simplified value"
        legacy, simplified = row.get("legacy"), row.get("simplified")
        return f"{label} has no {what} (legacy {legacy}, simplified {simplified})"
    too_slow = budget.min_ratio is not None and value < budget.min_ratio
    too_high = budget.max_value is not None and value > budget.max_value
    if too_slow or too_high:
        return f"{label} is {_measured(budget, row)}, needs {budget.describe()}"
    return None


def _beats_failed_legacy(row: Mapping[str, Any], legacy_failed: bool) -> bool:
    # Legacy hung or crashed in every run (D11 deadlocks a burst), simplified measured:
    # no ratio exists, and simplified is better by any ratio.
    measured = isinstance(row.get("simplified"), int | float)
    return legacy_failed and row.get("legacy") is None and measured


def _measured(budget: Budget, row: Mapping[str, Any]) -> str:
    unit = f" {row['unit']}" if row.get("unit") else ""
    simplified = f"{_number(row['simplified'])}{unit}"
    if budget.min_ratio is None:
        return simplified
    if row.get("ratio") is None:
        return f"(legacy never finished, simplified {simplified})"
    legacy = f"{_number(row['legacy'])}{unit}"
    return f"{row['ratio']:.2f}x (legacy {legacy}, simplified {simplified})"


def _number(value: object) -> str:
    if not isinstance(value, int | float):
        return str(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"
