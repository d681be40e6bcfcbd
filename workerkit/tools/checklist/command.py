"""The ``workerkit checklist`` command: the report it prints, ``--update`` (options: cli.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from workerkit.tools.checklist.options import Options, default_contract_tests
from workerkit.tools.checklist.render import replace_status_block, status_block, text_lines
from workerkit.tools.checklist.report import run_checklist

__all__ = ["checklist_command"]


def checklist_command(args: argparse.Namespace) -> int:
    """Run ``workerkit checklist``: print the report, rewrite the status block on --update."""
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
