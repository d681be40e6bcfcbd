"""`workerkit compare`: run every worker on both stacks on the same data, side by side.

Each (workload, stack) runs in its own process under a watchdog, so a hang or
a crash of a stack is reported as an outcome instead of stopping the run. The
result is a table on stdout, compare.json (schema version 1), compare.md and
compare.png in the output folder. With superqt installed (``workerkit[peers]``), the
plumbing and thumbnail workloads also run as a superqt user writes them, and each
of their rows carries that peer's value and the simplified/peer ratio.

The app (``--app``, ``WORKERKIT_APP``, or ``[tool.workerkit] app`` in workerkit.toml
or pyproject.toml) decides what runs: for the image library, the default, every
built-in worker; for another app, the built-in plumbing and every declared workload
of its kinds (``WorkerKind(workloads=...)``), through JobService on each stack.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workerkit.tools.benchmarks.apps import (
    AppTarget,
    KindWorkload,
    builtin_workers,
    kind_workloads,
    load_target,
    select_workers,
)
from workerkit.tools.benchmarks.plan import (
    PEER_LIBRARY,
    PEER_WORKLOADS,
    WORKLOADS,
    Sizes,
    peer_version,
    sizes_for,
)
from workerkit.tools.benchmarks.rows import Outcome, Row, Runs, stacks_with_failures
from workerkit.tools.benchmarks.scale import SCALE_METHOD, ScaleCell, scale_markdown

if TYPE_CHECKING:
    from workerkit.tools.benchmarks.campaign import PlannedRun
    from workerkit.tools.benchmarks.data import Dataset

__all__ = [
    "REPORT_VERSION",
    "Peer",
    "Regression",
    "Report",
    "exit_status",
    "find_regressions",
    "format_table",
    "main",
    "run_compare",
    "to_markdown",
]

REPORT_VERSION = 1
DEFAULT_OUT = Path("workerkit-compare")
# A ratio that fell by more than this share since the baseline is a regression.
REGRESSION_DROP = 0.20


@dataclass(frozen=True, slots=True)
class Peer:
    """The library measured in the peer column, and its version (None: not installed)."""

    version: str | None
    library: str = PEER_LIBRARY

    @property
    def installed(self) -> bool:
        """Return True when the peer could be imported, so its workloads ran."""
        return self.version is not None

    @property
    def label(self) -> str:
        """Return e.g. "peer (superqt 0.9.0)" or "peer (superqt): not installed"."""
        if self.version is None:
            return f"peer ({self.library}): not installed"
        return f"peer ({self.library} {self.version})"

    def legend(self) -> str:
        """Return the sentence that explains the peer columns."""
        if self.version is None:
            return (
                f"{self.label}; `pip install 'workerkit[peers]'` to measure "
                f"{self.library}'s create_worker in the peer column."
            )
        return (
            f"{self.label}: create_worker on QThreadPool.globalInstance() doing the same work; "
            "peer ratio > 1 means the simplified stack is better than the peer."
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the peer in the report's JSON schema."""
        return {"library": self.library, "version": self.version}


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one comparison run found, in the shape of compare.json."""

    created: str
    quick: bool
    machine: dict[str, Any]
    library: str
    rows: list[Row]
    outcomes: list[Outcome]
    version: int = REPORT_VERSION
    # None when no selected worker has a peer workload; else superqt's status.
    peer: Peer | None = None
    # The scale rows, when --workers names scale.
    scale: list[ScaleCell] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the report in the JSON schema (version 1)."""
        return {
            "version": self.version,
            "created": self.created,
            "quick": self.quick,
            "machine": self.machine,
            "library": self.library,
            "rows": [row.to_dict() for row in self.rows],
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
            "peer": self.peer.to_dict() if self.peer is not None else None,
            "scale": [asdict(cell) for cell in self.scale],
        }


@dataclass(frozen=True, slots=True)
class Regression:
    """A row whose ratio fell by more than 20%, or whose target was met before and is not now."""

    worker: str
    metric: str
    before: float | None
    now: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class _Selection:
    """What one comparison runs: the app, its built-in workers and its kinds' workloads."""

    target: AppTarget
    workers: tuple[str, ...]
    builtin: tuple[str, ...]
    kinds: list[KindWorkload]


@dataclass(slots=True)
class _Paths:
    json: Path
    markdown: Path
    chart: Path
    runs: Path


# --- the command -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m workerkit.tools.compare``; return the exit status."""
    from workerkit.tools.cli import compare_main

    return compare_main(argv)


def run_compare(args: argparse.Namespace) -> int:
    """Prepare the data, run the campaign, print and write the report; return the status."""
    selection = _select(args)
    baseline = _load_baseline(args.baseline) if args.baseline else None
    paths = _paths(args)
    sizes = sizes_for(args.quick)
    began = time.perf_counter()
    _say(
        f"workerkit compare ({'quick' if args.quick else 'full'}): "
        f"{', '.join(selection.workers)}{_of_app(selection.target)}"
    )
    report, runs_log, notes = _measure(selection, sizes, args.library, args.quick)
    regressions = find_regressions(report.rows, baseline) if baseline is not None else []
    _say("")
    _say(format_table(report.rows, baseline, regressions, report.peer))
    _say("")
    for outcome in report.outcomes:
        if outcome.hangs or outcome.crashes:
            _say(f"{outcome.stack}: {outcome.worker}: {outcome.note}")
    method = [*_method(sizes, selection, report.peer), *notes]
    _write_outputs(report, regressions, baseline, paths, runs_log, method, _app_line(selection))
    elapsed = time.perf_counter() - began
    _say(f"\nwrote {paths.json}, {paths.markdown}, {paths.chart} in {elapsed:.0f} s")
    return exit_status(report, regressions, with_baseline=baseline is not None)


def _select(args: argparse.Namespace) -> _Selection:
    """Load the app and return what --workers selects of it."""
    target = load_target(args.app, Path.cwd())
    workers = select_workers(target, args.workers)
    builtin = tuple(w for w in workers if w in builtin_workers(target) and w != "scale")
    return _Selection(target, workers, builtin, kind_workloads(target.app, workers, args.quick))


def _measure(
    selection: _Selection, sizes: Sizes, library: Path | None, quick: bool
) -> tuple[Report, list[dict[str, Any]], list[str]]:
    from workerkit.tools.benchmarks.campaign import run_campaign
    from workerkit.tools.benchmarks.rows import build_kind_rows, build_outcomes

    dataset = _dataset(sizes, library) if selection.builtin else None
    peer = _peer(selection.builtin)
    with tempfile.TemporaryDirectory(prefix="workerkit-compare-") as scratch:
        work = Path(scratch)
        dataset_path = dataset.write(work / "dataset.json") if dataset is not None else None
        planned = _plan(selection, sizes, peer)
        _say(f"running {len(planned)} processes, each under a watchdog")
        runs = run_campaign(planned, dataset_path, work, sizes, _say, selection.target)
    report = Report(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        quick=quick,
        machine=_machine(),
        library=str(dataset.library) if dataset is not None else "",
        rows=[*_builtin_rows(runs, selection, sizes), *build_kind_rows(runs, selection.kinds)],
        outcomes=build_outcomes(runs),
        peer=peer,
        scale=_scale(selection, quick),
    )
    runs_log = [
        {
            "worker": run.worker,
            "workload": run.workload,
            "stack": run.stack,
            "run": run.index,
            "status": result.status,
            "exit": result.exit,
            "seconds": result.seconds,
            "metrics": result.metrics,
            "note": result.note,
        }
        for run, result in runs
    ]
    if dataset is None:
        return report, runs_log, []
    notes = [f"- data, {name}: {text}" for name, text in dataset.notes.items()]
    return report, [{"dataset": dataset.to_dict()}, *runs_log], notes


def _scale(selection: _Selection, quick: bool) -> list[ScaleCell]:
    """Run the scale cells if --workers names scale, each in its own process."""
    if "scale" not in selection.workers:
        return []
    from workerkit.tools.benchmarks.scale import QUICK_SCALE_SIZES, SCALE_SIZES, measure_scale

    _say("scale: no-op jobs, one process per cell")
    return measure_scale(QUICK_SCALE_SIZES if quick else SCALE_SIZES, _say)


def _dataset(sizes: Sizes, library: Path | None) -> Dataset:
    from workerkit.tools.benchmarks.data import prepare_dataset

    return prepare_dataset(sizes, library=library, log=lambda line: _say(f"  {line}"))


def _plan(selection: _Selection, sizes: Sizes, peer: Peer | None) -> list[PlannedRun]:
    """Return the built-in workers' runs, the peer's among them if installed, then the kinds'."""
    from workerkit.tools.benchmarks.campaign import plan_kind_runs, plan_runs

    if peer is not None and not peer.installed:
        _say(f"{peer.label}, so its runs are skipped")
    with_peer = peer is not None and peer.installed
    planned = plan_runs(selection.builtin, sizes, peer=with_peer)
    return planned + plan_kind_runs(selection.kinds, sizes)


def _peer(workers: Sequence[str]) -> Peer | None:
    """Return superqt's status if a worker has a peer workload, else None."""
    if not any(PEER_WORKLOADS.intersection(WORKLOADS[w]) for w in workers):
        return None
    return Peer(peer_version())


def _builtin_rows(runs: Runs, selection: _Selection, sizes: Sizes) -> list[Row]:
    if not selection.builtin:
        return []
    from workerkit.imagelib.pool_workers.annotation import DEFAULT_CONCURRENCY
    from workerkit.tools.benchmarks.rows import build_rows

    return build_rows(runs, selection.builtin, sizes, DEFAULT_CONCURRENCY)


def exit_status(report: Report, regressions: Sequence[Regression], *, with_baseline: bool) -> int:
    """Return 1 if the simplified stack hung or crashed, or a baseline regression; else 0."""
    if "simplified" in stacks_with_failures(report.outcomes):
        _say("the simplified stack hung, crashed or failed in some run: exit status 1")
        return 1
    if with_baseline and regressions:
        _say(f"{len(regressions)} regression(s) against the baseline: exit status 1")
        return 1
    return 0


# --- baseline ----------------------------------------------------------------------------


def _load_baseline(path: Path) -> list[Row]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"The baseline {path} does not exist; pass the compare.json of an earlier run."
        ) from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"The baseline {path} is not JSON ({exc}); pass the compare.json of an earlier run."
        ) from None
    if not isinstance(data, dict) or data.get("version") != REPORT_VERSION:
        raise ValueError(
            f"The baseline {path} is not a version {REPORT_VERSION} compare report; pass a "
            "compare.json written by this workerkit."
        )
    return [Row.from_dict(row) for row in data.get("rows", [])]


def find_regressions(rows: Sequence[Row], baseline: Sequence[Row]) -> list[Regression]:
    """Return the rows whose ratio fell by over 20%, or that missed a target met before."""
    before = {(row.worker, row.metric): row for row in baseline}
    found: list[Regression] = []
    for row in rows:
        old = before.get((row.worker, row.metric))
        if old is None:
            continue
        dropped = (
            old.ratio is not None
            and row.ratio is not None
            and row.ratio < old.ratio * (1 - REGRESSION_DROP)
        )
        if dropped:
            drop = 1 - row.ratio / old.ratio  # type: ignore[operator]
            found.append(
                Regression(row.worker, row.metric, old.ratio, row.ratio, f"ratio -{drop:.0%}")
            )
            continue
        if old.met is True and row.met is False:
            found.append(
                Regression(row.worker, row.metric, old.ratio, row.ratio, "target missed now")
            )
    return found


# --- the table and the Markdown report ---------------------------------------------------


def format_table(
    rows: Sequence[Row],
    baseline: Sequence[Row] | None = None,
    regressions: Sequence[Regression] = (),
    peer: Peer | None = None,
) -> str:
    """Return the rows as an aligned text table; add a baseline's ratios, the peer's columns."""
    header = _header(baseline, peer)
    lines = [header] + [_cells(row, baseline, regressions, peer) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    numeric = {3, 4, 5, 6, *((7, 8) if peer is not None else ())}
    rendered = [
        "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ).rstrip()
        for line in lines
    ]
    rendered.insert(1, "  ".join("-" * w for w in widths))
    if peer is not None:
        rendered += ["", peer.legend()]
    return "\n".join(rendered)


def _header(baseline: Sequence[Row] | None, peer: Peer | None) -> list[str]:
    """Return the column names: the peer's two after the floor, the baseline's last."""
    return [
        "worker", "metric", "unit", "legacy", "simplified", "ratio", "floor",
        *(["peer", "peer ratio"] if peer is not None else []),
        "target", "met",
        *(["baseline"] if baseline is not None else []),
    ]  # fmt: skip


def _cells(
    row: Row,
    baseline: Sequence[Row] | None,
    regressions: Sequence[Regression],
    peer: Peer | None = None,
) -> list[str]:
    cells = [
        row.worker,
        row.metric,
        row.unit,
        format_value(row.legacy),
        format_value(row.simplified),
        format_ratio(row.ratio),
        format_value(row.floor),
        *([format_value(row.peer), format_ratio(row.peer_ratio)] if peer is not None else []),
        row.target or "-",
        {True: "yes", False: "NO", None: "-"}[row.met],
    ]
    if baseline is not None:
        cells.append(_baseline_cell(row, baseline, regressions))
    return cells


def _baseline_cell(row: Row, baseline: Sequence[Row], regressions: Sequence[Regression]) -> str:
    old = next((b for b in baseline if (b.worker, b.metric) == (row.worker, row.metric)), None)
    if old is None:
        return "new"
    hit = next((r for r in regressions if (r.worker, r.metric) == (row.worker, row.metric)), None)
    shown = format_ratio(old.ratio)
    return f"{shown} REGRESSED ({hit.reason})" if hit is not None else shown


def format_value(value: float | None) -> str:
    """Return a number with about three significant digits, or "-" when there is none."""
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 100 or value == int(value):
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def format_ratio(value: float | None) -> str:
    """Return a ratio as e.g. "2.35x", or "-" when there is none."""
    return "-" if value is None else f"{value:.2f}x" if value < 100 else f"{value:.0f}x"


def to_markdown(
    report: Report,
    regressions: Sequence[Regression] = (),
    baseline: Sequence[Row] | None = None,
    method: Sequence[str] = (),
    app: str | None = None,
) -> str:
    """Return the report as Markdown: context, the table, outcomes, regressions, method.

    ``app`` names an app other than the image library, whose kinds the report compares.
    """
    machine = report.machine
    lines = [
        "# workerkit compare",
        "",
        f"- created: {report.created} ({'quick' if report.quick else 'full'} run)",
        f"- machine: {machine['platform']}, {machine['cpus']} CPUs, Python {machine['python']}, "
        f"PySide6 {machine['pyside6']}",
        *([f"- app: {app}"] if app else []),
        f"- library: `{report.library}`"
        if report.library
        else "- library: none (no image workload ran)",
        "- ratio > 1 means the simplified stack is better (legacy/simplified when lower is "
        "better, simplified/legacy when higher is better).",
        *([f"- {report.peer.legend()}"] if report.peer is not None else []),
        "",
        _markdown_table(report.rows, baseline, regressions, report.peer),
        "",
        "## Outcomes",
        "",
    ]
    lines += [
        f"- **{o.stack}** {o.worker}: {o.runs} runs, {o.hangs} hung, {o.crashes} crashed. {o.note}"
        for o in report.outcomes
    ]
    if baseline is not None:
        lines += ["", "## Against the baseline", ""]
        lines += [
            f"- {r.worker} / {r.metric}: {format_ratio(r.before)} -> {format_ratio(r.now)} "
            f"({r.reason})"
            for r in regressions
        ] or ["- no regressions"]
    if report.scale:
        lines += ["", "## Scale", "", *scale_markdown(report.scale), "", SCALE_METHOD]
    if method:
        lines += ["", "## How it was measured", "", *method]
    return "\n".join(lines) + "\n"


def _markdown_table(
    rows: Sequence[Row],
    baseline: Sequence[Row] | None,
    regressions: Sequence[Regression],
    peer: Peer | None,
) -> str:
    header = _header(baseline, peer)
    body = [_cells(row, baseline, regressions, peer) for row in rows]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |" for cells in body
    ]
    return "\n".join(lines)


def _method(sizes: Sizes, selection: _Selection, peer: Peer | None) -> list[str]:
    lines = [_GENERAL_METHOD, ""]
    if selection.target.is_image_library:
        lines += [_plumbing_method(sizes), *_image_method(sizes)]
    elif selection.builtin:
        lines.append(_plumbing_method(sizes))
    if peer is not None and peer.installed:
        lines.append(_PEER_METHOD)
    return lines + [_kind_method(kind) for kind in selection.kinds]


_PEER_METHOD = (
    "- peer: the round trip, the burst and the thumbnails written as a superqt user writes "
    "them, in their own process: each job is `create_worker(func, *args, _connect=...)` on "
    "QThreadPool.globalInstance(), its `returned` (burst: `finished`) signal handled by a "
    "GUI-thread slot. Round trip: `store.search(SearchConditions(limit=1))`, the next worker "
    "created from the event loop once the previous result was handled (superqt defers a "
    "start made inside a running event loop by a 1 ms timer). Burst: workers scanning an "
    "empty folder, all created at once. Thumbnails: one worker per image decoding a QImage "
    "(decode_thumbnail), the slot making its QPixmap on the GUI thread."
)


_GENERAL_METHOD = (
    "Every (workload, stack) runs in its own process with a QGuiApplication (offscreen) "
    "and drives the stack through the public WorkerService; timings are taken on the GUI "
    "thread when the terminal signal is handled. A 5 ms heartbeat QTimer measures GUI lag "
    "and samples the OS thread count and RSS (psutil). Values are medians over runs; "
    "cancellation values are p95 over runs. The search target allows 5% for noise."
)


def _plumbing_method(sizes: Sizes) -> str:
    return (
        f"- plumbing: {sizes.roundtrip_jobs} sequential no-op searches "
        "(SearchConditions(limit=1) on a 3-image database); the floor is the same search on a "
        f"long-lived QThread answering a queued signal. Burst: {sizes.burst_jobs} registrations "
        "of an empty folder submitted at once; a refused start (legacy ids collide within a "
        "second, D5) is counted and retried when the next job ends."
    )


def _image_method(sizes: Sizes) -> list[str]:
    return [
        f"- registration: the {sizes.library_files}-file library into an empty database.",
        f"- search: {sizes.search_queries} seeded queries, one after another, over "
        f"{sizes.search_rows} images.",
        f"- thumbnail: {sizes.thumbnails} JPEGs of 1920x1280 to 256 px; the floor is Pillow "
        "draft-mode decode + thumbnail on a thread pool with one thread per CPU.",
        f"- annotation: {sizes.annotations} images with the http model against the fake API "
        f"(own process, {sizes.annotation_latency_s:g} s per request); the floor is "
        "N x latency / concurrency.",
        "- cancellation: one cancel per process, inside a caption search that runs over a "
        f"second, inside a {sizes.http_cancel_latency_s:g} s HTTP call, and inside a "
        "registration loop; 'GUI blocked' is the time spent inside the cancel call, the "
        "latency runs from the request to the first terminal signal handled.",
    ]


def _kind_method(kind: KindWorkload) -> str:
    pace = {1: "one after another", None: "all at once"}.get(
        kind.in_flight, f"{kind.in_flight} at a time"
    )
    return (
        f"- {kind.kind}, {kind.name}: {kind.size} jobs started {pace} through JobService with "
        "the kind routed to the stack, after one untimed warm-up job; a job's latency runs "
        "from start() to its terminal event handled on the GUI thread; a refused start is "
        "counted and retried when the next job ends."
    )


# --- writing -----------------------------------------------------------------------------


def _paths(args: argparse.Namespace) -> _Paths:
    out: Path = args.out
    return _Paths(
        json=args.json or out / "compare.json",
        markdown=args.markdown or out / "compare.md",
        chart=args.chart or out / "compare.png",
        runs=out / "compare-runs.json",
    )


def _write_outputs(
    report: Report,
    regressions: Sequence[Regression],
    baseline: Sequence[Row] | None,
    paths: _Paths,
    runs_log: list[dict[str, Any]],
    method: Sequence[str],
    app: str | None,
) -> None:
    from workerkit.tools.chart import render_chart

    for path in (paths.json, paths.markdown, paths.chart, paths.runs):
        path.parent.mkdir(parents=True, exist_ok=True)
    paths.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    paths.runs.write_text(json.dumps(runs_log, indent=2) + "\n", encoding="utf-8")
    markdown = to_markdown(report, regressions, baseline, method, app)
    paths.markdown.write_text(markdown, encoding="utf-8")
    machine = report.machine
    peer = report.peer
    versus = f"legacy and {peer.library}" if peer is not None and peer.installed else "legacy"
    render_chart(
        report.rows,
        paths.chart,
        title=f"workerkit compare: simplified vs {versus} (ratio > 1: simplified better)",
        subtitle=(
            f"{report.created}, {'quick' if report.quick else 'full'} run, {machine['cpus']} CPUs, "
            f"Python {machine['python']}, PySide6 {machine['pyside6']}"
            + (f"; {peer.label}" if peer is not None else "")
        ),
        peer=peer.library if peer is not None else PEER_LIBRARY,
    )


def _of_app(target: AppTarget) -> str:
    return "" if target.is_image_library else f" of {target.app.name} ({target.spec})"


def _app_line(selection: _Selection) -> str | None:
    target = selection.target
    return None if target.is_image_library else f"{target.app.name} (`{target.spec}`)"


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "pyside6": _pyside_version(),
        "cpus": os.cpu_count() or 1,
        "platform": platform.platform(),
    }


def _pyside_version() -> str:
    for name in ("PySide6", "PySide6-Essentials"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
