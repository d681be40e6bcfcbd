"""The ``workerkit checklist`` command: its options, the report it prints, ``--update``."""

from __future__ import annotations

import argparse
from pathlib import Path

from workerkit._app import APP_ENV
from workerkit.flags import CONFIG_FILE
from workerkit.tools.checklist.options import (
    CONTRACT_DIR,
    DEFAULT_COMPARE,
    DEFAULT_MIGRATION,
    DEFAULT_SHADOW_LOG,
    RESULTS_DIR,
    Options,
    default_contract_tests,
)
from workerkit.tools.checklist.render import replace_status_block, status_block, text_lines
from workerkit.tools.checklist.report import run_checklist

__all__ = ["add_command"]


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``workerkit checklist``: check each migration stage's gates."""
    command = subparsers.add_parser(
        "checklist", help="check the migration stages' gates (flags, tests, benchmarks, shadow)"
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
        "[tool.workerkit] app in workerkit.toml or pyproject.toml, else the image library)",
    )
    command.add_argument(
        "--contract-tests",
        action="append",
        metavar="PATH",
        help=f"the contract tests that gate each kind (repeatable; default {CONTRACT_DIR})",
    )
    command.set_defaults(handler=_cmd_checklist)


def _cmd_checklist(args: argparse.Namespace) -> int:
    options = _options(args)
    report = run_checklist(options)
    print("\n".join(text_lines(report)))
    if args.update:
        _update_migration(options.migration, status_block(report))
        print(f"updated the status block of {options.migration}")
    return report.exit_code


def _options(args: argparse.Namespace) -> Options:
    root = Path(args.migration).resolve().parent
    return Options(
        migration=args.migration,
        compare=args.compare,
        shadow_log=args.shadow_log,
        config=args.config,
        run=args.run,
        app=args.app,
        contract_tests=tuple(args.contract_tests or default_contract_tests(root)),
    )


def _update_migration(path: Path, block: str) -> None:
    # Bytes in and out, so line endings and everything outside the markers stay as they were.
    text = path.read_bytes().decode("utf-8")
    path.write_bytes(replace_status_block(text, block).encode("utf-8"))
