"""The migration checklist: each stage's gates, checked from flags, tests, benchmarks and logs.

The stages, their kinds and the budgets are the app's (``workerkit._app``, ``--app``):
an ``App(stages=..., budgets=...)`` declares them; an app without stages gets one
stage per kind and a last stage that removes legacy (``default_stages``). The
gates read the app's own test results, compare JSON and shadow log.

The checklist imports the app's declarations, which may load PySide6 modules (a
legacy worker is a QObject), but it never creates a QCoreApplication: it reads
files and, with ``--run``, starts pytest and ``workerkit compare`` in
subprocesses, so it needs no display.

Exit status: the *claimed* stage is the last stage the project says it has
reached (a stage that migrates kinds: one of its kinds' flags is ``simplified``;
a stage that migrates none: no kind can be routed to legacy any more), or stage
1 when it claims none. The command exits 0 iff every gate of every stage from 1
through the claimed stage passes.
"""

from __future__ import annotations

import argparse
import importlib.util
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
from typing import Any, TypedDict
from xml.etree import ElementTree

from workerkit import _stacks as stacks
from workerkit._app import APP_ENV, App, Stage, Suite, app_spec, load_app
from workerkit._shadow_log import DEFAULT_SHADOW_LOG as SHADOW_LOG_NAME
from workerkit._shadow_log import read_numbered_shadow_log
from workerkit.flags import CONFIG_FILE, Flag, FlagError, default_flags, env_var, resolve_flags
from workerkit.tools.loc_audit import LocAudit, audit_loc

__all__ = [
    "BEGIN_MARKER",
    "CONTRACT_DIR",
    "DEFAULT_COMPARE",
    "DEFAULT_MIGRATION",
    "DEFAULT_MIN_COMPARED",
    "DEFAULT_SHADOW_LOG",
    "END_MARKER",
    "RESULTS_DIR",
    "WATCHED_TREES",
    "Budget",
    "Budgets",
    "ChecklistReport",
    "Gate",
    "Options",
    "StageResult",
    "Status",
    "add_command",
    "app_budgets",
    "budgets_from",
    "contract_suite",
    "default_stages",
    "parse_budgets",
    "replace_status_block",
    "run_checklist",
    "stages_of",
]

BEGIN_MARKER = "<!-- checklist:begin -->"
END_MARKER = "<!-- checklist:end -->"
DEFAULT_MIGRATION = Path("MIGRATION.md")
DEFAULT_COMPARE = Path("workerkit-compare/compare.json")
DEFAULT_SHADOW_LOG = Path(SHADOW_LOG_NAME)
RESULTS_DIR = Path("workerkit-checklist")
DEFAULT_MIN_COMPARED = 50
CONTRACT_DIR = "tests/contract"
SUITE_CACHE = "suites.json"
# A cached test result older than any .py file in these trees of the project, or in the
# app's own package, is stale.
WATCHED_TREES: tuple[str, ...] = ("legacy", "simplified", "workerkit", "tests")
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
    """Every metric budget, how many shadow comparisons a shadowable kind needs, and whence."""

    metrics: tuple[Budget, ...]
    min_compared: int = DEFAULT_MIN_COMPARED
    source: str = "MIGRATION.md's Budgets block"

    def of(self, worker: str) -> tuple[Budget, ...]:
        """Return the budgets of one compare worker."""
        return tuple(b for b in self.metrics if b.worker == worker)


_BUDGETS_HEADING = re.compile(r"^#{1,6}\s+Budgets\s*$", re.MULTILINE)
_TOML_FENCE = re.compile(r"^```toml\s*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_BUDGET_KEYS = frozenset({"budgets", "shadow"})


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


# --- stages -----------------------------------------------------------------------------------


def stages_of(app: App) -> tuple[Stage, ...]:
    """Return the app's declared stages, or ``default_stages`` when it declares none."""
    return app.stages or default_stages(app)


def default_stages(app: App) -> tuple[Stage, ...]:
    """Return one stage per declared kind, in order, then one that removes legacy."""
    per_kind = tuple(
        Stage(number, f"migrate {name}", kinds=(name,))
        for number, name in enumerate(app.names, start=1)
    )
    last = Stage(len(per_kind) + 1, "removal of the legacy stack", removes_legacy=True)
    return (*per_kind, last)


def default_contract_tests(root: Path) -> tuple[str, ...]:
    """Return where the project's contract tests are.

    tests/contract if it exists, else every test file that subclasses ContractSuite (the
    guide's tests/test_contract.py), else tests/.
    """
    if (root / CONTRACT_DIR).is_dir():
        return (CONTRACT_DIR,)
    found = sorted(
        path.relative_to(root).as_posix()
        for path in root.glob("**/test*.py")
        if ".venv" not in path.parts and "ContractSuite" in path.read_text(errors="ignore")
    )
    return tuple(found) or ("tests",)


def contract_suite(kind: str, paths: Sequence[str] = (CONTRACT_DIR,)) -> Suite:
    """Return the simplified-stack part of the contract suite for ``kind``."""
    name = str(kind)  # a kind's name may be a StrEnum member; the words are plain text
    return Suite(f"{name} contract", tuple(paths), ("simplified", name))


@dataclass(frozen=True, slots=True)
class StageResult:
    """One stage's checked gates, and whether the project claims to have reached it."""

    spec: Stage
    gates: tuple[Gate, ...]
    claimed: bool

    @property
    def passed(self) -> bool:
        """Return True when every gate of the stage passed."""
        return all(gate.passed for gate in self.gates)


# --- options and evidence ---------------------------------------------------------------------


@dataclass(slots=True)
class Options:
    """Where the checklist looks for its facts, and whether it may run tests and benchmarks.

    ``app`` is the app's ``module:attribute`` (default: the configured app, see
    ``workerkit._app.load_app``); ``contract_tests`` are the test paths whose ids,
    selected by the words ``simplified`` and the kind, gate each kind.
    """

    migration: Path = DEFAULT_MIGRATION
    compare: Path | None = None
    shadow_log: Path = DEFAULT_SHADOW_LOG
    config: Path | None = None
    run: bool = False
    results_dir: Path = RESULTS_DIR
    env: Mapping[str, str] | None = None
    python: str = sys.executable
    compare_command: tuple[str, ...] | None = None
    app: str | None = None
    contract_tests: tuple[str, ...] = (CONTRACT_DIR,)

    @property
    def root(self) -> Path:
        """Return the project directory: the one MIGRATION.md is in."""
        return self.migration.resolve().parent

    def environment(self) -> Mapping[str, str]:
        """Return the environment the flags are read from."""
        return os.environ if self.env is None else self.env

    def subprocess_env(self) -> dict[str, str] | None:
        """Return the environment of pytest and compare runs: the app given, else inherited."""
        return None if self.app is None else {**os.environ, APP_ENV: self.app}


@dataclass(slots=True)
class Evidence:
    """Gather each fact once: the flags, the compare runs, the suite results, the shadow log."""

    options: Options
    app: App
    budgets: Budgets
    watched: tuple[Path, ...] = ()
    _flags: dict[str, Flag] | None = None
    _flag_error: str | None = None
    _compare_runs: dict[str, CompareRun | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self._flags = resolve_flags(
                self.app,
                env=self.options.environment(),
                toml_path=self.options.config,
                cwd=Path.cwd(),
            )
        except FlagError as exc:
            self._flag_error = str(exc)

    def flag(self, kind: str) -> Flag | str:
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


def watched_paths(root: Path, spec: str) -> tuple[Path, ...]:
    """Return the project's watched trees, then the app's own package if it is in the project.

    An app installed elsewhere changes only by reinstalling it; its package is not watched,
    so a cached result in one project does not depend on another tree's edits.
    """
    trees = [root / tree for tree in WATCHED_TREES]
    own = [path for path in app_sources(spec) if path.is_relative_to(root) and path != root]
    return tuple(dict.fromkeys([*trees, *own]))


def app_sources(spec: str) -> tuple[Path, ...]:
    """Return the folder(s) of the top-level package of ``module:attribute``, or its file."""
    top = spec.partition(":")[0].split(".")[0]
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return ()
    if found is None:
        return ()
    if found.submodule_search_locations:
        return tuple(Path(folder).resolve() for folder in found.submodule_search_locations)
    return (Path(found.origin).resolve(),) if found.origin else ()


# --- gate: flag -------------------------------------------------------------------------------


def check_flag(evidence: Evidence, kind: str) -> Gate:
    """Pass when ``kind``'s effective flag is simplified (shadow does not count)."""
    name = f"{kind} flag"
    flag = evidence.flag(kind)
    if isinstance(flag, str):
        return Gate(name, Status.FAIL, f"the flags cannot be read: {flag}")
    if flag.value == "simplified":
        return Gate(name, Status.PASS, f"simplified ({flag.source})")
    return Gate(name, Status.FAIL, _flag_reason(flag, evidence.options.config))


def _flag_reason(flag: Flag, config: Path | None) -> str:
    kind, env = flag.kind, env_var(flag.kind)
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
    record = run_suite(options, suite) if options.run else _cached_suite(evidence, suite)
    if isinstance(record, Gate):
        return record
    return _suite_gate(suite, record, cached=not options.run)


def check_contract(evidence: Evidence, suite: Suite) -> Gate:
    """Pass when the kind's simplified contract cases passed.

    Read from a --run, from the checklist's cache, or from the last pytest run that ran
    them (pytest's cache, ``workerkit/contract``): the printed command counts when run.
    """
    gate = check_suite(evidence, suite)
    if gate.status is not Status.NOT_RUN or evidence.options.run:
        return gate
    kind = suite.words[-1]
    record = _pytest_contract_record(evidence.options.root, kind)
    if record is None:
        return gate
    changed = _newer_source(evidence.options.root, evidence.watched, record.get("epoch", 0.0))
    if changed is not None:
        return Gate(
            suite.name,
            Status.NOT_RUN,
            f"the last pytest run of its contract cases ({record.get('time')}) is older than "
            f"{changed}; run `{suite.command()}` again",
        )
    passed, failed = record.get("passed", 0), record.get("failed", 0)
    counts = f"{passed} passed, {failed} failed, {record.get('skipped', 0)} skipped"
    status = Status.PASS if passed and not failed else Status.FAIL
    return Gate(suite.name, status, f"{counts} (pytest run of {record.get('time')})")


def _pytest_contract_record(root: Path, kind: str) -> Mapping[str, Any] | None:
    """Return the contract outcomes of ``kind`` on simplified from pytest's cache, if any."""
    from workerkit.testing.plugin import CONTRACT_CACHE

    path = root / ".pytest_cache" / "v" / CONTRACT_CACHE
    record = _read_json(path).get(f"{kind}/simplified") if path.is_file() else None
    return record if isinstance(record, dict) else None


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


def _cached_suite(evidence: Evidence, suite: Suite) -> Mapping[str, Any] | Gate:
    options = evidence.options
    path = options.results_dir / SUITE_CACHE
    record = _read_json(path).get(suite.name) if path.is_file() else None
    if not isinstance(record, dict):
        return Gate(
            suite.name,
            Status.NOT_RUN,
            f"not run; run `workerkit checklist --run` or `{suite.command()}`",
        )
    changed = _newer_source(options.root, evidence.watched, record.get("epoch", 0.0))
    if changed is not None:
        return Gate(
            suite.name,
            Status.NOT_RUN,
            f"the cached run of {record['time']} is older than {changed}; "
            "rerun with `workerkit checklist --run`",
        )
    return record


def _newer_source(root: Path, watched: Sequence[Path], epoch: float) -> str | None:
    for tree in watched:
        files = [tree] if tree.is_file() else tree.rglob("*.py")
        for path in files:
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
    counts: _Counts = (
        _junit_counts(junit) if junit.is_file() else {"passed": 0, "failed": 0, "skipped": 0}
    )
    return _suite_record(started, done.returncode, tail=_tail(done), **counts)


def _pytest(
    options: Options, arguments: list[str], timeout_s: float = 600.0
) -> subprocess.CompletedProcess[str] | str:
    command = [options.python, "-m", "pytest", "-p", "no:cacheprovider", *arguments]
    try:
        return subprocess.run(
            command,
            cwd=options.root,
            env=options.subprocess_env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return f"pytest did not finish within {timeout_s:g} s"


class _Counts(TypedDict):
    passed: int
    failed: int
    skipped: int


def _junit_counts(path: Path) -> _Counts:
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
        *(options.compare_command or (options.python, "-m", "workerkit.tools.compare")),
        *("--quick", "--workers", worker, "--out", str(folder), "--json", str(out)),
    ]
    try:
        done = subprocess.run(
            command,
            env=options.subprocess_env(),
            capture_output=True,
            text=True,
            timeout=COMPARE_TIMEOUT_S,
        )
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
    run = evidence.compare_run(worker)
    if isinstance(run, str):
        return Gate(name, Status.NOT_RUN, run)
    if not budgets:
        failures = _failures(run, worker, "simplified")
        if failures:
            return Gate(name, Status.FAIL, f"{'; '.join(failures)} ({run.describe()})")
        return Gate(
            name,
            Status.PASS,
            f"no budget set for {worker} ({evidence.budgets.source}); the simplified stack "
            f"ran without a failure, hang or crash ({run.describe()})",
        )
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


def check_shadow(evidence: Evidence, kind: str) -> Gate:
    """Pass when the shadow log compared enough ``kind`` requests and none mismatched."""
    name = f"{kind} shadow"
    path, needed = evidence.options.shadow_log, evidence.budgets.min_compared
    if not path.is_file():
        return Gate(
            name,
            Status.FAIL,
            f"no shadow log at {path}; run {kind} with {env_var(kind)}=shadow "
            f"for at least {needed} requests",
        )
    try:
        records = [(n, r) for n, r in read_numbered_shadow_log(path) if r["kind"] == kind]
    except ValueError as exc:
        return Gate(name, Status.FAIL, str(exc))
    mismatches = [(n, r) for n, r in records if not r["match"]]
    if mismatches:
        line, first = mismatches[0]
        differences = "; ".join(first.get("differences", [])[:2]) or "no differences recorded"
        return Gate(
            name,
            Status.FAIL,
            f"{len(mismatches)} of {len(records)} compared {kind} requests mismatched; "
            f"first at {path} line {line}: {differences}",
        )
    if len(records) < needed:
        return Gate(
            name,
            Status.FAIL,
            f"only {len(records)} compared {kind} requests in {path}, {needed} needed; "
            f"keep {env_var(kind)}=shadow longer",
        )
    return Gate(name, Status.PASS, f"{len(records)} compared, 0 mismatches ({path})")


# --- gate: no route to legacy -----------------------------------------------------------------


def check_no_legacy_route(evidence: Evidence, kind: str) -> Gate:
    """Pass when nothing configured or built in can send a ``kind`` job to the legacy stack."""
    name = f"{kind} cannot reach legacy"
    if "legacy" not in stacks.STACKS:
        return Gate(
            name, Status.PASS, "the legacy stack is no longer registered in workerkit._stacks"
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
            f"{kind} can still run on legacy: {'; '.join(routes)}. Declare "
            'App(..., default_stack="simplified") and make every flag source that names '
            "legacy say simplified (or drop it)",
        )
    sources = ", ".join(source for source, _ in _routes(evidence, kind))
    return Gate(name, Status.PASS, f"every source says simplified: {sources}")


def _routes(evidence: Evidence, kind: str) -> list[tuple[str, str]]:
    # A JobService routes the kinds a partial stacks mapping leaves out by the app's
    # default_stack too, so that source covers it.
    routes = [("the app's default_stack", default_flags(evidence.app)[kind].value)]
    flag = evidence.flag(kind)
    if isinstance(flag, str):
        routes.append(("the flag sources", f"nothing readable ({flag})"))
    else:
        routes += [(source, value) for source, value in _configured(evidence, kind)]
    return routes


def _configured(evidence: Evidence, kind: str) -> list[tuple[str, str]]:
    # Each configuration source on its own, so a lower one hidden by a higher one still shows.
    options = evidence.options
    found = []
    env_value = options.environment().get(env_var(kind), "")
    if env_value.strip():
        found.append((f"environment {env_var(kind)}", env_value.strip().lower()))
    toml_flag = resolve_flags(evidence.app, env={}, toml_path=options.config, cwd=Path.cwd())[kind]
    if toml_flag.source != "default":
        found.append((toml_flag.source, toml_flag.value))
    return found


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChecklistReport:
    """Every stage's gates, the code-size audit, the app they belong to, and the verdict."""

    stages: tuple[StageResult, ...]
    audit: LocAudit
    app: str = ""

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
        lines = [f"App: {self.app}", ""] if self.app else []
        for stage in self.stages:
            mark = "PASS" if stage.passed else "FAIL"
            claim = ", claimed" if stage.claimed else ""
            lines.append(f"Stage {stage.spec.number} - {stage.spec.title} [{mark}{claim}]")
            lines += [f"  [{g.status.value:>7}] {g.name}: {g.detail}" for g in stage.gates]
        summary = self.audit.summary() if self.audit.found else [_NOT_AUDITED]
        return [*lines, "", self.verdict(), "", "Code size (code lines):", *summary]

    def status_block(self) -> str:
        """Return the Markdown that goes between the checklist markers of MIGRATION.md."""
        rows = ["| stage | gate | status | detail |", "| --- | --- | --- | --- |"]
        for stage in self.stages:
            rows += [
                f"| {stage.spec.number} | {g.name} | {g.status.value} | {_cell(g.detail)} |"
                for g in stage.gates
            ]
        about = [f"App: {self.app}", ""] if self.app else []
        body = [
            "_Generated by `workerkit checklist --update`; edits here are overwritten._",
            "",
            *about,
            *rows,
            "",
            f"**{self.verdict()}**",
            "",
            "Code size, in code lines (`workerkit/tools/loc_audit.py`):",
            "",
            *(self.audit.lines() if self.audit.found else [_NOT_AUDITED]),
        ]
        return "\n".join(body) + "\n"


_NOT_AUDITED = (
    "- not audited: none of the audited files (workerkit's two stacks and the image "
    "library's workers) is in this project"
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --- running ----------------------------------------------------------------------------------


def run_checklist(options: Options) -> ChecklistReport:
    """Check every stage's gates of the app from the facts the options point at."""
    migration = _read_migration(options.migration)
    spec, source = app_spec(Path.cwd(), options.app)
    app = load_app(options.app, cwd=Path.cwd())
    budgets = find_budgets(migration, str(options.migration), app)
    evidence = Evidence(options, app, budgets, watched_paths(options.root, spec))
    routes = [check_no_legacy_route(evidence, kind) for kind in app.names]
    stages = tuple(
        StageResult(stage, _check_stage(evidence, stage, routes), _claims(evidence, stage, routes))
        for stage in stages_of(app)
    )
    about = f"{app.name} ({spec}, {source}); kinds: {', '.join(app.names)}"
    return ChecklistReport(stages, audit_loc(options.root), about)


def _check_stage(evidence: Evidence, spec: Stage, routes: list[Gate]) -> tuple[Gate, ...]:
    gates: list[Gate] = []
    contract = evidence.options.contract_tests
    for kind in spec.kinds:
        gates.append(check_flag(evidence, kind))
        gates.append(check_contract(evidence, contract_suite(kind, contract)))
        gates.append(check_benchmark(evidence, kind))
        if evidence.app.kind(kind).shadowable:
            gates.append(check_shadow(evidence, kind))
    if spec.removes_legacy:
        gates += routes
    gates += [check_benchmark(evidence, worker) for worker in spec.workers]
    gates += [check_suite(evidence, suite) for suite in spec.suites]
    return tuple(gates)


def _claims(evidence: Evidence, spec: Stage, routes: list[Gate]) -> bool:
    # A stage that migrates kinds is claimed by switching one of them; a stage that
    # migrates none (the last, usually) once no kind can reach legacy any more.
    if spec.kinds:
        return any(_is_simplified(evidence.flag(kind)) for kind in spec.kinds)
    return all(gate.passed for gate in routes)


def _is_simplified(flag: Flag | str) -> bool:
    return isinstance(flag, Flag) and flag.value == "simplified"


def _read_migration(path: Path) -> str:
    # An app may keep its budgets in App(budgets=...) and have no MIGRATION.md yet.
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


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
    command.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help=f"the app whose stages, kinds and budgets to check (default: ${APP_ENV}, else "
        "[tool.workerkit] app in workerkit.toml or pyproject.toml, else the image library)",
    )
    command.add_argument(
        "--contract-tests",
        action="append",
        metavar="PATH",
        help=f"the contract tests that gate each kind (repeatable; default {CONTRACT_DIR})",
    )
    command.set_defaults(handler=_cmd_checklist)


def _cmd_checklist(args: argparse.Namespace) -> int:
    options = Options(
        migration=args.migration,
        compare=args.compare,
        shadow_log=args.shadow_log,
        config=args.config,
        run=args.run,
        app=args.app,
        contract_tests=tuple(
            args.contract_tests or default_contract_tests(Path(args.migration).resolve().parent)
        ),
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
