"""Test outcomes from pytest's report log, the JSON lines ``--report-log=FILE`` writes.

pytest-reportlog writes one JSON object a line: a ``TestReport`` for each phase (setup,
call, teardown) of each test that ran, a ``CollectReport`` for each collector, and
``SessionStart``/``SessionFinish``. Deselected tests appear in none of them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Outcomes", "count_outcomes", "read_report_log"]

# A test's worst phase decides it: a failed teardown fails a test whose call passed.
_RANK = {"passed": 0, "skipped": 1, "failed": 2}


@dataclass(frozen=True, slots=True)
class Outcomes:
    """How the tests of one pytest run came out, each test counted once.

    An expected failure (xfail) counts as skipped, an unexpected pass as passed unless
    the xfail is strict (then pytest fails it), and a collector that could not be
    collected (a test module that does not import) as one failure.
    """

    passed: int = 0
    failed: int = 0
    skipped: int = 0


def read_report_log(path: Path) -> Outcomes:
    """Return the outcomes in the report log at ``path``.

    Raises:
        ValueError: A line is no JSON object; the message names the file and the line.
    """
    return count_outcomes(_records(path))


def count_outcomes(records: Iterable[Mapping[str, Any]]) -> Outcomes:
    """Return the outcomes of report-log records, each test counted by its worst phase."""
    verdicts: dict[str, str] = {}
    broken_collectors = 0
    for record in records:
        report_type = record.get("$report_type")
        if report_type == "TestReport":
            verdict = _verdict(record)
            if verdict is not None:
                nodeid = str(record.get("nodeid"))
                verdicts[nodeid] = _worse(verdict, verdicts.get(nodeid, verdict))
        elif report_type == "CollectReport" and record.get("outcome") == "failed":
            broken_collectors += 1
    tally = Counter(verdicts.values())
    return Outcomes(tally["passed"], tally["failed"] + broken_collectors, tally["skipped"])


def _worse(one: str, other: str) -> str:
    return one if _RANK[one] >= _RANK[other] else other


def _verdict(record: Mapping[str, Any]) -> str | None:
    # A passed setup or teardown says nothing about the test; only its call passes it.
    outcome = record.get("outcome")
    if outcome not in _RANK or (outcome == "passed" and record.get("when") != "call"):
        return None
    return str(outcome)


def _records(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [_record(path, number, line) for number, line in enumerate(lines, 1) if line.strip()]


def _record(path: Path, number: int, line: str) -> dict[str, Any]:
    where = f"pytest report log {path}, line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: invalid JSON ({exc.msg}); run the suite again") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object; run the suite again")
    return record
