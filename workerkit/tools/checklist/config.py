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
from workerkit._config import toml_error_position

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
# The schema, one table at a time: each key and what it holds.
_TOP_KEYS = {"budgets": "compare worker -> metric -> limit", "shadow": "min_compared"}
_SHADOW_KEYS = {"min_compared": "logged comparisons a shadowable kind needs"}
_LIMIT_KEYS = frozenset({"min_ratio", "max", "unit"})
_EXAMPLE = '"<metric>" = { min_ratio = 2.0 } or "<metric>" = { max = 1.0, unit = "ms" }'


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
    """Return the budgets of the first ```toml block under the "Budgets" heading of ``text``.

    Raises:
        ValueError: There is no such block, or it is not valid TOML, or it breaks the
            schema; the message names ``source``, the line or key, and the fix.
    """
    block = _budgets_block(text)
    if block is None:
        raise ValueError(
            f"{source} has no ```toml block under a '## Budgets' heading; the checklist reads "
            "its limits from there. Add the block (see workerkit's MIGRATION.md)."
        )
    return _parse_block(block, source)


def app_budgets(app: App) -> Budgets:
    """Return the budgets an app declares in ``App(budgets=...)``.

    The mapping has the shape of the parsed Budgets block of MIGRATION.md:
    ``{"budgets": {worker: {metric: {"min_ratio": x} or {"max": y, "unit": u}}},
    "shadow": {"min_compared": n}}``; both keys are optional.
    """
    return budgets_from(app.budgets, f"{app.name}'s App(budgets=...)")


def find_budgets(text: str, source: str, app: App) -> Budgets:
    """Return the Budgets block of MIGRATION.md, else the app's budgets, else none.

    Budgets are optional: without any, a benchmark gate asks only that the comparison ran
    and the simplified stack neither failed jobs nor hung nor crashed.
    """
    block = _budgets_block(text)
    if block is not None:
        return _parse_block(block, source)
    if app.budgets:
        return app_budgets(app)
    return Budgets(
        (), source=f"no budgets ({source} has no Budgets block, {app.name} no App(budgets=))"
    )


def budgets_from(document: Mapping[str, Any], source: str) -> Budgets:
    """Return the budgets of a parsed Budgets document; ``source`` names it in errors."""
    _check_keys(document, _TOP_KEYS, "the top level", source)
    workers = _table(document.get("budgets", {}), "[budgets]", source)
    metrics = tuple(
        _budget(str(worker), str(metric), limit, source)
        for worker, table in workers.items()
        for metric, limit in _table(table, f"[budgets.{worker}]", source).items()
    )
    return Budgets(metrics, _min_compared(document.get("shadow", {}), source), source)


@dataclass(frozen=True, slots=True)
class _Block:
    toml: str
    line: int  # the line of the file the TOML starts on


def _budgets_block(text: str) -> _Block | None:
    heading = _BUDGETS_HEADING.search(text)
    fence = _TOML_FENCE.search(text, heading.end()) if heading else None
    if fence is None:
        return None
    return _Block(fence.group(1), text.count("\n", 0, fence.start(1)) + 1)


def _parse_block(block: _Block, source: str) -> Budgets:
    try:
        document = tomllib.loads(block.toml)
    except tomllib.TOMLDecodeError as exc:
        reason, position = toml_error_position(exc)
        raise ValueError(
            f"{source}{_where(position, block)}: the Budgets block is not valid TOML "
            f"({reason}); fix the TOML there."
        ) from None
    return budgets_from(document, f"{source}'s Budgets block")


def _where(position: tuple[int, int] | None, block: _Block) -> str:
    # tomllib counts lines from the start of the block; the reader wants the file's line.
    if position is None:
        return f", the block from line {block.line}"
    line, column = position
    return f" line {block.line + line - 1}, column {column}"


def _check_keys(
    table: Mapping[str, Any], allowed: Mapping[str, str], where: str, source: str
) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        expected = " and ".join(f"{key!r} ({meaning})" for key, meaning in allowed.items())
        raise ValueError(
            f"{source}: unknown key(s) {', '.join(map(repr, unknown))} at {where}; "
            f"expected {expected}."
        )


def _table(value: object, name: str, source: str, fix: str = "") -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{source}: {name} must be a table, got {value!r}{fix}.")
    return dict(value)


def _min_compared(shadow: object, source: str) -> int:
    table = _table(shadow, "[shadow]", source)
    _check_keys(table, _SHADOW_KEYS, "[shadow]", source)
    value = table.get("min_compared", DEFAULT_MIN_COMPARED)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{source}: [shadow] min_compared must be a positive integer, got {value!r}; "
            "write e.g. min_compared = 50."
        )
    return value


def _budget(worker: str, metric: str, limit: object, source: str) -> Budget:
    key = f'[budgets.{worker}] "{metric}"'
    table = _table(limit, key, source, f"; write {_EXAMPLE}")
    if set(table) - _LIMIT_KEYS or ("min_ratio" in table) == ("max" in table):
        raise ValueError(
            f"{source}: {key} must hold exactly one of min_ratio or max (and optionally "
            f"unit), got {table!r}; write {_EXAMPLE}."
        )
    for name in ("min_ratio", "max"):
        if name in table and not _is_number(table[name]):
            raise ValueError(
                f"{source}: {key} {name} must be a number, got {table[name]!r}; write {_EXAMPLE}."
            )
    if not isinstance(table.get("unit", ""), str):
        raise ValueError(
            f"{source}: {key} unit must be a string, got {table['unit']!r}; write {_EXAMPLE}."
        )
    return Budget(worker, metric, table.get("min_ratio"), table.get("max"), table.get("unit"))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
