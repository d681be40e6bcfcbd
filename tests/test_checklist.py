"""The migration checklist: each stage's gates from real files in a temporary project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from workerkit import _stacks as stacks
from workerkit._app import APP_ENV, Stage, load_app
from workerkit.flags import ENV_VARS
from workerkit.tools.checklist import (
    BEGIN_MARKER,
    END_MARKER,
    ChecklistReport,
    Options,
    Status,
    budgets_from,
    default_stages,
    parse_budgets,
    replace_status_block,
    run_checklist,
)
from workerkit.tools.checklist.render import status_block
from workerkit.tools.checklist.reportlog import Outcomes, read_report_log
from workerkit.tools.cli import build_parser

REPO = Path(__file__).resolve().parents[1]

BUDGETS = """\
## Budgets

```toml
[shadow]
min_compared = 3

[budgets.search]
"queries: wall time" = { min_ratio = 1.0 }

[budgets.thumbnail]
"thumbnails: throughput" = { min_ratio = 4.0 }

[budgets.registration]
"registration: wall time" = { min_ratio = 1.5 }

[budgets.annotation]
"annotation: wall time" = { min_ratio = 6.0 }

[budgets.plumbing]
"burst: wall time" = { min_ratio = 1.8 }

[budgets.cancellation]
"cancel *: GUI blocked, p95" = { max = 1.0, unit = "ms" }
```
"""

MIGRATION = f"""\
# Checklist

Text before the block.

{BUDGETS}
## Status

{BEGIN_MARKER}
old status
{END_MARKER}

## After
Text after the block.
"""

SEARCH = ("search", "queries: wall time")
SQLITE_BLOCKED = ("cancellation", "cancel in a slow SQLite query: GUI blocked, p95")
LOOP_BLOCKED = ("cancellation", "cancel in a registration loop: GUI blocked, p95")
PASSING_ROWS = {
    SEARCH: ("ms", 12.0, 10.0, 1.2),
    ("thumbnail", "thumbnails: throughput"): ("images/s", 20.0, 100.0, 5.0),
    ("registration", "registration: wall time"): ("s", 3.0, 1.5, 2.0),
    SQLITE_BLOCKED: ("ms", 2000.0, 0.2, 10000.0),
    LOOP_BLOCKED: ("ms", 0.5, 0.3, 1.7),
    ("annotation", "annotation: wall time"): ("s", 14.0, 2.0, 7.0),
    ("plumbing", "burst: wall time"): ("ms", 900.0, 300.0, 3.0),
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return an empty project directory holding MIGRATION.md, made the working directory."""
    for name in (*ENV_VARS.values(), APP_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "MIGRATION.md").write_text(MIGRATION, encoding="utf-8")
    return tmp_path


def write_flags(project: Path, **flags: str) -> None:
    """Write workerkit.toml with a [workers] table."""
    lines = [f'{kind} = "{value}"' for kind, value in flags.items()]
    (project / "workerkit.toml").write_text("[workers]\n" + "\n".join(lines) + "\n")


def write_compare(
    path: Path,
    rows: dict[tuple[str, str], tuple[str, float | None, float | None, float | None]],
    outcomes: Iterable[dict[str, Any]] = (),
) -> Path:
    """Write a version-1 compare JSON with these (worker, metric) rows."""
    document = {
        "version": 1,
        "created": "2025-01-01T00:00:00+00:00",
        "quick": True,
        "machine": {"cpus": 2},
        "library": "sample",
        "rows": [
            {
                "worker": worker,
                "metric": metric,
                "unit": unit,
                "legacy": legacy,
                "simplified": simplified,
                "floor": None,
                "ratio": ratio,
                "better": "lower",
                "target": None,
                "met": None,
            }
            for (worker, metric), (unit, legacy, simplified, ratio) in rows.items()
        ],
        "outcomes": list(outcomes),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def write_shadow(project: Path, kind: str, matches: Iterable[bool]) -> None:
    """Append one shadow-log record per entry of ``matches``."""
    with (project / "workerkit-shadow.jsonl").open("a", encoding="utf-8") as log:
        for number, match in enumerate(matches):
            record = {
                "time": "2025-01-01T00:00:00.000+00:00",
                "kind": kind,
                "match": match,
                "legacy_ms": 5.0,
                "simplified_ms": 4.0,
                "legacy_job": f"{kind}_{number}",
                "candidate_job": f"{kind}_c{number}",
                "differences": [] if match else [f"image {number} missing from simplified"],
            }
            log.write(json.dumps(record) + "\n")


def write_suite_cache(project: Path, **passed: bool) -> None:
    """Write cached suite results, as `--run` leaves them, dated now."""
    cache = {
        name.replace("_", " "): {
            "time": "2099-01-01T00:00:00+00:00",
            "epoch": 4.0e9,
            "exit_code": 0 if ok else 1,
            "error": "",
            "tail": "" if ok else "1 failed, 3 passed",
            "passed": 4 if ok else 3,
            "failed": 0 if ok else 1,
            "skipped": 0,
        }
        for name, ok in passed.items()
    }
    folder = project / "workerkit-checklist"
    folder.mkdir(exist_ok=True)
    (folder / "suites.json").write_text(json.dumps(cache), encoding="utf-8")


def make_stage_1_done(project: Path) -> None:
    """Give the project every fact stage 1 needs."""
    write_flags(project, search="simplified")
    write_suite_cache(project, search_contract=True)
    write_compare(project / "workerkit-compare" / "compare.json", PASSING_ROWS)
    write_shadow(project, "search", [True] * 3)


def gate(report: ChecklistReport, name: str) -> tuple[Status, str]:
    """Return the status and detail of the gate called ``name``."""
    for stage in report.stages:
        for found in stage.gates:
            if found.name == name:
                return found.status, found.detail
    raise AssertionError(f"no gate {name!r} in the report")


def check(**options: Any) -> ChecklistReport:
    """Run the checklist on the working directory."""
    return run_checklist(Options(env=options.pop("env", {}), **options))


def test_checklist_fresh_project_fails_stage_1_with_reasons(project: Path) -> None:
    report = check()

    assert report.current is not None and report.current.spec.number == 1
    assert report.claimed == 1
    assert report.exit_code == 1
    assert gate(report, "search flag") == (
        Status.FAIL,
        "flag search is legacy (default); set WORKERKIT_SEARCH=simplified or "
        '[workers] search = "simplified" in workerkit.toml',
    )
    assert gate(report, "search contract")[0] is Status.NOT_RUN
    status, detail = gate(report, "search benchmark")
    assert status is Status.NOT_RUN
    assert "no compare JSON at workerkit-compare/compare.json" in detail
    assert gate(report, "search shadow")[0] is Status.FAIL


def test_checklist_stage_1_done_exits_0_and_points_at_stage_2(project: Path) -> None:
    make_stage_1_done(project)

    report = check()

    assert report.stages[0].passed and report.stages[0].claimed
    assert report.current is not None and report.current.spec.number == 2
    assert report.claimed == 1
    assert report.exit_code == 0
    assert gate(report, "search flag") == (
        Status.PASS,
        "simplified (workerkit.toml [workers] search)",
    )
    assert gate(report, "search shadow")[1].startswith("3 compared, 0 mismatches")
    assert gate(report, "search benchmark")[1] == (
        "search 'queries: wall time' 1.20x (legacy 12.00 ms, simplified 10.00 ms) "
        "(workerkit-compare/compare.json, 2025-01-01T00:00:00+00:00, quick)"
    )


def test_checklist_claiming_stage_2_with_a_mismatch_exits_1(project: Path) -> None:
    make_stage_1_done(project)
    write_flags(project, search="simplified", thumbnail="simplified")
    write_shadow(project, "thumbnail", [True, True, False, True])

    report = check()

    assert report.claimed == 2
    assert report.exit_code == 1
    status, detail = gate(report, "thumbnail shadow")
    assert status is Status.FAIL
    assert detail == (
        "1 of 4 compared thumbnail requests mismatched; first at "
        "workerkit-shadow.jsonl line 6: image 2 missing from simplified"
    )


def test_checklist_skipping_stage_1_fails_on_stage_1(project: Path) -> None:
    write_flags(project, registration="simplified")
    write_suite_cache(project, registration_contract=True)
    write_compare(project / "workerkit-compare" / "compare.json", PASSING_ROWS)

    report = check()

    assert gate(report, "registration flag")[0] is Status.PASS
    assert report.claimed == 2
    assert report.current is not None and report.current.spec.number == 1
    assert report.exit_code == 1


def test_checklist_benchmark_below_budget_names_the_ratio(project: Path) -> None:
    make_stage_1_done(project)
    write_compare(
        project / "workerkit-compare" / "compare.json",
        {SEARCH: ("ms", 8.0, 10.0, 0.8)},
    )

    report = check()

    status, detail = gate(report, "search benchmark")
    assert status is Status.FAIL
    assert detail.startswith(
        "search 'queries: wall time' is 0.80x (legacy 8.00 ms, simplified 10.00 ms), needs >= 1x ("
    )
    assert report.exit_code == 1


@pytest.mark.parametrize(
    ("row", "outcomes", "reason"),
    [
        (None, [], "the compare run has no search row matching 'queries: wall time'"),
        (
            ("ms", None, 10.0, None),
            [],
            "search 'queries: wall time' has no ratio (legacy None, simplified 10.0)",
        ),
        (
            ("ms", 12.0, 10.0, 1.2),
            [{"worker": "search", "stack": "simplified", "runs": 3, "hangs": 1, "crashes": 0}],
            "simplified search: 1 hangs in 3 runs",
        ),
    ],
)
def test_checklist_benchmark_without_a_usable_row_fails(
    project: Path,
    row: tuple[str, float | None, float, float | None] | None,
    outcomes: list[dict[str, Any]],
    reason: str,
) -> None:
    other = ("search", "query: median latency")
    rows = {other: ("ms", 5.0, 4.0, 1.25)} if row is None else {SEARCH: row}
    write_compare(project / "workerkit-compare" / "compare.json", rows, outcomes)

    status, detail = gate(check(), "search benchmark")

    assert status is Status.FAIL
    assert reason in detail


def test_checklist_ratio_budget_is_met_when_legacy_never_finished(project: Path) -> None:
    burst = ("plumbing", "burst: wall time")
    legacy_hung = {"worker": "plumbing", "stack": "legacy", "runs": 1, "hangs": 1, "crashes": 0}
    path = write_compare(project / "c.json", {burst: ("ms", None, 300.0, None)}, [legacy_hung])

    status, detail = gate(check(compare=path), "plumbing benchmark")

    assert status is Status.PASS
    assert detail.startswith(
        "plumbing 'burst: wall time' (legacy never finished, simplified 300 ms) ("
    )


def test_checklist_limit_budget_checks_every_matching_row(project: Path) -> None:
    path = project / "c.json"
    write_compare(
        path, {SQLITE_BLOCKED: ("ms", 2000.0, 0.2, 10000.0), LOOP_BLOCKED: ("ms", 1.0, 1.5, 0.7)}
    )
    status, detail = gate(check(compare=path), "cancellation benchmark")
    assert status is Status.FAIL
    assert detail.startswith(
        "cancellation 'cancel in a registration loop: GUI blocked, p95' is 1.50 ms, needs <= 1 ms ("
    )

    write_compare(path, {SQLITE_BLOCKED: ("s", 2.0, 0.0005, 4000.0)})
    assert (
        "cancellation 'cancel in a slow SQLite query: GUI blocked, p95' is measured in 's', "
        "the budget in 'ms'"
    ) in gate(check(compare=path), "cancellation benchmark")[1]


def test_checklist_compare_folder_uses_the_newest_run_of_the_worker(project: Path) -> None:
    folder = project / "runs"
    slow = write_compare(folder / "a.json", {SEARCH: ("ms", 8.0, 10.0, 0.8)})
    fast = write_compare(folder / "deeper" / "b.json", {SEARCH: ("ms", 12.0, 10.0, 1.2)})
    other = write_compare(folder / "c.json", {LOOP_BLOCKED: ("ms", 0.5, 0.3, 1.7)})
    for path, mtime in ((slow, 1_000_000_000), (fast, 2_000_000_000), (other, 3_000_000_000)):
        os.utime(path, (mtime, mtime))

    status, detail = gate(check(compare=folder), "search benchmark")

    assert status is Status.PASS
    assert "deeper/b.json" in detail


def test_checklist_default_compare_includes_the_run_output(project: Path) -> None:
    results = project / "workerkit-checklist" / "compare-search" / "compare.json"
    write_compare(results, {SEARCH: ("ms", 8.0, 10.0, 0.8)})

    status, detail = gate(check(), "search benchmark")

    assert status is Status.FAIL
    assert "workerkit-checklist/compare-search/compare.json" in detail


def test_checklist_compare_without_the_worker_is_not_run(project: Path) -> None:
    path = write_compare(project / "c.json", {LOOP_BLOCKED: ("ms", 0.5, 0.3, 1.7)})

    assert gate(check(compare=path), "search benchmark") == (
        Status.NOT_RUN,
        f"no compare run in {path} measured search",
    )


def test_checklist_shadow_flag_does_not_count(project: Path) -> None:
    write_flags(project, search="simplified")

    report = check(env={"WORKERKIT_SEARCH": "shadow"})

    assert gate(report, "search flag") == (
        Status.FAIL,
        "flag search is shadow (environment WORKERKIT_SEARCH); shadow mode still serves legacy "
        "results; set WORKERKIT_SEARCH=simplified (the environment overrides workerkit.toml)",
    )
    assert report.claimed == 1


def test_checklist_shadow_needs_min_compared_requests(project: Path) -> None:
    write_shadow(project, "search", [True, True])
    write_shadow(project, "thumbnail", [True] * 5)

    status, detail = gate(check(), "search shadow")

    assert status is Status.FAIL
    assert detail == (
        "only 2 compared search requests in workerkit-shadow.jsonl, 3 needed; "
        "keep WORKERKIT_SEARCH=shadow longer"
    )


def test_checklist_shadow_log_with_a_broken_line_fails_the_gate(project: Path) -> None:
    write_shadow(project, "search", [True] * 3)
    with (project / "workerkit-shadow.jsonl").open("a") as log:
        log.write("{not json\n")

    status, detail = gate(check(), "search shadow")

    assert status is Status.FAIL
    assert detail.startswith("Shadow log workerkit-shadow.jsonl, line 4: expected one JSON object")


def test_checklist_bad_flag_file_fails_every_flag_gate(project: Path) -> None:
    write_flags(project, registration="shadow")

    report = check()

    status, detail = gate(report, "search flag")
    assert status is Status.FAIL
    assert detail.startswith("the flags cannot be read: The registration flag")


def test_checklist_legacy_route_lists_every_source_that_says_legacy(project: Path) -> None:
    write_flags(project, annotation="legacy")

    status, detail = gate(
        check(env={"WORKERKIT_ANNOTATION": "simplified"}), "annotation cannot reach legacy"
    )

    assert status is Status.FAIL
    assert detail.startswith(
        "annotation can still run on legacy: the app's default_stack says legacy; "
        "workerkit.toml [workers] annotation says legacy. Declare "
        'App(..., default_stack="simplified") and make every flag source that names legacy '
        "say simplified (or drop it)"
    )


def test_checklist_legacy_route_passes_when_every_source_says_simplified(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from workerkit.imagelib import kinds

    write_flags(project, search="simplified")
    done = dataclasses.replace(kinds.app, default_stack="simplified")
    monkeypatch.setattr(kinds, "app", done)

    status, detail = gate(
        check(env={"WORKERKIT_SEARCH": "simplified"}), "search cannot reach legacy"
    )

    assert status is Status.PASS
    assert detail == (
        "every source says simplified: the app's default_stack, environment WORKERKIT_SEARCH, "
        "workerkit.toml [workers] search"
    )


def test_checklist_unregistered_legacy_claims_stage_4(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stacks, "STACKS", ("simplified",))

    report = check()

    assert gate(report, "search cannot reach legacy") == (
        Status.PASS,
        "the legacy stack is no longer registered in workerkit._stacks",
    )
    assert report.stages[3].claimed
    assert report.claimed == 4
    assert report.exit_code == 1


def test_checklist_every_gate_passing_exits_0_with_no_current_stage(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stacks, "STACKS", ("simplified",))
    make_stage_1_done(project)
    # Every kind the image library declares, so that a kind added to it needs no edit here.
    app = load_app("workerkit.imagelib.kinds:app")
    kinds = app.names
    write_flags(project, **dict.fromkeys(kinds, "simplified"))
    suites = [f"{kind}_contract" for kind in kinds] + ["progress_dialog", "whole_contract_suite"]
    write_suite_cache(project, **dict.fromkeys(suites, True))
    for kind in kinds:
        if kind != "search" and app.kind(kind).shadowable:
            write_shadow(project, kind, [True] * 3)
    measured = {worker for worker, _ in PASSING_ROWS}
    unbudgeted = {(k, f"{k}: wall time"): ("s", 2.0, 1.0, 2.0) for k in kinds if k not in measured}
    write_compare(project / "workerkit-compare" / "compare.json", PASSING_ROWS | unbudgeted)

    report = check()

    failing = [(g.name, g.detail) for s in report.stages for g in s.gates if not g.passed]
    assert failing == []
    assert report.current is None
    assert report.claimed == 4
    assert report.exit_code == 0
    assert report.verdict() == (
        "all stages pass; claimed stage: 4; the gates of stages 1 to 4 all pass (exit 0)"
    )


def test_checklist_worker_without_budget_passes_a_run_without_failures(project: Path) -> None:
    path = project / "MIGRATION.md"
    without = '[budgets.annotation]\n"annotation: wall time" = { min_ratio = 6.0 }\n'
    path.write_text(path.read_text().replace(without, ""))
    write_compare(project / "workerkit-compare" / "compare.json", PASSING_ROWS)

    status, detail = gate(check(), "annotation benchmark")
    assert status is Status.PASS
    assert detail.startswith(
        "no budget set for annotation (MIGRATION.md's Budgets block); the simplified stack "
        "ran without a failure, hang or crash ("
    )


def test_checklist_stale_cached_suite_is_not_run(project: Path) -> None:
    write_suite_cache(project, search_contract=True)
    cache = project / "workerkit-checklist" / "suites.json"
    data = json.loads(cache.read_text())
    data["search contract"]["epoch"] = 1_000_000.0
    cache.write_text(json.dumps(data))
    pool_workers = project / "workerkit" / "imagelib" / "pool_workers"
    pool_workers.mkdir(parents=True)
    (pool_workers / "search.py").write_text("x = 1\n")

    status, detail = gate(check(), "search contract")

    assert status is Status.NOT_RUN
    assert "is older than workerkit/imagelib/pool_workers/search.py" in detail


def test_checklist_failed_cached_suite_reports_the_command(project: Path) -> None:
    write_suite_cache(project, search_contract=False)

    status, detail = gate(check(), "search contract")

    assert status is Status.FAIL
    assert detail.startswith(
        'pytest tests/contract -k "simplified and search" exited 1: 3 passed, 1 failed, 0 skipped'
    )


FAKE_CONTRACT = """\
import pytest


@pytest.mark.parametrize("stack", ["legacy", "simplified"])
@pytest.mark.parametrize("kind", ["search", "thumbnail"])
def test_contract_kind(stack, kind):
    assert not (stack == "simplified" and kind == "thumbnail")


class TestSearchOnly:
    # Selected by -k "simplified and search" through its class name, as pytest selects.
    @pytest.mark.parametrize("stack", ["simplified"])
    def test_listing(self, stack):
        pass

    @pytest.mark.xfail(strict=True)
    @pytest.mark.parametrize("stack", ["simplified"])
    def test_known_gap(self, stack):
        assert False


@pytest.mark.parametrize("stack", ["legacy"])
def test_contract_search_legacy_only(stack):
    assert False
"""

FAKE_COMPARE = """\
import json, sys
args = sys.argv[1:]
worker, out = args[args.index("--workers") + 1], args[args.index("--json") + 1]
rows = [{"worker": worker, "metric": "queries: wall time", "unit": "ms", "legacy": 20.0,
         "simplified": 10.0, "floor": None, "ratio": 2.0, "better": "lower",
         "target": None, "met": None}]
json.dump({"version": 1, "created": "now", "quick": "--quick" in args, "machine": {},
           "library": "x", "rows": rows, "outcomes": []}, open(out, "w"))
"""


def test_checklist_run_runs_the_selected_tests_and_compares(project: Path) -> None:
    contract = project / "tests" / "contract"
    contract.mkdir(parents=True)
    (contract / "test_fake_contract.py").write_text(FAKE_CONTRACT)
    script = project / "fake_compare.py"
    script.write_text(FAKE_COMPARE)
    options = {"compare_command": (sys.executable, str(script))}

    report = check(run=True, **options)

    status, detail = gate(report, "search contract")
    assert status is Status.PASS, detail
    assert detail.startswith("2 passed, 0 failed, 1 skipped")
    assert (project / "workerkit-checklist" / "search-contract.jsonl").is_file()
    status, detail = gate(report, "thumbnail contract")
    assert status is Status.FAIL
    assert "exited 1: 0 passed, 1 failed" in detail
    assert gate(report, "registration contract")[1].startswith(
        'no test under tests/contract matches -k "simplified and registration"'
    )
    assert gate(report, "search benchmark")[0] is Status.PASS
    assert "quick" in gate(report, "search benchmark")[1]
    assert (project / "workerkit-checklist" / "compare-search" / "compare.json").is_file()

    cached = check()
    assert gate(cached, "search contract")[0] is Status.PASS, gate(cached, "search contract")
    assert gate(cached, "thumbnail contract")[0] is Status.FAIL


# --- pytest's report log -----------------------------------------------------------------------

REPORTED = """\
import pytest


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown")


def test_passes():
    pass


def test_fails():
    assert False


def test_skips():
    pytest.skip("not here")


@pytest.mark.xfail(strict=True)
def test_expected_failure():
    assert False


@pytest.mark.xfail(strict=True)
def test_unexpected_pass():
    pass


@pytest.mark.xfail(strict=False)
def test_lenient_unexpected_pass():
    pass


def test_teardown_breaks(broken_teardown):
    pass


def test_left_out():
    assert False
"""


def test_report_log_counts_each_selected_test_once_by_its_worst_phase(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_reported=REPORTED)
    log = pytester.path / "log.jsonl"

    result = pytester.runpytest_subprocess(f"--report-log={log}", "-k", "not left_out")

    result.assert_outcomes(
        passed=2, failed=2, skipped=1, xfailed=1, xpassed=1, errors=1, deselected=1
    )
    # pytest counts test_teardown_breaks twice (its call passed, its teardown errored); the
    # checklist counts it once, failed, with test_fails and the strict unexpected pass.
    # Passed: test_passes and the lenient unexpected pass. Skipped: the skip and the xfail.
    assert read_report_log(log) == Outcomes(passed=2, failed=3, skipped=2)


def test_report_log_counts_a_module_that_does_not_import_as_a_failure(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_fine="def test_fine():\n    pass\n")
    pytester.makepyfile(test_broken="import workerkit_no_such_module\n")
    log = pytester.path / "log.jsonl"

    result = pytester.runpytest_subprocess(f"--report-log={log}")

    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert read_report_log(log) == Outcomes(passed=0, failed=1, skipped=0)


def test_report_log_with_a_broken_line_names_the_file_and_line(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"$report_type": "SessionStart"}\n{"$report_type": "TestRep\n')

    with pytest.raises(ValueError, match=r"log.jsonl, line 2: invalid JSON"):
        read_report_log(log)


def test_checklist_run_without_pytest_reportlog_names_the_extra(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workerkit._extras import extra_advice
    from workerkit.tools.checklist import suites

    (project / "tests" / "contract").mkdir(parents=True)
    found = suites.find_spec
    monkeypatch.setattr(
        suites, "find_spec", lambda name: None if name == "pytest_reportlog" else found(name)
    )

    with pytest.raises(ModuleNotFoundError) as raised:
        check(run=True)

    assert extra_advice(raised.value, "workerkit checklist") == (
        "workerkit checklist needs pytest_reportlog, which the 'testing' extra installs: "
        "pip install 'workerkit[testing]'"
    )


def test_checklist_update_rewrites_only_the_status_block(project: Path) -> None:
    path = project / "MIGRATION.md"
    original = path.read_bytes()
    make_stage_1_done(project)

    args = build_parser().parse_args(["checklist", "--update"])
    assert args.handler(args) == 0

    updated = path.read_bytes()
    head, _, rest = original.partition(BEGIN_MARKER.encode())
    _, _, tail = rest.partition(END_MARKER.encode())
    assert updated.startswith(head + BEGIN_MARKER.encode())
    assert updated.endswith(END_MARKER.encode() + tail)
    block = updated[len(head) : len(updated) - len(tail)].decode()
    assert "old status" not in block
    assert "| 1 | search flag | pass | simplified (workerkit.toml [workers] search) |" in block
    assert "claimed stage: 1" in block


def test_checklist_update_twice_with_the_same_facts_changes_nothing(project: Path) -> None:
    path = project / "MIGRATION.md"
    report = check()
    once = replace_status_block(path.read_text(), status_block(report))

    assert replace_status_block(once, status_block(check())) == once


def test_checklist_status_block_without_markers_raises(project: Path) -> None:
    with pytest.raises(ValueError, match="Expected one <!-- checklist:begin --> followed by one"):
        replace_status_block("# no markers\n", "block\n")


def test_checklist_budgets_block_errors_name_the_fix() -> None:
    with pytest.raises(ValueError, match="has no ```toml block under a '## Budgets' heading"):
        parse_budgets("# nothing\n")
    both = BUDGETS.replace("{ min_ratio = 1.0 }", "{ min_ratio = 1.0, max = 2 }")
    with pytest.raises(ValueError, match="must hold exactly one of min_ratio or max"):
        parse_budgets(both)


def test_checklist_budgets_block_that_is_not_toml_names_the_file_line() -> None:
    broken = MIGRATION.replace("min_compared = 3", "min_compared = ")
    line = MIGRATION.splitlines().index("min_compared = 3") + 1

    with pytest.raises(ValueError) as raised:
        parse_budgets(broken, "docs/MIGRATION.md")

    assert str(raised.value).startswith(
        f"docs/MIGRATION.md line {line}, column 16: the Budgets block is not valid TOML ("
    )
    assert str(raised.value).endswith("); fix the TOML there.")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "{ min_ratio = 1.0 }",
            '{ min_ratio = "fast" }',
            "[budgets.search] \"queries: wall time\" min_ratio must be a number, got 'fast'; "
            'write "<metric>" = { min_ratio = 2.0 } or',
        ),
        (
            'unit = "ms"',
            "unit = 1",
            '[budgets.cancellation] "cancel *: GUI blocked, p95" unit must be a string, got 1',
        ),
        (
            "{ min_ratio = 1.0 }",
            "{ minimum = 1.0 }",
            '[budgets.search] "queries: wall time" must hold exactly one of min_ratio or max',
        ),
        (
            "{ min_ratio = 1.0 }",
            "1.0",
            '[budgets.search] "queries: wall time" must be a table, got 1.0; write',
        ),
        (
            "min_compared = 3",
            "min_compare = 3",
            "unknown key(s) 'min_compare' at [shadow]; expected 'min_compared'",
        ),
        (
            "min_compared = 3",
            "min_compared = true",
            "[shadow] min_compared must be a positive integer, got True; write e.g.",
        ),
    ],
)
def test_checklist_budgets_against_the_schema_name_the_file_key_and_fix(
    old: str, new: str, message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        parse_budgets(MIGRATION.replace(old, new, 1), "docs/MIGRATION.md")

    assert str(raised.value).startswith(f"docs/MIGRATION.md's Budgets block: {message}")


def test_checklist_command_with_broken_budgets_exits_2_naming_the_file(project: Path) -> None:
    path = project / "MIGRATION.md"
    path.write_text(path.read_text().replace("min_ratio = 1.0", "min_ratio = [1.0]"))

    done = subprocess.run(
        [str(Path(sys.executable).parent / "workerkit"), "checklist"],
        cwd=project,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2
    assert done.stderr.startswith(
        "workerkit: error: MIGRATION.md's Budgets block: [budgets.search] "
        '"queries: wall time" min_ratio must be a number, got [1.0]'
    )


def test_checklist_repository_budgets_match_the_issue_targets() -> None:
    budgets = parse_budgets((REPO / "MIGRATION.md").read_text(encoding="utf-8"))

    limits = {(b.worker, b.metric): (b.min_ratio, b.max_value, b.unit) for b in budgets.metrics}
    assert limits == {
        ("plumbing", "no-op round trip, median"): (2.0, None, None),
        ("plumbing", "burst: wall time"): (1.8, None, None),
        ("registration", "registration: wall time"): (1.5, None, None),
        ("search", "queries: wall time"): (0.95, None, None),
        ("thumbnail", "thumbnails: throughput"): (4.0, None, None),
        ("annotation", "annotation: wall time"): (6.0, None, None),
        ("cancellation", "cancel *: GUI blocked, p95"): (None, 1.0, "ms"),
        ("cancellation", "cancel *: to terminal signal, p95"): (None, 50.0, "ms"),
    }
    assert budgets.min_compared == 50


def test_checklist_command_needs_no_display_and_creates_no_qt_application(
    project: Path,
) -> None:
    # Loading the app's declarations may import PySide6 (a legacy worker is a QObject), and
    # that is fine. What must hold is that the checklist never creates a Q*Application: with
    # QT_QPA_PLATFORM, DISPLAY and WAYLAND_DISPLAY unset a QGuiApplication would abort the
    # process, and afterwards no QCoreApplication may exist either.
    make_stage_1_done(project)
    program = textwrap.dedent(
        """
        import sys
        from workerkit.tools.cli import build_parser
        args = build_parser().parse_args(["checklist", "--migration", "MIGRATION.md"])
        code = args.handler(args)
        qt = sys.modules.get("PySide6.QtCore")
        print("qt application:", qt is not None and qt.QCoreApplication.instance() is not None)
        sys.exit(code)
        """
    )
    unset = {*ENV_VARS.values(), APP_ENV, "QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}
    env = {k: v for k, v in os.environ.items() if k not in unset}

    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "qt application: False" in done.stdout
    assert "Stage 1 - proof of concept: search [PASS, claimed]" in done.stdout
    assert "current stage: 2 (thumbnails and registration)" in done.stdout


# --- an app that is not the image library -----------------------------------------------------

TINY_APP = '''\
"""A tiny app with two kinds: ping (read-only, comparable) and pong (writes)."""

from PySide6.QtCore import QObject, Signal

from workerkit._app import App, Stage
from workerkit._kind import LegacyWorker, WorkerKind


class Worker(QObject):
    finished = Signal(object)
    error_occurred = Signal(str)

    def run(self):
        self.finished.emit(None)

    def cancel(self):
        pass


def pool(control, *args):
    return None


def same(legacy, candidate):
    return []


KINDS = (
    WorkerKind("ping", LegacyWorker(Worker), pool, compare=same),
    WorkerKind("pong", LegacyWorker(Worker), pool, writes=True),
)
BUDGETS = {
    "budgets": {"ping": {"ping: wall time": {"min_ratio": 1.5}}},
    "shadow": {"min_compared": 2},
}
STAGES = (
    Stage(1, "ping first", kinds=("ping",)),
    Stage(2, "pong, and no legacy", kinds=("pong",), removes_legacy=True),
)

staged = App("tiny", KINDS, stages=STAGES, budgets=BUDGETS)
bare = App("bare", KINDS, budgets=BUDGETS)
plain = App("plain", KINDS)
'''

MIGRATION_WITHOUT_BUDGETS = f"# Checklist\n\n{BEGIN_MARKER}\n{END_MARKER}\n"
TINY = "tinyapp.kinds:staged"
PING = ("ping", "ping: wall time")


@pytest.fixture
def tiny(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Return the project with a tiny app package on sys.path and no Budgets block."""
    package = project / "tinyapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "kinds.py").write_text(TINY_APP)
    (project / "MIGRATION.md").write_text(MIGRATION_WITHOUT_BUDGETS)
    for name in ("WORKERKIT_PING", "WORKERKIT_PONG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(project))
    yield project
    for name in ("tinyapp.kinds", "tinyapp"):
        sys.modules.pop(name, None)


def gate_names(report: ChecklistReport) -> list[str]:
    """Return every gate's name, stage by stage."""
    return [g.name for stage in report.stages for g in stage.gates]


def command(*argv: str) -> int:
    """Run `workerkit checklist ARGV` in this process and return its exit status."""
    args = build_parser().parse_args(["checklist", *argv])
    return args.handler(args)


def test_checklist_app_option_prints_that_apps_stages_and_kinds(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert command("--app", TINY) == 1

    out = capsys.readouterr().out
    assert "App: tiny (tinyapp.kinds:staged, command line --app); kinds: ping, pong" in out
    assert "Stage 1 - ping first [FAIL]" in out
    assert "Stage 2 - pong, and no legacy [FAIL]" in out
    assert "current stage: 1 (ping first)" in out
    assert "search" not in out and "thumbnail" not in out


def test_checklist_app_gates_follow_its_kinds_budgets_and_contract_tests(tiny: Path) -> None:
    write_compare(tiny / "workerkit-compare" / "compare.json", {PING: ("ms", 20.0, 10.0, 2.0)})
    write_shadow(tiny, "ping", [True, True])

    report = check(app=TINY, contract_tests=("checks/contract",))

    assert gate_names(report) == [
        "ping flag",
        "ping contract",
        "ping benchmark",
        "ping shadow",
        "pong flag",
        "pong contract",
        "pong benchmark",
        "ping cannot reach legacy",
        "pong cannot reach legacy",
    ]
    assert gate(report, "ping flag")[1].startswith(
        "flag ping is legacy (default); set WORKERKIT_PING"
    )
    assert 'pytest checks/contract -k "simplified and ping"' in gate(report, "ping contract")[1]
    assert gate(report, "ping benchmark")[0] is Status.PASS
    assert gate(report, "ping shadow") == (
        Status.PASS,
        "2 compared, 0 mismatches (workerkit-shadow.jsonl)",
    )
    # No budget and no compare run for pong: not run (budgets are optional).
    assert gate(report, "pong benchmark")[0] is Status.NOT_RUN


def test_checklist_app_flag_for_an_undeclared_kind_lists_the_declared_ones(tiny: Path) -> None:
    write_flags(tiny, search="simplified")

    report = check(app=TINY)

    assert gate(report, "ping flag") == (
        Status.FAIL,
        "the flags cannot be read: Unknown worker kind 'search' (workerkit.toml [workers] "
        "search): expected one of ping, pong.",
    )
    assert report.exit_code == 1


def test_checklist_app_without_stages_gets_one_stage_per_kind_then_removal(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stacks, "STACKS", ("simplified",))

    report = check(app="tinyapp.kinds:bare")

    assert default_stages(load_app("tinyapp.kinds:bare")) == (
        Stage(1, "migrate ping", kinds=("ping",)),
        Stage(2, "migrate pong", kinds=("pong",)),
        Stage(3, "removal of the legacy stack", removes_legacy=True),
    )
    assert [(s.spec.number, s.spec.title) for s in report.stages] == [
        (1, "migrate ping"),
        (2, "migrate pong"),
        (3, "removal of the legacy stack"),
    ]
    assert [g.name for g in report.stages[2].gates] == [
        "ping cannot reach legacy",
        "pong cannot reach legacy",
    ]
    assert report.claimed == 3


def test_checklist_budgets_block_of_migration_wins_over_the_apps(tiny: Path) -> None:
    (tiny / "MIGRATION.md").write_text(MIGRATION)
    write_compare(tiny / "workerkit-compare" / "compare.json", {PING: ("ms", 20.0, 10.0, 2.0)})

    status, detail = gate(check(app=TINY), "ping benchmark")
    assert status is Status.PASS
    assert detail.startswith("no budget set for ping (MIGRATION.md's Budgets block); ")


def test_checklist_without_any_budgets_checks_that_the_run_did_not_fail(tiny: Path) -> None:
    write_compare(tiny / "workerkit-compare" / "compare.json", {PING: ("ms", 20.0, 10.0, 2.0)})

    status, detail = gate(check(app="tinyapp.kinds:plain"), "ping benchmark")
    assert status is Status.PASS
    assert "no budget set for ping (no budgets (" in detail
    assert "plain no App(budgets=))" in detail


def test_checklist_app_budgets_in_the_wrong_shape_name_the_expected_keys() -> None:
    with pytest.raises(ValueError, match="unknown key\\(s\\) 'ping' at the top level; expected"):
        budgets_from({"ping": {"ping: wall time": {"min_ratio": 1.0}}}, "x")


@pytest.mark.parametrize("changed", ["legacy/manager.py", "tinyapp/pool.py"])
def test_checklist_cached_suite_is_stale_after_legacy_or_the_app_changed(
    tiny: Path, changed: str
) -> None:
    for path in (tiny / "tinyapp").iterdir():
        os.utime(path, (1_000_000, 1_000_000))
    write_suite_cache(tiny, ping_contract=True)
    cache = tiny / "workerkit-checklist" / "suites.json"
    data = json.loads(cache.read_text())
    data["ping contract"]["epoch"] = 2_000_000.0
    cache.write_text(json.dumps(data))
    assert gate(check(app=TINY), "ping contract")[0] is Status.PASS
    (tiny / changed).parent.mkdir(exist_ok=True)
    (tiny / changed).write_text("x = 1\n")

    status, detail = gate(check(app=TINY), "ping contract")

    assert status is Status.NOT_RUN
    assert f"is older than {changed};" in detail


ENV_COMPARE = """\
import json, os, sys
args = sys.argv[1:]
worker, out = args[args.index("--workers") + 1], args[args.index("--json") + 1]
rows = [{"worker": worker, "metric": "ping: wall time", "unit": "ms", "legacy": 20.0,
         "simplified": 10.0, "ratio": 2.0}]
json.dump({"version": 1, "created": "now", "library": os.environ.get("WORKERKIT_APP"),
           "rows": rows, "outcomes": []}, open(out, "w"))
"""


def test_checklist_run_hands_the_app_to_its_subprocesses(tiny: Path) -> None:
    script = tiny / "env_compare.py"
    script.write_text(ENV_COMPARE)

    report = check(
        app=TINY,
        run=True,
        contract_tests=("nowhere",),
        compare_command=(sys.executable, str(script)),
    )

    assert gate(report, "ping benchmark")[0] is Status.PASS
    written = tiny / "workerkit-checklist" / "compare-ping" / "compare.json"
    assert json.loads(written.read_text())["library"] == TINY
    assert gate(report, "ping contract")[1].startswith("nowhere does not exist under")
