"""The `workerkit demo` command (its options: ``workerkit.tools.cli``); importing it loads no Qt."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from workerkit.flags import resolve_flags

__all__ = ["demo_command", "demo_paths"]


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


def demo_command(
    library: Path | None,
    database: Path | None,
    *,
    per_image: bool,
    cli_flags: Mapping[str, str],
    config: Path | None,
) -> int:
    """Run ``workerkit demo``: open the window on ``library``; return the exit status.

    Args:
        library: The image folder (None: the generated sample).
        database: The SQLite file (None: next to the library, as ``demo_paths`` says).
        per_image: Load thumbnails as a preview batch, one job per image.
        cli_flags: The flags given on the command line, keyed by kind name.
        config: ``--config``, the flag file to read instead of ``./workerkit.toml``.
    """
    from workerkit.imagelib.kinds import app

    flags = resolve_flags(app, cli=cli_flags, toml_path=config)
    library, database = demo_paths(library, database)
    if not _has_display():
        print(
            "workerkit demo: error: no display found (DISPLAY and WAYLAND_DISPLAY are unset), "
            "so the window cannot open; run it in a desktop session, or set "
            "QT_QPA_PLATFORM=offscreen to run it headless (then stop it with Ctrl+C).",
            file=sys.stderr,
        )
        return 2
    from workerkit.imagelib.demo.app import run_demo

    return run_demo(library, database, flags, per_image=per_image)


def _has_display() -> bool:
    # On Linux, QApplication aborts the whole process when it finds no display to connect to.
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
