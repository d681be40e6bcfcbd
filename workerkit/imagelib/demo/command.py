"""The `workerkit demo` command; importing it loads no Qt."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from workerkit.flags import add_flag_options, config_from_args, flags_from_args, resolve_flags

__all__ = ["add_command", "demo_paths"]


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``workerkit demo``: the GUI that compares the stacks on a real library."""
    command = subparsers.add_parser(
        "demo", help="open the demo window: register, search, thumbnails, annotate, switch stacks"
    )
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
    add_flag_options(command)
    command.set_defaults(handler=_cmd_demo)


def demo_paths(library: Path | None, database: Path | None) -> tuple[Path, Path]:
    """Return the library folder (the generated sample by default) and its database file."""
    if library is None:
        from workerkit.imagelib.sample import ensure_sample_library

        library = ensure_sample_library().root
    if not library.is_dir():
        raise NotADirectoryError(
            f"The library {library} is not a folder; pass --library with a folder of images, "
            "or leave it out to use the generated sample."
        )
    # The same file `workerkit run` uses, so the two share one registration.
    return library, database or library.parent / f"workerkit-{library.name}.sqlite"


def _cmd_demo(args: argparse.Namespace) -> int:
    from workerkit.imagelib.kinds import app

    flags = resolve_flags(app, cli=flags_from_args(args), toml_path=config_from_args(args))
    library, database = demo_paths(args.library, args.db)
    if not _has_display():
        print(
            "workerkit demo: error: no display found (DISPLAY and WAYLAND_DISPLAY are unset), "
            "so the window cannot open; run it in a desktop session, or set "
            "QT_QPA_PLATFORM=offscreen to run it headless (then stop it with Ctrl+C).",
            file=sys.stderr,
        )
        return 2
    from workerkit.imagelib.demo.app import run_demo

    return run_demo(library, database, flags, per_image=args.per_image)


def _has_display() -> bool:
    # On Linux, QApplication aborts the whole process when it finds no display to connect to.
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
