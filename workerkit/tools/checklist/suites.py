"""Test-suite results: a child pytest run of a suite's selection, and the cache of runs."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from workerkit._app import Suite
from workerkit.tools.checklist.children import run_child, tail
from workerkit.tools.checklist.jsonfile import read_json_object
from workerkit.tools.checklist.options import Options

__all__ = ["SUITE_CACHE", "SUITE_TIMEOUT_S", "SuiteRecord", "cached_suite", "run_suite"]

SUITE_CACHE = "suites.json"
SUITE_TIMEOUT_S = 3600.0
_COLLECT_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class SuiteRecord:
    """One run of a suite: when, pytest's exit status, the counts, and what went wrong."""

    time: str
    epoch: float
    exit_code: int
    error: str = ""
    tail: str = ""
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @classmethod
    def started_at(cls, epoch: float, exit_code: int, **details: Any) -> SuiteRecord:
        """Return the record of a run started at ``epoch`` (seconds since the epoch)."""
        when = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
        return cls(when, epoch, exit_code, **details)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> SuiteRecord:
        """Return the record cached as ``document``."""
        fields = {name: document[name] for name in cls.__slots__ if name in document}
        return cls(**fields)

    def counts(self) -> str:
        """Return the counts as text, e.g. ``4 passed, 0 failed, 1 skipped``."""
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def cached_suite(options: Options, suite: Suite) -> SuiteRecord | None:
    """Return the cached record of ``suite`` from the last ``--run``, if any."""
    path = options.results_dir / SUITE_CACHE
    record = read_json_object(path).get(suite.name) if path.is_file() else None
    return SuiteRecord.from_json(record) if isinstance(record, dict) else None


def run_suite(options: Options, suite: Suite) -> SuiteRecord:
    """Run the suite's selected tests in a child pytest, cache the result and return it."""
    started = time.time()
    # Collected again for every suite, just before it runs: a --run takes minutes, and
    # node ids collected earlier may be gone by then.
    selected = _select_tests(suite, collect_tests(options, suite.paths))
    if isinstance(selected, str):
        record = SuiteRecord.started_at(started, -1, error=selected)
    else:
        record = _run_selected(options, suite, selected, started)
    _cache_suite(options, suite, record)
    return record


def collect_tests(options: Options, paths: tuple[str, ...]) -> list[str] | str:
    """Return the node ids pytest collects under ``paths``, or why it could not."""
    missing = [p for p in paths if not (options.root / p).exists()]
    if missing:
        return f"{', '.join(missing)} does not exist under {options.root}"
    done = _pytest(options, [*paths, "--collect-only", "-q"], _COLLECT_TIMEOUT_S)
    if isinstance(done, str):
        return done
    if done.returncode not in (0, 5):
        return f"collecting {' '.join(paths)} failed (exit {done.returncode}): {tail(done)}"
    return [line for line in done.stdout.splitlines() if "::" in line]


def _select_tests(suite: Suite, ids: list[str] | str) -> list[str] | str:
    if isinstance(ids, str):
        return ids
    chosen = [node for node in ids if _has_words(node, suite.words)]
    if not chosen:
        words = " and ".join(repr(w) for w in suite.words) or "anything"
        return f"no test id under {' '.join(suite.paths)} names {words} ({len(ids)} collected)"
    return chosen


def _has_words(node_id: str, words: Sequence[str]) -> bool:
    # Whole words of the id, so "search" does not select "research"; a plural counts.
    found = set(re.split(r"[^a-z0-9]+", node_id.lower()))
    return all(word in found or f"{word}s" in found for word in words)


def _run_selected(
    options: Options, suite: Suite, selected: list[str], started: float
) -> SuiteRecord:
    options.results_dir.mkdir(parents=True, exist_ok=True)
    junit = (options.results_dir / f"{_slug(suite.name)}.xml").resolve()
    done = _pytest(options, [*selected, "-q", f"--junitxml={junit}"], SUITE_TIMEOUT_S)
    if isinstance(done, str):
        return SuiteRecord.started_at(started, -1, error=done)
    counts = _junit_counts(junit) if junit.is_file() else {}
    return SuiteRecord.started_at(started, done.returncode, tail=tail(done), **counts)


def _pytest(options: Options, arguments: list[str], timeout_s: float) -> Any:
    command = [options.python, "-m", "pytest", "-p", "no:cacheprovider", *arguments]
    return run_child(command, timeout_s=timeout_s, cwd=options.root, env=options.subprocess_env())


def _junit_counts(path: Path) -> dict[str, int]:
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in ElementTree.parse(path).getroot().iter("testsuite"):
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    failed = totals["failures"] + totals["errors"]
    passed = totals["tests"] - failed - totals["skipped"]
    return {"passed": passed, "failed": failed, "skipped": totals["skipped"]}


def _cache_suite(options: Options, suite: Suite, record: SuiteRecord) -> None:
    path = options.results_dir / SUITE_CACHE
    cache = read_json_object(path) if path.is_file() else {}
    cache[suite.name] = asdict(record)
    options.results_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cache, indent=2) + "\n", encoding="utf-8")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
