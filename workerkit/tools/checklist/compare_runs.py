"""The compare runs a benchmark gate reads: found on disk, or made now by a child process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from workerkit.tools.checklist.children import run_child, tail
from workerkit.tools.checklist.jsonfile import read_json_object
from workerkit.tools.checklist.options import DEFAULT_COMPARE, Options

__all__ = [
    "COMPARE_TIMEOUT_S",
    "CompareRun",
    "compare_candidates",
    "find_compare",
    "load_compare",
    "run_compare",
]

COMPARE_TIMEOUT_S = 3600.0


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

    def failures(self, worker: str, stack: str) -> list[str]:
        """Return, per outcome of ``worker`` on ``stack`` that hung or crashed, what happened."""
        failures = []
        for outcome in self.document.get("outcomes", []):
            if outcome.get("worker") == worker and outcome.get("stack") == stack:
                bad = {k: outcome.get(k, 0) for k in ("hangs", "crashes") if outcome.get(k, 0)}
                if bad:
                    what = ", ".join(f"{count} {key}" for key, count in bad.items())
                    failures.append(f"{stack} {worker}: {what} in {outcome.get('runs')} runs")
        return failures

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
        document = read_json_object(path)
    except ValueError as exc:
        return str(exc)
    if document.get("version") != 1 or not isinstance(document.get("rows"), list):
        return f"{path} is not a version-1 compare JSON with a 'rows' list"
    return CompareRun(path, document)


def run_compare(options: Options, worker: str) -> CompareRun | str:
    """Run ``workerkit compare --quick`` for one worker in a child process and load its JSON."""
    folder = (options.results_dir / f"compare-{worker}").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "compare.json"
    out.unlink(missing_ok=True)
    command = [
        *(options.compare_command or (options.python, "-m", "workerkit.tools.compare")),
        *("--quick", "--workers", worker, "--out", str(folder), "--json", str(out)),
    ]
    done = run_child(command, timeout_s=COMPARE_TIMEOUT_S, env=options.subprocess_env())
    if isinstance(done, str):
        return done
    if not out.is_file():
        return f"`{' '.join(command)}` exited {done.returncode} without writing {out}: {tail(done)}"
    return load_compare(out)
