"""workerkit compare: ratio direction, baseline regressions, the table, the chart, end to end."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from workerkit.tools import compare
from workerkit.tools.benchmarks.plan import WORKERS
from workerkit.tools.benchmarks.rows import Row, ratio
from workerkit.tools.chart import render_chart
from workerkit.tools.cli import build_parser

from .child import run_child

ROW_KEYS = {
    "worker": str,
    "metric": str,
    "unit": str,
    "legacy": (float, type(None)),
    "simplified": (float, type(None)),
    "floor": (float, type(None)),
    "ratio": (float, type(None)),
    "better": str,
    "target": (str, type(None)),
    "met": (bool, type(None)),
    "peer": (float, type(None)),
    "peer_ratio": (float, type(None)),
}
PEER_KEYS = {"library": str, "version": (str, type(None))}
OUTCOME_KEYS = {"worker": str, "stack": str, "runs": int, "hangs": int, "crashes": int, "note": str}


def _row(metric: str = "burst: wall time", **values: Any) -> Row:
    fields: dict[str, Any] = {
        "worker": "plumbing",
        "metric": metric,
        "unit": "ms",
        "legacy": 20.0,
        "simplified": 10.0,
        "floor": None,
        "ratio": 2.0,
        "better": "lower",
        "target": ">= 1.8x legacy",
        "met": True,
    }
    return Row(**(fields | values))


# --- ratio direction ---------------------------------------------------------------------


def test_ratio_lower_is_better_divides_legacy_by_simplified() -> None:
    assert ratio(30.0, 10.0, "lower") == pytest.approx(3.0)
    assert ratio(10.0, 30.0, "lower") == pytest.approx(1 / 3)


def test_ratio_higher_is_better_divides_simplified_by_legacy() -> None:
    assert ratio(40.0, 160.0, "higher") == pytest.approx(4.0)
    assert ratio(160.0, 40.0, "higher") == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("legacy", "simplified", "better"),
    [(None, 1.0, "lower"), (1.0, None, "higher"), (5.0, 0.0, "lower"), (0.0, 5.0, "higher")],
)
def test_ratio_without_a_meaningful_quotient_is_none(
    legacy: float | None, simplified: float | None, better: str
) -> None:
    assert ratio(legacy, simplified, better) is None  # type: ignore[arg-type]


# --- baseline ----------------------------------------------------------------------------


def test_find_regressions_flags_a_ratio_drop_over_20_percent() -> None:
    found = compare.find_regressions([_row(ratio=1.5, met=False)], [_row(ratio=2.0)])
    assert [(r.metric, r.before, r.now, r.reason) for r in found] == [
        ("burst: wall time", 2.0, 1.5, "ratio -25%")
    ]


def test_find_regressions_ignores_a_drop_within_20_percent() -> None:
    assert compare.find_regressions([_row(ratio=1.7, met=True)], [_row(ratio=2.0)]) == []


def test_find_regressions_flags_a_target_met_before_and_missed_now() -> None:
    found = compare.find_regressions([_row(ratio=1.79, met=False)], [_row(ratio=1.81)])
    assert [r.reason for r in found] == ["target missed now"]


def test_find_regressions_ignores_rows_the_baseline_lacks() -> None:
    assert compare.find_regressions([_row(metric="new metric", ratio=0.1)], [_row()]) == []


def test_a_row_from_a_report_without_the_peer_column_reads_as_no_peer() -> None:
    old = {key: value for key, value in _row().to_dict().items() if not key.startswith("peer")}
    assert Row.from_dict(old) == _row(peer=None, peer_ratio=None)


def test_baseline_regression_makes_compare_exit_1(tmp_path: Path) -> None:
    report = compare.Report(
        created="2024-01-01T00:00:00+00:00",
        quick=True,
        machine={"python": "3.11", "pyside6": "6.11", "cpus": 2, "platform": "test"},
        library="lib",
        rows=[_row(ratio=1.0, met=False)],
        outcomes=[],
    )
    regressions = compare.find_regressions(report.rows, [_row()])
    assert compare.exit_status(report, regressions, with_baseline=True) == 1
    assert compare.exit_status(report, regressions, with_baseline=False) == 0


# --- the table ---------------------------------------------------------------------------


def test_format_table_aligns_columns_and_marks_missing_values() -> None:
    rows = [_row(), _row(metric="burst: peak RSS growth", legacy=None, ratio=None, met=None)]
    lines = compare.format_table(rows).splitlines()
    assert lines[0].split() == [
        "worker", "metric", "unit", "legacy", "simplified", "ratio", "floor", "target", "met",
    ]  # fmt: skip
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert "20.0" not in lines[2] and " 20 " in lines[2] and "2.00x" in lines[2]
    assert lines[2].rstrip().endswith("yes")
    assert lines[3].split()[-1] == "-"
    # Numbers are right-aligned: each data row's ratio ends where the header's does.
    end = lines[0].index("ratio") + len("ratio")
    assert [line[end - 5 : end] for line in lines[2:]] == ["2.00x", "    -"]


def test_format_table_with_baseline_marks_regressions() -> None:
    rows = [_row(ratio=1.0, met=False)]
    baseline = [_row(ratio=2.0)]
    table = compare.format_table(rows, baseline, compare.find_regressions(rows, baseline))
    assert table.splitlines()[0].split()[-1] == "baseline"
    assert "2.00x REGRESSED (ratio -50%)" in table


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "-"), (1234.5, "1234"), (12.345, "12.3"), (1.2345, "1.23"), (0.01234, "0.012")],
)
def test_format_value_keeps_about_three_digits(value: float | None, text: str) -> None:
    assert compare.format_value(value) == text


# --- the chart ---------------------------------------------------------------------------


def test_render_chart_draws_a_decodable_png(qapp: object, tmp_path: Path) -> None:
    rows = [_row(), _row(metric="slower", ratio=0.5, met=False), _row(metric="none", ratio=None)]
    path = render_chart(rows, tmp_path / "chart.png", title="t", subtitle="s")
    image = QImage(str(path))
    assert not image.isNull()
    assert image.width() >= 800 and image.height() >= 200


# --- the command -------------------------------------------------------------------------


def test_compare_module_rejects_an_unknown_worker() -> None:
    run = run_child(
        [sys.executable, "-m", "workerkit.tools.compare", "--workers", "search,bogus"],
        timeout_s=60,
    )
    assert run.returncode == 2, run.describe()
    assert "Unknown worker bogus" in run.stderr


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_compare_quick_end_to_end(
    qapp: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKERKIT_CACHE", str(tmp_path / "cache"))
    # Every built-in worker but scale, which test_scale.py runs cell by cell.
    workers = ",".join(WORKERS)
    args = build_parser().parse_args(
        ["compare", "--quick", "--workers", workers, "--out", str(tmp_path / "out")]
    )

    status = args.handler(args)

    assert status == 0
    report = json.loads((tmp_path / "out" / "compare.json").read_text(encoding="utf-8"))
    _check_schema(report)
    assert report["quick"] is True
    assert {row["worker"] for row in report["rows"]} == set(WORKERS)
    assert (tmp_path / "out" / "compare.md").read_text(encoding="utf-8").startswith("# ")
    assert not QImage(str(tmp_path / "out" / "compare.png")).isNull()


def _check_schema(report: dict[str, Any]) -> None:
    assert set(report) == {
        "version", "created", "quick", "machine", "library", "rows", "outcomes", "peer", "scale",
    }  # fmt: skip
    assert report["version"] == 1
    datetime.fromisoformat(report["created"])
    assert isinstance(report["library"], str)
    machine = report["machine"]
    assert set(machine) == {"python", "pyside6", "cpus", "platform"}
    assert isinstance(machine["cpus"], int)
    assert all(isinstance(machine[k], str) for k in ("python", "pyside6", "platform"))
    # The peer is null when no selected worker has a peer workload.
    if report["peer"] is not None:
        _check_keys(report["peer"], PEER_KEYS)
    for row in report["rows"]:
        _check_keys(row, ROW_KEYS)
        assert row["better"] in ("lower", "higher")
        if row["peer"] is None:
            assert row["peer_ratio"] is None
    for outcome in report["outcomes"]:
        _check_keys(outcome, OUTCOME_KEYS)
        assert outcome["stack"] in ("legacy", "simplified", "floor", "peer")


def _check_keys(item: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(item) == set(expected)
    for key, kind in expected.items():
        assert isinstance(item[key], kind), f"{key}={item[key]!r} is not {kind}"
