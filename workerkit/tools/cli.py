"""The `workerkit` command line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from workerkit._app import APP_ENV
from workerkit._config import CONFIG_FILE, WORKERS_TABLE
from workerkit._extras import extra_advice

__all__ = ["build_parser", "compare_main", "flags_from_args", "main"]

# Every command's options are declared here; each handler lives in its command's module
# and is imported when the command runs, so that building the parser loads no Qt (the
# configured app's declarations, read for the --<kind> options, may).
_Handler = Callable[[argparse.Namespace], int]

_APP_DEFAULT = "[tool.workerkit] app in workerkit.toml or pyproject.toml, else the image library"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit status."""
    parser = build_parser()
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


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every `workerkit` command; ``args.handler(args)`` runs one."""
    parser = argparse.ArgumentParser(prog="workerkit", description=__doc__)
    commands = parser.add_subparsers(title="commands", dest="command")
    _add_sample(commands.add_parser("sample", help="generate a photo-like sample image library"))
    _add_run(
        commands.add_parser(
            "run",
            help="register, search, load thumbnails and annotate, end to end through WorkerService",
        )
    )
    _add_checklist(
        commands.add_parser(
            "checklist",
            help="check the migration stages' gates (flags, tests, benchmarks, shadow)",
        )
    )
    from workerkit.tools import compare

    compare_command = commands.add_parser(
        "compare",
        help="measure every worker on the legacy and the simplified stack, side by side",
        description=(compare.__doc__ or "").splitlines()[0],
    )
    _add_compare_options(compare_command)
    compare_command.set_defaults(handler=_handler("workerkit.tools.compare", "run_compare"))
    _add_demo(
        commands.add_parser(
            "demo",
            help="open the demo window: register, search, thumbnails, annotate, switch stacks",
        )
    )
    doctor = commands.add_parser(
        "doctor",
        help="report Python, PySide6, Qt threads, QtAsyncio and the annotation runtimes that work",
    )
    doctor.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    doctor.set_defaults(handler=_handler("workerkit.tools.doctor", "doctor_command"))
    flags = commands.add_parser("flags", help="show which stack each worker kind runs on, and why")
    flags.add_argument("--app", metavar="MODULE:ATTR", help="the app whose kinds to show")
    _add_flag_options(flags)
    flags.set_defaults(handler=_run_flags)
    return parser


def compare_main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m workerkit.tools.compare`` (the compare options only); return the status."""
    from workerkit.tools import compare

    parser = argparse.ArgumentParser(
        prog="python -m workerkit.tools.compare", description=compare.__doc__
    )
    _add_compare_options(parser)
    args = parser.parse_args(argv)
    try:
        return compare.run_compare(args)
    except (ValueError, FileNotFoundError, NotADirectoryError) as exc:
        print(f"workerkit compare: error: {exc}", file=sys.stderr)
        return 2


# --- the commands' options -----------------------------------------------------------------


def _add_sample(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "directory",
        type=Path,
        nargs="?",
        help="where to write it (default: the cached embedded sample)",
    )
    command.add_argument("--count", type=int, default=200, help="number of files (default 200)")
    command.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    command.set_defaults(handler=_cmd_sample)


def _add_run(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--library", type=Path, help="image folder (default: the generated sample)"
    )
    command.add_argument(
        "--db", type=Path, help="SQLite file (default: <library>/../workerkit.sqlite)"
    )
    command.add_argument(
        "--stack",
        default="legacy",
        help="stack for every worker kind: legacy or simplified (default legacy)",
    )
    command.add_argument(
        "--models", default="local", help="comma-separated annotators (local,http)"
    )
    command.set_defaults(handler=_cmd_run)


def _add_checklist(command: argparse.ArgumentParser) -> None:
    from workerkit.tools.checklist.options import (
        CONTRACT_DIR,
        DEFAULT_COMPARE,
        DEFAULT_MIGRATION,
        DEFAULT_SHADOW_LOG,
        RESULTS_DIR,
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
        f"{_APP_DEFAULT})",
    )
    command.add_argument(
        "--contract-tests",
        action="append",
        metavar="PATH",
        help=f"the contract tests that gate each kind (repeatable; default {CONTRACT_DIR})",
    )
    command.set_defaults(handler=_handler("workerkit.tools.checklist.command", "checklist_command"))


def _add_compare_options(parser: argparse.ArgumentParser) -> None:
    from workerkit.tools.benchmarks.plan import WORKERS
    from workerkit.tools.compare import DEFAULT_OUT

    parser.add_argument(
        "--quick", action="store_true", help="small workloads, one run each (about a minute)"
    )
    parser.add_argument(
        "--workers",
        help=f"comma-separated subset of {','.join(WORKERS)} for the image library, or of "
        "plumbing and the app's kinds with workloads (default: all)",
    )
    parser.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help=f"the app whose kinds to compare (default: WORKERKIT_APP, {_APP_DEFAULT})",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--json", type=Path, help="JSON report path (default OUT/compare.json)")
    parser.add_argument("--markdown", type=Path, help="Markdown path (default OUT/compare.md)")
    parser.add_argument("--chart", type=Path, help="PNG chart path (default OUT/compare.png)")
    parser.add_argument(
        "--baseline", type=Path, help="a previous compare.json; exit 1 if a ratio regressed"
    )
    parser.add_argument(
        "--library", type=Path, help="image folder to use instead of the generated sample"
    )


def _add_demo(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--library", type=Path, metavar="DIR", help="image folder (default: the generated sample)"
    )
    command.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="SQLite file (default: <library>/../workerkit-<name>.sqlite)",
    )
    command.add_argument(
        "--per-image",
        action="store_true",
        help="load thumbnails as a preview batch, one job per image (JobService.map), "
        "instead of one thumbnail job per search",
    )
    _add_flag_options(command)
    command.set_defaults(handler=_run_demo)


def _add_flag_options(parser: argparse.ArgumentParser) -> None:
    """Add --config, --flag KIND=VALUE and one --<kind> option per kind of the configured app.

    An app that does not load adds no --<kind> options: the command reports it when it runs.
    """
    from workerkit._app import load_app
    from workerkit.flags import FLAG_VALUES, env_var

    group = parser.add_argument_group("worker flags")
    group.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help=f"TOML file with a [{WORKERS_TABLE}] table (default: ./{CONFIG_FILE} if it exists)",
    )
    group.add_argument(
        "--flag",
        action="append",
        default=[],
        metavar="KIND=VALUE",
        help="set one kind's flag (any declared kind, e.g. of an app given with --app)",
    )
    try:
        app = load_app()
    except ValueError:
        return
    for kind in app.kinds:
        allowed = FLAG_VALUES if kind.shadowable else FLAG_VALUES[:2]
        group.add_argument(
            f"--{kind.name}",
            dest=f"flag_{kind.name}",
            metavar="V",
            help=f"{' | '.join(allowed)} (overrides {env_var(kind.name)})",
        )


def flags_from_args(args: argparse.Namespace) -> dict[str, str]:
    """Return the flags given by the worker-flag options, keyed by kind name.

    Raises:
        FlagError: A ``--flag`` item is not ``KIND=VALUE``.
    """
    from workerkit.flags import flag_item

    given = {
        name.removeprefix("flag_"): value
        for name, value in vars(args).items()
        if name.startswith("flag_") and value is not None
    }
    given.update(flag_item(item) for item in getattr(args, "flag", None) or [])
    return given


# --- the handlers: each imports its module when its command runs ---------------------------


def _handler(module: str, function: str) -> _Handler:
    def run(args: argparse.Namespace) -> int:
        handler: _Handler = getattr(importlib.import_module(module), function)
        return handler(args)

    run.__qualname__ = run.__name__ = f"{module}.{function}"
    return run


def _run_demo(args: argparse.Namespace) -> int:
    from workerkit.imagelib.demo.command import demo_command

    return demo_command(
        args.library,
        args.db,
        per_image=args.per_image,
        cli_flags=flags_from_args(args),
        config=args.config,
    )


def _run_flags(args: argparse.Namespace) -> int:
    from workerkit.flags import FlagError, flags_command

    try:
        cli_flags = flags_from_args(args)
    except FlagError as exc:
        print(f"workerkit flags: error: {exc}", file=sys.stderr)
        return 2
    return flags_command(args.app, cli_flags, args.config)


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
