"""The migration checklist: each stage's gates, checked from flags, tests, benchmarks and logs.

No Qt here: the checklist reads files and, with ``--run``, starts pytest and
``workerkit compare`` in subprocesses, so it runs where Qt cannot.

Exit status: the *claimed* stage is the last stage the project says it has
reached (stage 1-3: one of its kinds' flags is ``simplified``; stage 4: no kind
can be routed to legacy any more), or stage 1 when it claims none. The command
exits 0 iff every gate of every stage from 1 through the claimed stage passes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from workerkit import stacks
from workerkit.flags import CONFIG_FILE, ENV_VARS, Flag, FlagError, default_flags, resolve_flags
from workerkit.kinds import READ_ONLY_KINDS, Kind
from workerkit.loc_audit import LocAudit, audit_loc

__all__ = [
    "BEGIN_MARKER",
    "DEFAULT_COMPARE",
    "DEFAULT_MIGRATION",
    "DEFAULT_MIN_COMPARED",
    "DEFAULT_SHADOW_LOG",
    "END_MARKER",
    "RESULTS_DIR",
    "STAGES",
    "Budget",
    "Budgets",
    "ChecklistReport",
    "Gate",
    "Options",
    "StageResult",
    "StageSpec",
    "Status",
    "Suite",
    "add_command",
    "parse_budgets",
    "replace_status_block",
    "run_checklist",
]

BEGIN_MARKER = "<!-- checklist:begin -->"
END_MARKER = "<!-- checklist:end -->"
DEFAULT_MIGRATION = Path("MIGRATION.md")
DEFAULT_COMPARE = Path("workerkit-compare/compare.json")
# Same default as workerkit.shadow.DEFAULT_SHADOW_LOG; that module imports Qt.
DEFAULT_SHADOW_LOG = Path("workerkit-shadow.jsonl")
RESULTS_DIR = Path("workerkit-checklist")
DEFAULT_MIN_COMPARED = 50
CONTRACT_DIR = "tests/contract"
SUITE_CACHE = "suites.json"
# The checklist watches these trees: a cached test result older than any file in them is stale.
WATCHED_TREES: tuple[str, ...] = ("simplified", "workerkit", "tests")
SUITE_TIMEOUT_S = 3600.0
COMPARE_TIMEOUT_S = 3600.0
_TAIL_LINES = 5
_TAIL_LINE_CHARS = 240


class Status(StrEnum):
    """Say how a gate came out; only ``pass`` counts as passed."""

    PASS = "pass"
    FAIL = "fail"
    NOT_RUN = "not run"


@dataclass(frozen=True, slots=True)
class Gate:
    """One checked gate: its name, its status and the evidence or the reason it failed."""

    name: str
    status: Status
    detail: str

    @property
    def passed(self) -> bool:
        """Return True when the gate passed."""
        return self.status is Status.PASS


# --- budgets ----------------------------------------------------------------------------------


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
    """Every metric budget, and how many shadow comparisons a read-only kind needs."""

    metrics: tuple[Budget, ...]
    min_compared: int = DEFAULT_MIN_COMPARED

    def of(self, worker: str) -> tuple[Budget, ...]:
        """Return the budgets of one compare worker."""
        return tuple(b for b in self.metrics if b.worker == worker)


_BUDGETS_HEADING = re.compile(r"^#{1,6}\s+Budgets\s*$", re.MULTILINE)
_TOML_FENCE = re.compile(r"^```toml\s*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def parse_budgets(text: str, source: str = "MIGRATION.md") -> Budgets:
    """Return the budgets of the first ```toml block under the "Budgets" heading of ``text``."""
    heading = _BUDGETS_HEADING.search(text)
    fence = _TOML_FENCE.search(text, heading.end()) if heading else None
    if fence is None:
        raise ValueError(
            f"{source} has no ```toml block under a '## Budgets' heading; the checklist reads "
            "its limits from there. Add the block (see workerkit's MIGRATION.md)."
        )
    try:
        document = tomllib.loads(fence.group(1))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: the Budgets block is not valid TOML ({exc}).") from None
    workers = document.get("budgets", {})
    metrics = tuple(
        _budget(worker, metric, limit, source)
        for worker, table in _table(workers, "[budgets]", source).items()
        for metric, limit in _table(table, f"[budgets.{worker}]", source).items()
    )
    shadow = _table(document.get("shadow", {}), "[shadow]", source)
    min_compared = shadow.get("min_compared", DEFAULT_MIN_COMPARED)
    if not isinstance(min_compared, int) or min_compared < 1:
        raise ValueError(
            f"{source}: [shadow] min_compared must be a positive integer, got {min_compared!r}."
        )
    return Budgets(metrics, min_compared)


def _table(value: object, name: str, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{source}: {name} in the Budgets block must be a table, got {value!r}.")
    return value


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


# --- stages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Suite:
    """A part of the test suite: test paths, and words every selected test id must contain."""

    name: str
    paths: tuple[str, ...]
    words: tuple[str, ...] = ()

    def command(self) -> str:
        """Return the pytest command that runs about the same selection by hand."""
        keyword = f' -k "{" and ".join(self.words)}"' if self.words else ""
        return f"pytest {' '.join(self.paths)}{keyword}"


@dataclass(frozen=True, slots=True)
class StageSpec:
    """What one stage migrates and which gates check it."""

    number: int
    title: str
    kinds: tuple[Kind, ...] = ()
    workers: tuple[str, ...] = ()
    suites: tuple[Suite, ...] = ()
    removes_legacy: bool = False


def contract_suite(kind: Kind) -> Suite:
    """Return the simplified-stack part of the contract suite for ``kind``."""
    return Suite(f"{kind.value} contract", (CONTRACT_DIR,), ("simplified", kind.value))


STAGES: tuple[StageSpec, ...] = (
    StageSpec(1, "proof of concept: search", kinds=(Kind.SEARCH,)),
    StageSpec(2, "thumbnails and registration", kinds=(Kind.THUMBNAIL, Kind.REGISTRATION)),
    StageSpec(
        3,
        "annotation, and removal of the legacy manager and base",
        kinds=(Kind.ANNOTATION,),
        removes_legacy=True,
    ),
    StageSpec(
        4,
        "optimisation: progress dialog, cancellation, performance",
        workers=("cancellation", "plumbing"),
        suites=(
            Suite("progress dialog", ("tests/test_progress_ui.py",)),
            Suite("whole contract suite", (CONTRACT_DIR,), ("simplified",)),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class StageResult:
    """One stage's checked gates, and whether the project claims to have reached it."""

    spec: StageSpec
    gates: tuple[Gate, ...]
    claimed: bool

    @property
    def passed(self) -> bool:
        """Return True when every gate of the stage passed."""
        return all(gate.passed for gate in self.gates)


# --- options and evidence ---------------------------------------------------------------------


@dataclass(slots=True)
class Options:
    """Where the checklist looks for its facts, and whether it may run tests and benchmarks."""

    migration: Path = DEFAULT_MIGRATION
    compare: Path | None = None
    shadow_log: Path = DEFAULT_SHADOW_LOG
    config: Path | None = None
    run: bool = False
    results_dir: Path = RESULTS_DIR
    env: Mapping[str, str] | None = None
    python: str = sys.executable
    compare_command: tuple[str, ...] | None = None

    @property
    def root(self) -> Path:
        """Return the project directory: the one MIGRATION.md is in."""
        return self.migration.resolve().parent

    def environment(self) -> Mapping[str, str]:
        """Return the environment the flags are read from."""
        return os.environ if self.env is None else self.env


@dataclass(slots=True)
class Evidence:
    """Gather each fact once: the flags, the compare runs, the suite results, the shadow log."""

    options: Options
    budgets: Budgets
    _flags: dict[Kind, Flag] | None = None
    _flag_error: str | None = None
    _compare_runs: dict[str, CompareRun | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self._flags = resolve_flags(
                env=self.options.environment(), toml_path=self.options.config, cwd=Path.cwd()
            )
        except FlagError as exc:
            self._flag_error = str(exc)

    def flag(self, kind: Kind) -> Flag | str:
        """Return the kind's effective flag, or why the flags cannot be read."""
        return self._flag_error or (self._flags or {})[kind]

    def compare_run(self, worker: str) -> CompareRun | str:
        """Return the compare run that measured ``worker``, or why there is none."""
        if worker not in self._compare_runs:
            self._compare_runs[worker] = (
                run_compare(self.options, worker)
                if self.options.run
                else find_compare(compare_candidates(self.options, worker), worker)
            )
        return self._compare_runs[worker]


# --- gate: flag -------------------------------------------------------------------------------


def check_flag(evidence: Evidence, kind: Kind) -> Gate:
    """Pass when ``kind``'s effective flag is simplified (shadow does not count)."""
    name = f"{kind.value} flag"
    flag = evidence.flag(kind)
    if isinstance(flag, str):
        return Gate(name, Status.FAIL, f"the flags cannot be read: {flag}")
    if flag.value == "simplified":
        return Gate(name, Status.PASS, f"simplified ({flag.source})")
    return Gate(name, Status.FAIL, _flag_reason(flag, evidence.options.config))


def _flag_reason(flag: Flag, config: Path | None) -> str:
    kind, env = flag.kind.value, ENV_VARS[flag.kind]
    toml = str(config) if config is not None else CONFIG_FILE
    served = "; shadow mode still serves legacy results" if flag.value == "shadow" else ""
    if flag.source.startswith("environment"):
        fix = f"set {env}=simplified (the environment overrides {toml})"
    else:
        fix = f'set {env}=simplified or [workers] {kind} = "simplified" in {toml}'
    return f"flag {kind} is {flag.value} ({flag.source}){served}; {fix}"


# --- gate: part of the test suite -------------------------------------------------------------


def check_suite(evidence: Evidence, suite: Suite) -> Gate:
    """Pass when the suite's selected tests passed: run now with --run, else from the cache."""
    options = evidence.options
    record = run_suite(options, suite) if options.run else _cached_suite(options, suite)
    if isinstance(record, Gate):
        return record
    return _suite_gate(suite, record, cached=not options.run)


def _suite_gate(suite: Suite, record: Mapping[str, Any], *, cached: bool) -> Gate:
    counts = f"{record['passed']} passed, {record['failed']} failed, {record['skipped']} skipped"
    when = f"{'cached run' if cached else 'run'} of {record['time']}"
    if record.get("error"):
        return Gate(suite.name, Status.FAIL, f"{record['error']} ({when})")
    if record["exit_code"] == 0 and record["failed"] == 0 and record["passed"] > 0:
        return Gate(suite.name, Status.PASS, f"{counts} ({when}: {suite.command()})")
    return Gate(
        suite.name,
        Status.FAIL,
        f"{suite.command()} exited {record['exit_code']}: {counts} ({when}); {record['tail']}",
    )


def _cached_suite(options: Options, suite: Suite) -> Mapping[str, Any] | Gate:
    path = options.results_dir / SUITE_CACHE
    record = _read_json(path).get(suite.name) if path.is_file() else None
    if not isinstance(record, dict):
        return Gate(
            suite.name,
            Status.NOT_RUN,
            f"not run; run `workerkit checklist --run` or `{suite.command()}`",
        )
    changed = _newer_source(options.root, record.get("epoch", 0.0))
    if changed is not None:
        return Gate(
            suite.name,
            Status.NOT_RUN,
            f"the cached run of {record['time']} is older than {changed}; "
            "rerun with `workerkit checklist --run`",
        )
    return record


def _newer_source(root: Path, epoch: float) -> str | None:
    for tree in WATCHED_TREES:
        for path in (root / tree).rglob("*.py"):
            if path.stat().st_mtime > epoch:
                return path.relative_to(root).as_posix()
    return None


def run_suite(options: Options, suite: Suite) -> Mapping[str, Any]:
    """Run the suite's selected tests in a subprocess, cache the result and return it."""
    started = time.time()
    # Collected again for every suite, just before it runs: a --run takes minutes, and
    # node ids collected earlier may be gone by then.
    selected = _select_tests(suite, collect_tests(options, suite.paths))
    if isinstance(selected, str):
        record = _suite_record(started, -1, error=selected)
    else:
        record = _run_selected(options, suite, selected, started)
    _cache_suite(options, suite, record)
    return record


def collect_tests(options: Options, paths: tuple[str, ...]) -> list[str] | str:
    """Return the node ids pytest collects under ``paths``, or why it could not."""
    missing = [p for p in paths if not (options.root / p).exists()]
    if missing:
        return f"{', '.join(missing)} does not exist under {options.root}"
    done = _pytest(options, [*paths, "--collect-only", "-q"])
    if isinstance(done, str):
        return done
    if done.returncode not in (0, 5):
        return f"collecting {' '.join(paths)} failed (exit {done.returncode}): {_tail(done)}"
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
) -> dict[str, Any]:
    options.results_dir.mkdir(parents=True, exist_ok=True)
    junit = (options.results_dir / f"{_slug(suite.name)}.xml").resolve()
    done = _pytest(options, [*selected, "-q", f"--junitxml={junit}"], SUITE_TIMEOUT_S)
    if isinstance(done, str):
        return _suite_record(started, -1, error=done)
    counts = _junit_counts(junit) if junit.is_file() else {"passed": 0, "failed": 0, "skipped": 0}
    return _suite_record(started, done.returncode, tail=_tail(done), **counts)


def _pytest(
    options: Options, arguments: list[str], timeout_s: float = 600.0
) -> subprocess.CompletedProcess[str] | str:
    command = [options.python, "-m", "pytest", "-p", "no:cacheprovider", *arguments]
    try:
        return subprocess.run(
            command, cwd=options.root, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return f"pytest did not finish within {timeout_s:g} s"


def _junit_counts(path: Path) -> dict[str, int]:
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in ElementTree.parse(path).getroot().iter("testsuite"):
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    failed = totals["failures"] + totals["errors"]
    passed = totals["tests"] - failed - totals["skipped"]
    return {"passed": passed, "failed": failed, "skipped": totals["skipped"]}


def _suite_record(
    started: float,
    exit_code: int,
    *,
    error: str = "",
    tail: str = "",
    passed: int = 0,
    failed: int = 0,
    skipped: int = 0,
) -> dict[str, Any]:
    return {
        "time": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "epoch": started,
        "exit_code": exit_code,
        "error": error,
        "tail": tail,
        "passed": passed,
        "failed": failed,
        "skipped": skipped,
    }


def _cache_suite(options: Options, suite: Suite, record: Mapping[str, Any]) -> None:
    path = options.results_dir / SUITE_CACHE
    cache = _read_json(path) if path.is_file() else {}
    cache[suite.name] = dict(record)
    options.results_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cache, indent=2) + "\n", encoding="utf-8")


def _tail(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return " | ".join(_shorten(line) for line in lines[-_TAIL_LINES:])


def _shorten(line: str) -> str:
    return line if len(line) <= _TAIL_LINE_CHARS else f"{line[: _TAIL_LINE_CHARS - 3]}..."


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# --- gate: benchmark budgets ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompareRun:
    """One compare JSON document and where it came from."""

    path: Path
    document: Mapping[str, Any]

    def measured(self, worker: str) -> bool:
        """Return True when the run has at least one row of ``worker``."""
        return any(row.get("worker") == worker for row in self.document.get("rows", []))

    def rows(self, worker: str, pattern: str) -> list[Mapping[str, Any]]:
        """Return the worker's rows whose metric matches ``pattern`` (``*`` matches anything)."""
        return [
            row
            for row in self.document.get("rows", [])
            if row.get("worker") == worker and fnmatchcase(str(row.get("metric")), pattern)
        ]

    def describe(self) -> str:
        """Return where and when the run was made."""
        quick = ", quick" if self.document.get("quick") else ""
        return f"{self.path}, {self.document.get('created', 'undated')}{quick}"


def compare_candidates(options: Options, worker: str) -> list[Path]:
    """Return the files that may hold ``worker``'s compare run.

    ``--compare`` names a file, or a folder searched for ``*.json`` at any depth;
    without it, the default compare output and this checklist's own ``--run``
    output for the worker.
    """
    if options.compare is None:
        return [DEFAULT_COMPARE, options.results_dir / f"compare-{worker}" / "compare.json"]
    if options.compare.is_dir():
        return sorted(options.compare.rglob("*.json"))
    return [options.compare]


def find_compare(paths: Sequence[Path], worker: str) -> CompareRun | str:
    """Return the newest compare run among ``paths`` that measured ``worker``, or why none."""
    existing = sorted((p for p in paths if p.is_file()), key=lambda p: -p.stat().st_mtime)
    if not existing:
        shown = " or ".join(str(p) for p in paths) or "the --compare folder"
        return (
            f"no compare JSON at {shown}; run `workerkit compare --quick --workers {worker}` "
            "or pass --run"
        )
    loaded = [load_compare(path) for path in existing]
    measured = [run for run in loaded if isinstance(run, CompareRun) and run.measured(worker)]
    if measured:
        return measured[0]
    problems = [run for run in loaded if isinstance(run, str)]
    return problems[0] if problems else f"no compare run in {existing[0]} measured {worker}"


def load_compare(path: Path) -> CompareRun | str:
    """Return the compare JSON at ``path``, or why it cannot be used."""
    try:
        document = _read_json(path)
    except ValueError as exc:
        return str(exc)
    if document.get("version") != 1 or not isinstance(document.get("rows"), list):
        return f"{path} is not a version-1 compare JSON with a 'rows' list"
    return CompareRun(path, document)


def run_compare(options: Options, worker: str) -> CompareRun | str:
    """Run ``workerkit compare --quick`` for one worker in a subprocess and load its JSON."""
    folder = (options.results_dir / f"compare-{worker}").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "compare.json"
    out.unlink(missing_ok=True)
    command = [
        *(options.compare_command or (options.python, "-m", "workerkit.compare")),
        *("--quick", "--workers", worker, "--out", str(folder), "--json", str(out)),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMPARE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"`{' '.join(command)}` did not finish within {COMPARE_TIMEOUT_S:g} s"
    if not out.is_file():
        return (
            f"`{' '.join(command)}` exited {done.returncode} without writing {out}: {_tail(done)}"
        )
    return load_compare(out)


def check_benchmark(evidence: Evidence, worker: str) -> Gate:
    """Pass when the simplified stack meets every budget of ``worker`` and never hung or crashed."""
    name = f"{worker} benchmark"
    budgets = evidence.budgets.of(worker)
    if not budgets:
        return Gate(name, Status.FAIL, f"MIGRATION.md's Budgets block has no [budgets.{worker}]")
    run = evidence.compare_run(worker)
    if isinstance(run, str):
        return Gate(name, Status.NOT_RUN, run)
    checked = [(b, row) for b in budgets for row in run.rows(worker, b.metric)]
    problems = [
        f"the compare run has no {worker} row matching {b.metric!r}"
        for b in budgets
        if not run.rows(worker, b.metric)
    ]
    legacy_failed = bool(_failures(run, worker, "legacy"))
    problems += [
        p for b, row in checked if (p := _budget_problem(b, row, legacy_failed)) is not None
    ]
    problems += _failures(run, worker, "simplified")
    if problems:
        return Gate(name, Status.FAIL, f"{'; '.join(problems)} ({run.describe()})")
    met = "; ".join(f"{_label(row)} {_measured(b, row)}" for b, row in checked)
    return Gate(name, Status.PASS, f"{met} ({run.describe()})")


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


def _failures(run: CompareRun, worker: str, stack: str) -> list[str]:
    failures = []
    for outcome in run.document.get("outcomes", []):
        if outcome.get("worker") == worker and outcome.get("stack") == stack:
            bad = {k: outcome.get(k, 0) for k in ("hangs", "crashes") if outcome.get(k, 0)}
            if bad:
                what = ", ".join(f"{count} {key}" for key, count in bad.items())
                failures.append(f"{stack} {worker}: {what} in {outcome.get('runs')} runs")
    return failures


# --- gate: shadow log -------------------------------------------------------------------------


def check_shadow(evidence: Evidence, kind: Kind) -> Gate:
    """Pass when the shadow log compared enough ``kind`` requests and none mismatched."""
    name = f"{kind.value} shadow"
    path, needed = evidence.options.shadow_log, evidence.budgets.min_compared
    if not path.is_file():
        return Gate(
            name,
            Status.FAIL,
            f"no shadow log at {path}; run {kind.value} with {ENV_VARS[kind]}=shadow "
            f"for at least {needed} requests",
        )
    try:
        records = [(n, r) for n, r in _shadow_records(path) if r["kind"] == kind.value]
    except ValueError as exc:
        return Gate(name, Status.FAIL, str(exc))
    mismatches = [(n, r) for n, r in records if not r["match"]]
    if mismatches:
        line, first = mismatches[0]
        differences = "; ".join(first.get("differences", [])[:2]) or "no differences recorded"
        return Gate(
            name,
            Status.FAIL,
            f"{len(mismatches)} of {len(records)} compared {kind.value} requests mismatched; "
            f"first at {path} line {line}: {differences}",
        )
    if len(records) < needed:
        return Gate(
            name,
            Status.FAIL,
            f"only {len(records)} compared {kind.value} requests in {path}, {needed} needed; "
            f"keep {ENV_VARS[kind]}=shadow longer",
        )
    return Gate(name, Status.PASS, f"{len(records)} compared, 0 mismatches ({path})")


def _shadow_records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    # workerkit.shadow.read_shadow_log does this too, but importing it loads Qt.
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"shadow log {path}, line {number} is not JSON ({exc.msg}); fix or remove it"
            ) from None
        if not isinstance(record, dict) or "kind" not in record or "match" not in record:
            raise ValueError(
                f"shadow log {path}, line {number} has no 'kind' and 'match'; fix or remove it"
            )
        records.append((number, record))
    return records


# --- gate: no route to legacy -----------------------------------------------------------------


def check_no_legacy_route(evidence: Evidence, kind: Kind) -> Gate:
    """Pass when nothing configured or built in can send a ``kind`` job to the legacy stack."""
    name = f"{kind.value} cannot reach legacy"
    if "legacy" not in stacks.STACKS:
        return Gate(
            name, Status.PASS, "the legacy stack is no longer registered in workerkit.stacks"
        )
    routes = [
        f"{source} says {value}"
        for source, value in _routes(evidence, kind)
        if value != "simplified"
    ]
    if routes:
        return Gate(
            name,
            Status.FAIL,
            f"{kind.value} can still run on legacy: {'; '.join(routes)}. Make every source "
            "say simplified (the built-in defaults too), or remove legacy from workerkit.stacks",
        )
    sources = ", ".join(source for source, _ in _routes(evidence, kind))
    return Gate(name, Status.PASS, f"every source says simplified: {sources}")


def _routes(evidence: Evidence, kind: Kind) -> list[tuple[str, str]]:
    routes = [("workerkit.flags default", default_flags()[kind].value)]
    service_default = _service_default(evidence.options.root)
    if service_default is not None:
        routes.append(("workerkit/service.py DEFAULT_STACK", service_default))
    flag = evidence.flag(kind)
    if isinstance(flag, str):
        routes.append(("the flag sources", f"nothing readable ({flag})"))
    else:
        routes += [(source, value) for source, value in _configured(evidence, kind)]
    return routes


def _configured(evidence: Evidence, kind: Kind) -> list[tuple[str, str]]:
    # Each configuration source on its own, so a lower one hidden by a higher one still shows.
    options = evidence.options
    found = []
    env_value = options.environment().get(ENV_VARS[kind], "")
    if env_value.strip():
        found.append((f"environment {ENV_VARS[kind]}", env_value.strip().lower()))
    toml_flag = resolve_flags(env={}, toml_path=options.config, cwd=Path.cwd())[kind]
    if toml_flag.source != "default":
        found.append((toml_flag.source, toml_flag.value))
    return found


def _service_default(root: Path) -> str | None:
    # Read, not imported: the service imports Qt. A WorkerService routes the kinds a
    # partial backends mapping leaves out to this stack, whatever the flags say.
    path = root / "workerkit" / "service.py"
    if not path.is_file():
        return None
    found = re.search(r'^DEFAULT_STACK\s*(?::\s*\w+\s*)?=\s*"(\w+)"', path.read_text("utf-8"), re.M)
    return found.group(1) if found else None


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChecklistReport:
    """Every stage's gates, the code-size audit, and the verdict."""

    stages: tuple[StageResult, ...]
    audit: LocAudit

    @property
    def current(self) -> StageResult | None:
        """Return the first stage whose gates do not all pass (None when all pass)."""
        return next((stage for stage in self.stages if not stage.passed), None)

    @property
    def claimed(self) -> int:
        """Return the number of the last stage the project claims to have reached, at least 1."""
        return max([1, *(s.spec.number for s in self.stages if s.claimed)])

    @property
    def exit_code(self) -> int:
        """Return 0 iff every gate of every stage up to and including the claimed one passes."""
        return int(not all(s.passed for s in self.stages if s.spec.number <= self.claimed))

    def verdict(self) -> str:
        """Return one line: the current stage, the claimed stage and what the exit status means."""
        current = self.current
        where = (
            "all stages pass"
            if current is None
            else f"current stage: {current.spec.number} ({current.spec.title})"
        )
        span = "stage 1" if self.claimed == 1 else f"stages 1 to {self.claimed}"
        outcome = "all pass" if self.exit_code == 0 else "do not all pass"
        return (
            f"{where}; claimed stage: {self.claimed}; the gates of {span} {outcome} "
            f"(exit {self.exit_code})"
        )

    def lines(self) -> list[str]:
        """Return the report for a terminal: stages, gates, verdict, then the code-size audit."""
        lines: list[str] = []
        for stage in self.stages:
            mark = "PASS" if stage.passed else "FAIL"
            claim = ", claimed" if stage.claimed else ""
            lines.append(f"Stage {stage.spec.number} - {stage.spec.title} [{mark}{claim}]")
            lines += [f"  [{g.status.value:>7}] {g.name}: {g.detail}" for g in stage.gates]
        lines += ["", self.verdict(), "", "Code size (code lines):", *self.audit.lines()[-4:]]
        return lines

    def status_block(self) -> str:
        """Return the Markdown that goes between the checklist markers of MIGRATION.md."""
        rows = ["| stage | gate | status | detail |", "| --- | --- | --- | --- |"]
        for stage in self.stages:
            rows += [
                f"| {stage.spec.number} | {g.name} | {g.status.value} | {_cell(g.detail)} |"
                for g in stage.gates
            ]
        body = [
            "_Generated by `workerkit checklist --update`; edits here are overwritten._",
            "",
            *rows,
            "",
            f"**{self.verdict()}**",
            "",
            "Code size, in code lines (`workerkit/loc_audit.py`):",
            "",
            *self.audit.lines(),
        ]
        return "\n".join(body) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --- running ----------------------------------------------------------------------------------


def run_checklist(options: Options) -> ChecklistReport:
    """Check every stage's gates from the facts the options point at."""
    migration = _read_migration(options.migration)
    evidence = Evidence(options, parse_budgets(migration, str(options.migration)))
    routes = [check_no_legacy_route(evidence, kind) for kind in Kind]
    stages = tuple(
        StageResult(spec, _check_stage(evidence, spec, routes), _claims(evidence, spec, routes))
        for spec in STAGES
    )
    return ChecklistReport(stages, audit_loc(options.root))


def _check_stage(evidence: Evidence, spec: StageSpec, routes: list[Gate]) -> tuple[Gate, ...]:
    gates: list[Gate] = []
    for kind in spec.kinds:
        gates += [check_flag(evidence, kind), check_suite(evidence, contract_suite(kind))]
        gates.append(check_benchmark(evidence, kind.value))
        if kind in READ_ONLY_KINDS:
            gates.append(check_shadow(evidence, kind))
    if spec.removes_legacy:
        gates += routes
    gates += [check_benchmark(evidence, worker) for worker in spec.workers]
    gates += [check_suite(evidence, suite) for suite in spec.suites]
    return tuple(gates)


def _claims(evidence: Evidence, spec: StageSpec, routes: list[Gate]) -> bool:
    # A stage that migrates kinds is claimed by switching one of them; the last stage,
    # which migrates none, once no kind can reach legacy any more.
    if spec.kinds:
        return any(_is_simplified(evidence.flag(kind)) for kind in spec.kinds)
    return all(gate.passed for gate in routes)


def _is_simplified(flag: Flag | str) -> bool:
    return isinstance(flag, Flag) and flag.value == "simplified"


def _read_migration(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"No migration checklist at {path}: run from the project directory or pass "
            "--migration PATH."
        ) from None


def replace_status_block(text: str, block: str) -> str:
    """Return ``text`` with everything between the checklist markers replaced by ``block``."""
    begin, end = text.find(BEGIN_MARKER), text.find(END_MARKER)
    if begin < 0 or end < begin or text.count(BEGIN_MARKER) != 1 or text.count(END_MARKER) != 1:
        raise ValueError(
            f"Expected one {BEGIN_MARKER} followed by one {END_MARKER} in the migration "
            "checklist; add them around the place the generated status should go."
        )
    start = begin + len(BEGIN_MARKER)
    return f"{text[:start]}\n{block}{text[end:]}"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); delete or regenerate it.") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path} should hold a JSON object; delete or regenerate it.")
    return document


# --- command line -----------------------------------------------------------------------------


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``workerkit checklist``: check each migration stage's gates."""
    command = subparsers.add_parser(
        "checklist", help="check the migration stages' gates (flags, tests, benchmarks, shadow)"
    )
    command.add_argument(
        "--run", action="store_true", help="run the test suites and quick compares now"
    )
    command.add_argument(
        "--update", action="store_true", help="rewrite the generated status block of MIGRATION.md"
    )
    command.add_argument(
        "--compare",
        type=Path,
        metavar="PATH",
        help=f"compare JSON, or a folder of them (default ./{DEFAULT_COMPARE} and the "
        f"output of --run in ./{RESULTS_DIR}; the newest that measured the worker counts)",
    )
    command.add_argument(
        "--shadow-log",
        type=Path,
        default=DEFAULT_SHADOW_LOG,
        metavar="PATH",
        help=f"shadow log (default ./{DEFAULT_SHADOW_LOG})",
    )
    command.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help=f"flag file (default ./{CONFIG_FILE} if it exists)",
    )
    command.add_argument(
        "--migration",
        type=Path,
        default=DEFAULT_MIGRATION,
        metavar="PATH",
        help=f"the checklist with the Budgets block (default ./{DEFAULT_MIGRATION})",
    )
    command.set_defaults(handler=_cmd_checklist)


def _cmd_checklist(args: argparse.Namespace) -> int:
    options = Options(
        migration=args.migration,
        compare=args.compare,
        shadow_log=args.shadow_log,
        config=args.config,
        run=args.run,
    )
    report = run_checklist(options)
    print("\n".join(report.lines()))
    if args.update:
        _update_migration(options.migration, report.status_block())
        print(f"updated the status block of {options.migration}")
    return report.exit_code


def _update_migration(path: Path, block: str) -> None:
    # Bytes in and out, so line endings and everything outside the markers stay as they were.
    text = path.read_bytes().decode("utf-8")
    path.write_bytes(replace_status_block(text, block).encode("utf-8"))
