"""The checklist's limits: budgets for compare rows and the shadow log's minimum.

One schema, from one of two places: the ```toml block under the "Budgets" heading of
MIGRATION.md, or an app's ``App(budgets=...)`` mapping of the same shape.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workerkit._app import App

__all__ = [
    "DEFAULT_MIN_COMPARED",
    "Budget",
    "Budgets",
    "app_budgets",
    "budgets_from",
    "find_budgets",
    "parse_budgets",
]

DEFAULT_MIN_COMPARED = 50

_BUDGETS_HEADING = re.compile(r"^#{1,6}\s+Budgets\s*$", re.MULTILINE)
_TOML_FENCE = re.compile(r"^```toml\s*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_BUDGET_KEYS = frozenset({"budgets", "shadow"})


@dataclass(frozen=True, slots=True)
class Budget:
    """The limit on compare rows: a minimum ratio, or a maximum simplified value.

    ``metric`` names the rows' metric; ``*`` in it matches any text.
    """

    worker: str
    metric: str
    min_ratio: float | None = None
    max_value: float | None = None
    unit: str | None = None

    def describe(self) -> str:
        """Return the limit as text, e.g. ``>= 2.0x`` or ``<= 50 ms``."""
        if self.min_ratio is not None:
            return f">= {self.min_ratio:g}x"
        return f"<= {self.max_value:g}{f' {self.unit}' if self.unit else ''}"


@dataclass(frozen=True, slots=True)
class Budgets:
    """Every metric budget, how many shadow comparisons a shadowable kind needs, and whence."""

    metrics: tuple[Budget, ...]
    min_compared: int = DEFAULT_MIN_COMPARED
    source: str = "MIGRATION.md's Budgets block"

    def of(self, worker: str) -> tuple[Budget, ...]:
        """Return the budgets of one compare worker."""
        return tuple(b for b in self.metrics if b.worker == worker)


def parse_budgets(text: str, source: str = "MIGRATION.md") -> Budgets:
    """Return the budgets of the first ```toml block under the "Budgets" heading of ``text``."""
    block = _budgets_block(text)
    if block is None:
        raise ValueError(
            f"{source} has no ```toml block under a '## Budgets' heading; the checklist reads "
            "its limits from there. Add the block (see workerkit's MIGRATION.md)."
        )
    try:
        document = tomllib.loads(block)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: the Budgets block is not valid TOML ({exc}).") from None
    return budgets_from(document, f"{source}'s Budgets block")


def app_budgets(app: App) -> Budgets:
    """Return the budgets an app declares in ``App(budgets=...)``.

    The mapping has the shape of the parsed Budgets block of MIGRATION.md:
    ``{"budgets": {worker: {metric: {"min_ratio": x} or {"max": y, "unit": u}}},
    "shadow": {"min_compared": n}}``; both keys are optional.
    """
    return budgets_from(app.budgets, f"{app.name}'s App(budgets=...)")


def budgets_from(document: Mapping[str, Any], source: str) -> Budgets:
    """Return the budgets of a parsed Budgets document; ``source`` names it in errors."""
    unknown = sorted(set(document) - _BUDGET_KEYS)
    if unknown:
        raise ValueError(
            f"{source}: unknown key(s) {', '.join(map(repr, unknown))}; expected 'budgets' "
            "(compare worker -> metric -> limit) and 'shadow' (min_compared)."
        )
    workers = document.get("budgets", {})
    metrics = tuple(
        _budget(worker, metric, limit, source)
        for worker, table in _table(workers, "[budgets]", source).items()
        for metric, limit in _table(table, f"[budgets.{worker}]", source).items()
    )
    shadow = _table(document.get("shadow", {}), "[shadow]", source)
    min_compared = shadow.get("min_compared", DEFAULT_MIN_COMPARED)
    if not isinstance(min_compared, int) or isinstance(min_compared, bool) or min_compared < 1:
        raise ValueError(
            f"{source}: [shadow] min_compared must be a positive integer, got {min_compared!r}."
        )
    return Budgets(metrics, min_compared, source)


def find_budgets(text: str, source: str, app: App) -> Budgets:
    """Return the Budgets block of MIGRATION.md, else the app's budgets, else none.

    Budgets are optional: without any, a benchmark gate asks only that the comparison ran
    and the simplified stack neither failed jobs nor hung nor crashed.
    """
    if _budgets_block(text) is not None:
        return parse_budgets(text, source)
    if app.budgets:
        return app_budgets(app)
    return Budgets(
        (), source=f"no budgets ({source} has no Budgets block, {app.name} no App(budgets=))"
    )


def _budgets_block(text: str) -> str | None:
    heading = _BUDGETS_HEADING.search(text)
    fence = _TOML_FENCE.search(text, heading.end()) if heading else None
    return fence.group(1) if fence else None


def _table(value: object, name: str, source: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{source}: {name} must be a table, got {value!r}.")
    return dict(value)


def _budget(worker: str, metric: str, limit: object, source: str) -> Budget:
    where = f"{source}: budget {worker}.{metric}"
    table = _table(limit, f"[budgets.{worker}] {metric}", source)
    unknown = set(table) - {"min_ratio", "max", "unit"}
    if unknown or ("min_ratio" in table) == ("max" in table):
        raise ValueError(
            f"{where} must hold exactly one of min_ratio or max (and optionally unit), "
            f"got {table!r}."
        )
    numbers = [v for k, v in table.items() if k != "unit"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
        raise ValueError(f"{where}: the limit must be a number, got {table!r}.")
    return Budget(worker, metric, table.get("min_ratio"), table.get("max"), table.get("unit"))
