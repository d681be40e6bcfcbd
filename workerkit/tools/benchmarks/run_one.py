"""Run one workload on one stack in this process and print its metrics as one JSON line.

Usage: ``python -m workerkit.tools.benchmarks.run_one --workload burst --stack legacy
--dataset DATASET.json --work DIR``; for a kind's declared workload, ``--workload
KIND/NAME --app MODULE:ATTR --size N`` in place of ``--dataset``. The runner starts one
such process per (workload, stack, run) under a watchdog, so a hang or a crash of a stack is
something it observes and reports, not something that stops the comparison.
The result line is printed before the service is shut down, so a stack that
hangs or crashes while shutting down still leaves its measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from workerkit.tools.benchmarks.plan import CHILD_TIMEOUT_SHARE, PEER, PEER_LIBRARY

RESULT_PREFIX = "WORKERKIT-RESULT "

__all__ = ["RESULT_PREFIX", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the workload and print ``WORKERKIT-RESULT {json}``; return 0, or 3 if it failed."""
    args = _parse(argv)
    # Benchmarks show no window; offscreen also works without a display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    from workerkit.tools.benchmarks.harness import WorkloadError, WorkloadTimeout

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    args.work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as cleanup:
        try:
            metrics = _measure(args, cleanup)
        except WorkloadTimeout as exc:
            return _report(args, {}, status="hung", note=str(exc))
        except WorkloadError as exc:
            return _report(args, {}, status="error", note=str(exc))
        except Exception as exc:
            trace = traceback.format_exc(limit=6)
            return _report(args, {}, status="error", note=f"{exc!r:.300}\n{trace}")
        _report(args, metrics, status="ok", note="")
    del app
    return 0


def _report(args: argparse.Namespace, metrics: dict[str, Any], *, status: str, note: str) -> int:
    line = {
        "workload": args.workload,
        "stack": args.stack,
        "status": status,
        "metrics": metrics,
        "note": note,
    }
    print(RESULT_PREFIX + json.dumps(line), flush=True)
    return 0 if status == "ok" else 3


def _measure(args: argparse.Namespace, cleanup: ExitStack) -> dict[str, Any]:
    """Run the built-in workload on the dataset, or the app kind's declared one."""
    if args.app is not None:
        from workerkit.tools.benchmarks.declared import run_declared

        return run_declared(
            args.app,
            args.workload,
            args.stack,
            size=args.size,
            work=args.work,
            timeout_s=args.watchdog * CHILD_TIMEOUT_SHARE,
            cleanup=cleanup,
        )
    from workerkit.tools.benchmarks.data import Dataset

    data = Dataset.read(args.dataset)
    return _workload(args.workload, args.stack)(data, args.stack, args.work, cleanup)


def _workload(name: str, stack: str) -> Callable[..., dict[str, Any]]:
    from workerkit.tools.benchmarks import cancellation, floors, workloads

    if stack == "floor":
        floor = {"roundtrip": floors.roundtrip_floor, "thumbnail": floors.thumbnail_floor}[name]
        return lambda data, _stack, work, cleanup: floor(data, work, cleanup)
    if stack == PEER:
        peer = _peer_workload(name)
        return lambda data, _stack, work, cleanup: peer(data, work, cleanup)
    return {
        "roundtrip": workloads.roundtrip,
        "burst": workloads.burst,
        "registration": workloads.registration,
        "search": workloads.search,
        "thumbnail": workloads.thumbnail,
        "annotation": workloads.annotation,
        "cancel-sqlite": cancellation.cancel_sqlite,
        "cancel-http": cancellation.cancel_http,
        "cancel-loop": cancellation.cancel_loop,
    }[name]


def _peer_workload(name: str) -> Callable[..., dict[str, Any]]:
    """Return the superqt version of workload ``name``; raise WorkloadError without superqt."""
    from workerkit.tools.benchmarks.harness import WorkloadError

    try:
        from workerkit.tools.benchmarks import peers
    except ImportError as exc:
        raise WorkloadError(
            f"The {PEER} stack needs {PEER_LIBRARY}, which cannot be imported ({exc}); "
            "install it with `pip install 'workerkit[peers]'`."
        ) from None
    return {"roundtrip": peers.roundtrip, "burst": peers.burst, "thumbnail": peers.thumbnail}[name]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workerkit.tools.benchmarks.run_one", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--workload", required=True, help="e.g. roundtrip, burst, cancel-http")
    parser.add_argument("--stack", required=True, help="legacy, simplified, floor or peer")
    parser.add_argument("--dataset", type=Path, help="dataset JSON file (built-in workloads)")
    parser.add_argument("--work", required=True, type=Path, help="private scratch folder")
    declared = parser.add_argument_group("a declared kind's workload (--workload KIND/NAME)")
    declared.add_argument("--app", metavar="MODULE:ATTR", help="the app declaring the kind")
    declared.add_argument("--size", type=int, default=10, help="number of jobs (default 10)")
    declared.add_argument(
        "--watchdog", type=float, default=40.0, help="the parent's watchdog in s (default 40)"
    )
    return parser


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.app is None and args.dataset is None:
        parser.error("--dataset is required for a built-in workload (or pass --app)")
    return args


if __name__ == "__main__":
    raise SystemExit(main())
