"""The scale rows of `workerkit compare`: each cell in its own process, every column."""

from __future__ import annotations

import pytest

from workerkit.tools.benchmarks import scale
from workerkit.tools.benchmarks.scale import ScaleCell, measure_scale, scale_markdown

METRICS = {
    "wall_s",
    "submit_ms",
    "lag_max_ms",
    "lag_p99_ms",
    "peak_rss_mb",
    "rss_growth_per_1000_mb",
    "jobs",
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("variant", ["bulk", "one-by-one", "raw", "legacy"])
def test_scale_cell_runs_every_job_in_its_own_process(variant: str) -> None:
    """Fails if a way of submitting loses jobs, or a cell reports a metric short."""
    [cell] = measure_scale([300], say=lambda _line: None, watchdog_s=120, variants=[variant])
    assert cell.status == "ok", cell.note
    assert set(cell.metrics) == METRICS
    assert cell.metrics["jobs"] == 300
    assert cell.metrics["wall_s"] > 0 and cell.metrics["lag_max_ms"] > 0


def test_scale_cell_past_its_limit_is_skipped_and_said_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails if the QThread-per-job stack is run at a size it is known not to survive."""
    monkeypatch.setattr(scale, "LEGACY_MAX", 100)
    [cell] = measure_scale([300], say=lambda _line: None, variants=["legacy"])
    assert (cell.status, cell.note) == ("skipped", "not run above 100 jobs")


def test_scale_markdown_shows_every_column_and_why_a_cell_has_none() -> None:
    """Fails if a column is dropped or a hung cell is shown as a number."""
    metrics = dict.fromkeys(METRICS, 1.0)
    cells = [
        ScaleCell("bulk", 1000, "ok", metrics),
        ScaleCell("superqt", 1000, "hung", {}, "killed by the watchdog after 300 s"),
    ]
    lines = scale_markdown(cells)
    assert lines[0].count("|") == lines[2].count("|") == lines[3].count("|") == 10
    assert "| 1,000 | bulk | 1.00 s | 1 ms | 1.0 ms | 1 ms | 1 MB | 1.000 MB | ok |" in lines
    assert lines[3].endswith("| killed by the watchdog after 300 s |")
