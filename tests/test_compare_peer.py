"""The peer column of workerkit compare: superqt's create_worker doing the same work."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from tests.test_compare import _check_schema
from workerkit.imagelib.domain.intake import prepare_image
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.sample import make_benchmark_jpegs
from workerkit.tools import compare
from workerkit.tools.benchmarks.campaign import PlannedRun, plan_runs
from workerkit.tools.benchmarks.data import Dataset
from workerkit.tools.benchmarks.plan import QUICK, peer_version
from workerkit.tools.benchmarks.rows import Row, build_rows
from workerkit.tools.benchmarks.run_one import RESULT_PREFIX
from workerkit.tools.benchmarks.runner import RunResult
from workerkit.tools.chart import render_chart

pytest.importorskip("superqt.utils", reason="the peer column measures superqt")

TINY = replace(QUICK, roundtrip_jobs=10, burst_jobs=20, thumbnails=4, watchdog_s=30.0)
SUPERQT = metadata.version("superqt")
# Rows with a peer value, and the metric key each holds.
PEER_ROWS = {
    "no-op round trip, median": "median_ms",
    "no-op round trip, p95": "p95_ms",
    "burst: wall time": "wall_ms",
    "thumbnails: throughput": "images_per_s",
    "thumbnail: GUI lag, max": "lag_max_ms",
}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """Return a dataset of 4 benchmark JPEGs: 3 in the round-trip database, 4 to thumbnail."""
    root = tmp_path_factory.mktemp("peer-data")
    jpegs = make_benchmark_jpegs(root / "jpegs", count=TINY.thumbnails)
    tiny = root / "tiny.sqlite"
    thumbs = root / "thumbnails.sqlite"
    _register(tiny, jpegs[:3])
    ids = _register(thumbs, jpegs)
    # Only the round trip, the burst and the thumbnails run on it; the rest point at tiny.
    return Dataset(
        sizes=TINY, library=root / "jpegs", tiny_db=tiny, search_db=tiny, search_queries=[],
        thumbnail_db=thumbs, thumbnail_ids=ids, annotation_db=tiny, annotation_ids=[],
        slow_db=tiny, slow_phrase="", slow_query_s=0.0,
    )  # fmt: skip


def _register(path: Path, files: list[Path]) -> list[int]:
    with ImageStore(path) as store:
        ids = [store.register(prepare_image(file)) for file in files]
        store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return ids


@pytest.fixture
def tiny_compare(tiny_dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `workerkit compare` run at the tiny sizes on the tiny dataset."""
    monkeypatch.setattr(compare, "sizes_for", lambda quick: TINY)
    monkeypatch.setattr(compare, "_dataset", lambda sizes, library: tiny_dataset)


@pytest.fixture
def superqt_blocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make superqt unimportable here and in every child process; return the blocker folder."""
    blocker = tmp_path / "blocker"
    (blocker / "superqt").mkdir(parents=True)
    (blocker / "superqt" / "__init__.py").write_text(
        'raise ImportError("superqt is blocked for this test")\n', encoding="utf-8"
    )
    paths = [str(blocker), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setitem(sys.modules, "superqt", None)
    monkeypatch.setitem(sys.modules, "superqt.utils", None)
    return blocker


# --- the command, for real ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_compare_fills_the_peer_column_from_superqt_runs(
    qapp: object, tiny_compare: None, tmp_path: Path
) -> None:
    out = tmp_path / "out"

    status = compare.main(["--quick", "--workers", "plumbing,thumbnail", "--out", str(out)])

    assert status == 0
    report = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    _check_schema(report)
    assert report["peer"] == {"library": "superqt", "version": SUPERQT}
    rows = {row["metric"]: row for row in report["rows"]}
    for metric in PEER_ROWS:
        row = rows[metric]
        assert row["peer"] > 0 and row["simplified"] > 0, row
        expected = (
            row["peer"] / row["simplified"]
            if row["better"] == "lower"
            else row["simplified"] / row["peer"]
        )
        assert row["peer_ratio"] == pytest.approx(expected)
    # The peer never refuses a start; it has no WorkerService signals to count.
    assert rows["burst: refused starts"]["peer"] == 0
    assert rows["round trip: signals per job"]["peer"] is None
    peer_outcomes = [o for o in report["outcomes"] if o["stack"] == "peer"]
    assert len(peer_outcomes) == 3
    assert all(o["hangs"] == o["crashes"] == 0 for o in peer_outcomes), peer_outcomes
    markdown = (out / "compare.md").read_text(encoding="utf-8")
    assert "| floor | peer | peer ratio | target | met |" in markdown
    assert f"- peer (superqt {SUPERQT}): create_worker on QThreadPool.globalInstance()" in markdown
    assert "- peer: the round trip, the burst and the thumbnails" in markdown
    assert not QImage(str(out / "compare.png")).isNull()


@pytest.mark.timeout(90)
def test_compare_without_superqt_says_the_peer_is_not_installed(
    qapp: object,
    tiny_compare: None,
    superqt_blocked: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"

    status = compare.main(["--quick", "--workers", "thumbnail", "--out", str(out)])

    assert status == 0
    report = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    _check_schema(report)
    assert report["peer"] == {"library": "superqt", "version": None}
    assert {o["stack"] for o in report["outcomes"]} == {"legacy", "simplified", "floor"}
    assert all(row["peer"] is None and row["peer_ratio"] is None for row in report["rows"])
    assert "peer (superqt): not installed" in capsys.readouterr().out
    markdown = (out / "compare.md").read_text(encoding="utf-8")
    assert "- peer (superqt): not installed; `pip install 'workerkit[peers]'`" in markdown


def test_the_peer_child_without_superqt_reports_why(
    tiny_dataset: Dataset, superqt_blocked: Path, tmp_path: Path
) -> None:
    dataset = tiny_dataset.write(tmp_path / "dataset.json")
    command = [
        sys.executable, "-m", "workerkit.tools.benchmarks.run_one", "--workload", "roundtrip",
        "--stack", "peer", "--dataset", str(dataset), "--work", str(tmp_path / "work"),
    ]  # fmt: skip

    run = subprocess.run(command, capture_output=True, text=True, timeout=60, env=os.environ)

    assert run.returncode == 3, run.stderr
    line = next(x for x in run.stdout.splitlines() if x.startswith(RESULT_PREFIX))
    result = json.loads(line[len(RESULT_PREFIX) :])
    assert result["status"] == "error"
    assert "The peer stack needs superqt, which cannot be imported" in result["note"]


def test_superqt_blocked_reads_as_not_installed(superqt_blocked: Path) -> None:
    assert peer_version() is None


# --- planning and rows -------------------------------------------------------------------


def test_plan_runs_adds_the_peer_stack_to_its_workloads_only() -> None:
    workers = ("plumbing", "search", "thumbnail")

    with_peer = plan_runs(workers, TINY, peer=True)
    without = plan_runs(workers, TINY)

    assert {r.workload for r in with_peer if r.stack == "peer"} == {
        "roundtrip", "burst", "thumbnail",
    }  # fmt: skip
    assert [r for r in with_peer if r.stack != "peer"] == without
    assert all(r.stack != "peer" for r in without)


def _run(workload: str, stack: str, **metrics: float) -> tuple[PlannedRun, RunResult]:
    worker = {"roundtrip": "plumbing", "burst": "plumbing"}.get(workload, workload)
    planned = PlannedRun(worker, workload, stack, 1, 1)
    return planned, RunResult(workload, stack, "ok", 1.0, metrics=dict(metrics))


def test_peer_ratio_says_how_many_times_better_simplified_is() -> None:
    runs = [
        _run("roundtrip", "simplified", median_ms=1.0),
        _run("roundtrip", "peer", median_ms=3.0),
        _run("thumbnail", "simplified", images_per_s=100.0),
        _run("thumbnail", "peer", images_per_s=50.0),
        # Not a peer workload: a stray peer value there is not reported.
        _run("search", "simplified", wall_ms=10.0),
        _run("search", "peer", wall_ms=20.0),
    ]

    rows = {r.metric: r for r in build_rows(runs, ("plumbing", "search", "thumbnail"), TINY, 4)}

    # Lower is better: peer / simplified; higher is better: simplified / peer.
    latency, throughput = rows["no-op round trip, median"], rows["thumbnails: throughput"]
    assert (latency.peer, latency.peer_ratio) == (3.0, pytest.approx(3.0))
    assert (throughput.peer, throughput.peer_ratio) == (50.0, pytest.approx(2.0))
    searched = rows["queries: wall time"]
    assert (searched.peer, searched.peer_ratio) == (None, None)


def test_rows_over_unequal_work_report_the_outcome_not_a_ratio() -> None:
    runs = [
        _run("burst", "legacy", wall_ms=90.0, jobs=100, refused_starts=98),
        _run("burst", "simplified", wall_ms=18.0, jobs=100, refused_starts=0),
        _run("roundtrip", "legacy", median_ms=2.0),
        _run("roundtrip", "simplified", median_ms=1.0),
    ]

    rows = {r.metric: r for r in build_rows(runs, ("plumbing",), TINY, 4)}

    burst = rows["burst: wall time"]
    assert (burst.ratio, burst.met) == (None, None)
    assert burst.target == (
        "not compared: legacy refused 98 starts of its 100 jobs, retried one by one"
    )
    refused = rows["burst: refused starts"]
    assert (refused.legacy, refused.simplified) == (98.0, 0.0)
    # Equal work elsewhere keeps its ratio.
    assert rows["no-op round trip, median"].ratio == pytest.approx(2.0)


# --- the table, the Markdown and the chart -----------------------------------------------


def _row(metric: str, **values: Any) -> Row:
    fields: dict[str, Any] = {
        "worker": "plumbing", "metric": metric, "unit": "ms", "legacy": 20.0,
        "simplified": 10.0, "floor": None, "ratio": 2.0, "better": "lower", "target": None,
        "met": None, "peer": 15.5, "peer_ratio": 1.5,
    }  # fmt: skip
    return Row(**(fields | values))


def test_format_table_shows_the_peer_columns_and_names_superqt() -> None:
    rows = [_row("burst: wall time"), _row("burst: signals", peer=None, peer_ratio=None)]

    lines = compare.format_table(rows, peer=compare.Peer("0.9.0")).splitlines()

    assert lines[0].split()[5:10] == ["ratio", "floor", "peer", "peer", "ratio"]
    assert re.search(r" 2\.00x +- +15\.5 +1\.50x ", lines[2]), lines[2]
    assert re.search(r" 2\.00x +- +- +- ", lines[3]), lines[3]
    assert lines[-1].startswith("peer (superqt 0.9.0): create_worker on QThreadPool")


def test_format_table_says_when_superqt_is_not_installed() -> None:
    table = compare.format_table([_row("x", peer=None, peer_ratio=None)], peer=compare.Peer(None))

    assert table.splitlines()[-1].startswith("peer (superqt): not installed")


def test_markdown_without_a_peer_workload_has_no_peer_column() -> None:
    report = compare.Report(
        created="2024-01-01T00:00:00+00:00",
        quick=True,
        machine={"python": "3.11", "pyside6": "6.11", "cpus": 2, "platform": "test"},
        library="lib",
        rows=[_row("search: wall time", peer=None, peer_ratio=None)],
        outcomes=[],
    )

    markdown = compare.to_markdown(report)

    assert "| floor | target | met |" in markdown and "peer" not in markdown
    assert report.to_dict()["peer"] is None


def test_render_chart_draws_a_bar_for_each_peer_ratio(qapp: object, tmp_path: Path) -> None:
    legacy_only = [_row("a", peer=None, peer_ratio=None), _row("b", peer=None, peer_ratio=None)]
    with_peer = [_row("a"), _row("b", peer_ratio=0.5), _row("c", ratio=None)]

    plain = QImage(str(render_chart(legacy_only, tmp_path / "1.png", title="t", subtitle="s")))
    both = QImage(str(render_chart(with_peer, tmp_path / "2.png", title="t", subtitle="s")))

    assert not plain.isNull() and not both.isNull()
    # Three more bars: a's and b's peer bars and c's, which has no legacy ratio.
    assert both.height() - plain.height() >= 3 * 26
