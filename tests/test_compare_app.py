"""workerkit compare --app: an app's declared workloads run on both stacks, in child processes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_compare import _check_schema
from workerkit._kind import DeclarationError, Workload
from workerkit.tools.benchmarks.apps import load_target, select_workers
from workerkit.tools.benchmarks.plan import WORKERS
from workerkit.tools.cli import main as cli_main

# A tiny app: one kind summing a file that its workload's setup writes, once per process;
# each job also waits 15 ms, as on I/O, so every timed run spans 5 ms heartbeat ticks.
APP_SOURCE = """
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from workerkit._app import App
from workerkit._kind import LegacyWorker, WorkerKind, Workload


def total_of(path):
    time.sleep(0.015)  # the job's simulated I/O, so every run spans heartbeat ticks
    return sum(int(word) for word in Path(path).read_text().split())


class SumWorker(QObject):
    finished = Signal(object)
    error_occurred = Signal(str)

    def __init__(self, path):
        super().__init__()
        self._path = path

    @Slot()
    def run(self):
        self.finished.emit(total_of(self._path))

    def cancel(self):
        pass


def sum_file(control, path):
    return total_of(path)


def write_numbers(folder, size):
    path = folder / "numbers.txt"
    path.write_text(" ".join(str(n) for n in range(size * 100)))
    return path


def one_job(size, path):
    return (str(path),), {}


sums = WorkerKind(
    name="sums",
    legacy=LegacyWorker(SumWorker),
    simplified=sum_file,
    workloads=(
        Workload("in_turn", make=one_job, sizes=(3, 30), setup=write_numbers),
        Workload("at_once", make=one_job, sizes=(4, 40), setup=write_numbers, in_flight=None),
    ),
)
idle = WorkerKind(name="idle", legacy=LegacyWorker(SumWorker), simplified=sum_file)
app = App("tiny app", [sums, idle])
"""
MODULE = "workerkit_tiny_app"
SPEC = f"{MODULE}:app"
# The quick sizes of the two workloads above.
JOBS = {"in_turn": 3, "at_once": 4}


@pytest.fixture(autouse=True)
def _no_configured_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Run in an empty folder with no app in the environment; forget the app module after."""
    monkeypatch.delenv("WORKERKIT_APP", raising=False)
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.chdir(run)
    yield
    sys.modules.pop(MODULE, None)


def _write_app(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{MODULE}.py").write_text(APP_SOURCE, encoding="utf-8")
    return folder


@pytest.fixture
def app_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Write the app outside the working folder, importable only through sys.path."""
    source = _write_app(tmp_path / "src")
    monkeypatch.syspath_prepend(str(source))
    return source


def _rows(report: dict[str, Any], worker: str) -> dict[str, dict[str, Any]]:
    return {row["metric"]: row for row in report["rows"] if row["worker"] == worker}


@pytest.mark.timeout(60)
def test_compare_runs_each_declared_workload_on_both_stacks(
    qapp: object, app_on_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = ["compare", "--quick", "--app", SPEC, "--workers", "sums", "--out", str(out)]

    status = cli_main(command)

    assert status == 0
    report = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    _check_schema(report)
    rows = _rows(report, "sums")
    assert {row["worker"] for row in report["rows"]} == {"sums"}
    for workload, jobs in JOBS.items():
        for metric in ("wall time", "job latency, median", "job latency, p95", "GUI lag, max"):
            row = rows[f"{workload}: {metric}"]
            assert row["legacy"] > 0 and row["simplified"] > 0, row
            assert row["ratio"] == pytest.approx(row["legacy"] / row["simplified"])
        finished = rows[f"{workload}: jobs finished"]
        assert (finished["legacy"], finished["simplified"]) == (jobs, jobs)
        assert rows[f"{workload}: jobs failed"]["met"] is True
    assert "at_once: refused starts" in rows and "in_turn: refused starts" not in rows
    assert {(o["stack"], o["hangs"], o["crashes"]) for o in report["outcomes"]} == {
        ("legacy", 0, 0),
        ("simplified", 0, 0),
    }
    markdown = (out / "compare.md").read_text(encoding="utf-8")
    assert f"- app: tiny app (`{SPEC}`)" in markdown
    assert "| sums | in_turn: wall time | ms |" in markdown
    assert "| sums | at_once: jobs finished | count | 4 | 4 | 1.00x |" in markdown


def test_unknown_app_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main(["compare", "--app", "no_such_app_module:app", "--out", str(tmp_path)])

    assert status == 2
    assert "no_such_app_module" in capsys.readouterr().err
    assert not (tmp_path / "compare.json").exists()


def test_a_kind_without_workloads_is_refused_with_the_fix(
    app_on_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["compare", "--app", SPEC, "--workers", "idle"]) == 2
    assert "'idle' of tiny app declares no benchmark workloads" in capsys.readouterr().err


def test_another_app_is_offered_the_plumbing_and_its_kinds_with_workloads(
    app_on_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = load_target(SPEC, Path.cwd())

    # By default only its own kinds: the plumbing would build the image library's sample.
    assert select_workers(target, None) == ("sums",)
    assert select_workers(target, "plumbing,sums") == ("plumbing", "sums")
    assert cli_main(["compare", "--app", SPEC, "--workers", "search"]) == 2
    assert "Unknown worker search" in capsys.readouterr().err


def test_with_no_app_configured_the_image_library_keeps_every_builtin_worker() -> None:
    target = load_target(None, Path.cwd())

    assert target.is_image_library
    assert select_workers(target, None) == (*WORKERS, "scale")


def test_the_app_named_in_workerkit_toml_is_imported_from_the_working_folder() -> None:
    run = _write_app(Path.cwd())
    (run / "workerkit.toml").write_text(f'[tool.workerkit]\napp = "{SPEC}"\n', encoding="utf-8")
    path_before = list(sys.path)

    target = load_target(None, run)

    assert (target.app.name, target.spec) == ("tiny app", SPEC)
    assert str(run) in target.paths
    assert target.environment({})["PYTHONPATH"].split(os.pathsep)[0] == str(run)
    assert sys.path == path_before


@pytest.mark.parametrize(
    ("name", "sizes", "in_flight", "problem"),
    [
        ("a/b", (1, 2), 1, "without '/'"),
        ("w", (0, 2), 1, "two positive job counts"),
        ("w", (3,), 1, "two positive job counts"),
        ("w", (1, 2), 0, "in_flight=None"),
    ],
)
def test_a_workload_that_cannot_run_is_refused(
    name: str, sizes: tuple[int, ...], in_flight: int, problem: str
) -> None:
    with pytest.raises(DeclarationError, match=problem):
        Workload(name, make=lambda size: ((size,), {}), sizes=sizes, in_flight=in_flight)  # type: ignore[arg-type]


def test_workload_arguments_pass_what_setup_prepared_only_with_a_setup() -> None:
    plain = Workload("plain", make=lambda size: ((size,), {"k": 1}))
    prepared = Workload("prepared", make=lambda size, data: ((size, data), {}), setup=print)

    assert plain.arguments(5) == ((5,), {"k": 1})
    assert prepared.arguments(5, "data") == ((5, "data"), {})
