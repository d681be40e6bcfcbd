"""Test-suite results: a child pytest run of a suite's selection, and the cache of runs.

The suite's words go to pytest as its own ``-k`` expression, so the checklist runs
exactly the tests the printed ``pytest ... -k "..."`` command runs, and the outcomes
come from pytest's report log (pytest-reportlog), not from its terminal output.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from workerkit._app import Suite
from workerkit.tools.checklist.children import run_child, tail
from workerkit.tools.checklist.jsonfile import read_json_object
from workerkit.tools.checklist.options import Options
from workerkit.tools.checklist.reportlog import Outcomes, read_report_log

__all__ = [
    "SUITE_CACHE",
    "SUITE_TIMEOUT_S",
    "SuiteRecord",
    "cached_suite",
    "keyword_expression",
    "pytest_command",
    "run_suite",
]

SUITE_CACHE = "suites.json"
SUITE_TIMEOUT_S = 3600.0
REPORT_LOG_MODULE = "pytest_reportlog"
# pytest.ExitCode.NO_TESTS_COLLECTED; pytest is not imported here, the checklist without
# --run needs only the core install.
_NO_TESTS_COLLECTED = 5


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
        """Return the record cached as ``document``; a missing date makes it stale."""
        known = {name: document[name] for name in cls.__slots__ if name in document}
        return cls(**{"time": "an unknown date", "epoch": 0.0, "exit_code": -1, **known})

    def counts(self) -> str:
        """Return the counts as text, e.g. ``4 passed, 0 failed, 1 skipped``."""
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def cached_suite(options: Options, suite: Suite) -> SuiteRecord | None:
    """Return the cached record of ``suite`` from the last ``--run``, if any."""
    path = options.results_dir / SUITE_CACHE
    record = read_json_object(path).get(suite.name) if path.is_file() else None
    return SuiteRecord.from_json(record) if isinstance(record, dict) else None


def run_suite(options: Options, suite: Suite) -> SuiteRecord:
    """Run the suite's selection in a child pytest, cache the result and return it.

    Raises:
        ModuleNotFoundError: pytest-reportlog is not installed (the testing extra).
    """
    if options.python == sys.executable and find_spec(REPORT_LOG_MODULE) is None:
        raise ModuleNotFoundError(f"No module named {REPORT_LOG_MODULE!r}", name=REPORT_LOG_MODULE)
    started = time.time()
    record = _run(options, suite, started)
    _cache_suite(options, suite, record)
    return record


def keyword_expression(suite: Suite) -> str:
    """Return the suite's words as a pytest ``-k`` expression, as ``Suite.command`` shows it."""
    return " and ".join(suite.words)


def pytest_command(options: Options, suite: Suite, report_log: Path) -> list[str]:
    """Return the child pytest's command: the suite's paths and words, writing ``report_log``."""
    command = [options.python, "-m", "pytest", "-p", "no:cacheprovider", *_plugin_options()]
    command += [*suite.paths, "-q", f"--report-log={report_log}"]
    return [*command, "-k", keyword_expression(suite)] if suite.words else command


def _plugin_options() -> list[str]:
    # Named only when plugins are not loaded from their entry points: naming a plugin
    # pytest also loads that way would register it twice.
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return ["-p", f"{REPORT_LOG_MODULE}.plugin"]
    return []


def _run(options: Options, suite: Suite, started: float) -> SuiteRecord:
    missing = [p for p in suite.paths if not (options.root / p).exists()]
    if missing:
        error = f"{', '.join(missing)} does not exist under {options.root}"
        return SuiteRecord.started_at(started, -1, error=error)
    options.results_dir.mkdir(parents=True, exist_ok=True)
    report_log = (options.results_dir / f"{_slug(suite.name)}.jsonl").resolve()
    report_log.unlink(missing_ok=True)
    done = run_child(
        pytest_command(options, suite, report_log),
        timeout_s=SUITE_TIMEOUT_S,
        cwd=options.root,
        env=options.subprocess_env(),
    )
    if isinstance(done, str):
        return SuiteRecord.started_at(started, -1, error=done)
    if done.returncode == _NO_TESTS_COLLECTED:
        return SuiteRecord.started_at(started, done.returncode, error=_nothing_selected(suite))
    try:
        outcomes = read_report_log(report_log) if report_log.is_file() else Outcomes()
    except ValueError as exc:
        return SuiteRecord.started_at(started, done.returncode, error=str(exc))
    return SuiteRecord.started_at(started, done.returncode, tail=tail(done), **asdict(outcomes))


def _nothing_selected(suite: Suite) -> str:
    where = " ".join(suite.paths)
    if not suite.words:
        return f"pytest collected no test under {where}"
    return f'no test under {where} matches -k "{keyword_expression(suite)}"'


def _cache_suite(options: Options, suite: Suite, record: SuiteRecord) -> None:
    path = options.results_dir / SUITE_CACHE
    cache = read_json_object(path) if path.is_file() else {}
    cache[suite.name] = asdict(record)
    options.results_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cache, indent=2) + "\n", encoding="utf-8")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
