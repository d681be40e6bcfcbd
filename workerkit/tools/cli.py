"""The `workerkit` command line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from workerkit._extras import extra_advice

__all__ = ["main"]

# Modules that register a subcommand through ``add_command(subparsers)``; importing
# them must stay cheap (no Qt at import time).
_COMMAND_MODULES: tuple[str, ...] = (
    "workerkit.tools.checklist",
    "workerkit.tools.compare",
    "workerkit.imagelib.demo.command",
    "workerkit.tools.doctor",
    "workerkit.flags",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, NotADirectoryError) as exc:
        print(f"workerkit: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        advice = extra_advice(exc, f"workerkit {args.command}")
        if advice is None:
            raise
        print(f"workerkit: error: {advice}", file=sys.stderr)
        return 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workerkit", description=__doc__)
    commands = parser.add_subparsers(title="commands", dest="command")

    sample = commands.add_parser("sample", help="generate a photo-like sample image library")
    sample.add_argument(
        "directory",
        type=Path,
        nargs="?",
        help="where to write it (default: the cached embedded sample)",
    )
    sample.add_argument("--count", type=int, default=200, help="number of files (default 200)")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sample.set_defaults(handler=_cmd_sample)

    run = commands.add_parser(
        "run",
        help="register, search, load thumbnails and annotate, end to end through WorkerService",
    )
    run.add_argument("--library", type=Path, help="image folder (default: the generated sample)")
    run.add_argument("--db", type=Path, help="SQLite file (default: <library>/../workerkit.sqlite)")
    run.add_argument(
        "--stack",
        default="legacy",
        help="stack for every worker kind: legacy or simplified (default legacy)",
    )
    run.add_argument("--models", default="local", help="comma-separated annotators (local,http)")
    run.set_defaults(handler=_cmd_run)
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).add_command(commands)
    return parser


def _cmd_sample(args: argparse.Namespace) -> int:
    from workerkit.imagelib.sample import ensure_sample_library, make_sample_library

    if args.directory is None:
        manifest = ensure_sample_library(count=args.count, seed=args.seed)
    else:
        manifest = make_sample_library(args.directory, count=args.count, seed=args.seed)
    print(
        f"sample library at {manifest.root}: {manifest.images} images "
        f"({manifest.duplicates} duplicates), {manifest.corrupt} corrupt files, "
        f"{manifest.with_sidecars} with sidecars"
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    _default_to_offscreen()
    from PySide6.QtGui import QGuiApplication

    from workerkit._stacks import check_stack
    from workerkit.imagelib.domain.store import ImageStore
    from workerkit.imagelib.kinds import Kind
    from workerkit.imagelib.pipeline import run_pipeline
    from workerkit.imagelib.sample import ensure_sample_library

    stack = check_stack(args.stack)
    library = args.library or ensure_sample_library().root
    db = args.db or library.parent / f"workerkit-{library.name}.sqlite"
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    store = ImageStore(db)
    try:
        report = run_pipeline(
            library,
            store,
            stacks=dict.fromkeys((k.value for k in Kind), stack),
            models=[m.strip() for m in args.models.split(",") if m.strip()],
        )
    finally:
        store.close()
    print(f"library {library}\ndatabase {db}")
    print("\n".join(report.lines()))
    del app
    return 0 if report.ok else 1


def _default_to_offscreen() -> None:
    # Without a display Qt aborts at QGuiApplication(); offscreen needs none.
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


if __name__ == "__main__":
    raise SystemExit(main())
