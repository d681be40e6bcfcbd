"""The source trees a cached test result depends on, and the first file changed after it."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

__all__ = ["WATCHED_TREES", "app_sources", "newer_source", "watched_paths"]

# A cached test result older than any .py file in these trees of the project, or in the
# app's own package, is stale.
WATCHED_TREES: tuple[str, ...] = ("legacy", "simplified", "workerkit", "tests")


def watched_paths(root: Path, spec: str) -> tuple[Path, ...]:
    """Return the project's watched trees, then the app's own package if it is in the project.

    An app installed elsewhere changes only by reinstalling it; its package is not watched,
    so a cached result in one project does not depend on another tree's edits.
    """
    trees = [root / tree for tree in WATCHED_TREES]
    own = [path for path in app_sources(spec) if path.is_relative_to(root) and path != root]
    return tuple(dict.fromkeys([*trees, *own]))


def app_sources(spec: str) -> tuple[Path, ...]:
    """Return the folder(s) of the top-level package of ``module:attribute``, or its file."""
    top = spec.partition(":")[0].split(".")[0]
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return ()
    if found is None:
        return ()
    if found.submodule_search_locations:
        return tuple(Path(folder).resolve() for folder in found.submodule_search_locations)
    return (Path(found.origin).resolve(),) if found.origin else ()


def newer_source(root: Path, watched: Sequence[Path], epoch: float) -> str | None:
    """Return the first watched ``.py`` file changed after ``epoch``, relative to ``root``."""
    for tree in watched:
        files = [tree] if tree.is_file() else tree.rglob("*.py")
        for path in files:
            if path.stat().st_mtime > epoch:
                return path.relative_to(root).as_posix()
    return None
