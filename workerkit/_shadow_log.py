"""The shadow log: one JSON line per comparison, appended by shadow mode, read by tools.

Qt-free, so that ``workerkit checklist`` reads the log without loading Qt.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_SHADOW_LOG",
    "append_record",
    "read_numbered_shadow_log",
    "read_shadow_log",
    "summarize_shadow_log",
]

DEFAULT_SHADOW_LOG = "workerkit-shadow.jsonl"

# Comparisons run on several pool threads; one write per record keeps lines whole and apart.
_LOG_LOCK = threading.Lock()


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` to the JSON-lines log at ``path`` in one write."""
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _LOG_LOCK, path.open("a", encoding="utf-8") as log:
        log.write(line)


def read_shadow_log(path: Path) -> list[dict[str, Any]]:
    """Return every record of the shadow log at ``path``; a missing log holds none."""
    return [record for _, record in read_numbered_shadow_log(path)]


def read_numbered_shadow_log(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Return every record of the shadow log at ``path`` with its line number.

    Raises:
        ValueError: A line is no JSON object with 'kind' and 'match'; the message names
            the file and the line.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [
        (number, _parse_line(path, number, line))
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]


def _parse_line(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"Shadow log {path}, line {number}: expected one JSON object, got invalid JSON "
            f"({exc.msg}); remove or fix that line."
        ) from None
    if not isinstance(record, dict) or "kind" not in record or "match" not in record:
        raise ValueError(
            f"Shadow log {path}, line {number}: expected an object with 'kind' and 'match'; "
            "remove or fix that line."
        )
    return record


def summarize_shadow_log(path: Path, kind: str) -> tuple[int, int]:
    """Return (compared, mismatches) of ``kind`` in the shadow log at ``path``."""
    name = str(kind).strip().lower()
    records = [r for r in read_shadow_log(path) if r["kind"] == name]
    return len(records), sum(not r["match"] for r in records)
