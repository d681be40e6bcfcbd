"""Find image files under a folder, following symlinked folders without looping."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["IMAGE_EXTENSIONS", "ScanError", "display_path", "scan_images"]

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
)


class ScanError(Exception):
    """The folder to scan does not exist or is not a folder."""

    def __init__(self, root: Path, reason: str) -> None:
        super().__init__(root, reason)
        self.root = root
        self.reason = reason

    def __str__(self) -> str:
        return f"Cannot scan '{display_path(self.root)}': {self.reason}. Pass a folder of images."


def display_path(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as printable text, replacing bytes that are not valid UTF-8."""
    # Non-UTF-8 names surface as lone surrogates, which Qt and UTF-8 writers reject.
    return os.fsencode(path).decode("utf-8", "replace")


def scan_images(root: Path) -> list[Path]:
    """Return every image file under ``root``, sorted by path bytes."""
    root = Path(root)
    _check_root(root)
    found: list[Path] = []
    visited: set[tuple[int, int]] = set()
    # Real folders are walked before symlinked ones, so a file reachable both ways keeps its
    # real path; the visited set then stops aliases and loops.
    real: list[Path] = [root]
    linked: list[Path] = []
    while real or linked:
        directory = real.pop() if real else linked.pop()
        if _enter(directory, visited):
            _scan_one(directory, found, real, linked)
    return sorted(found, key=os.fsencode)


def _check_root(root: Path) -> None:
    """Raise ScanError unless ``root`` is an existing folder."""
    try:
        mode = root.stat().st_mode
    except FileNotFoundError:
        raise ScanError(root, "it does not exist") from None
    except OSError as exc:
        raise ScanError(root, f"it cannot be read ({exc.strerror})") from exc
    if not stat.S_ISDIR(mode):
        raise ScanError(root, "it is not a directory")


def _enter(directory: Path, visited: set[tuple[int, int]]) -> bool:
    """Mark ``directory`` visited; return False if it was already visited or is gone."""
    try:
        info = directory.stat()
    except OSError as exc:
        logger.warning("skipping folder %s: %s", display_path(directory), exc.strerror)
        return False
    key = (info.st_dev, info.st_ino)
    if key in visited:
        return False
    visited.add(key)
    return True


def _scan_one(directory: Path, found: list[Path], real: list[Path], linked: list[Path]) -> None:
    """Add the images in ``directory`` to ``found`` and queue its subfolders."""
    try:
        with os.scandir(directory) as entries:
            ordered = sorted(entries, key=lambda entry: os.fsencode(entry.name), reverse=True)
    except OSError as exc:
        # A folder may vanish or be unreadable mid-scan; the rest of the tree is still useful.
        logger.warning("skipping folder %s: %s", display_path(directory), exc.strerror)
        return
    for entry in ordered:
        _sort_entry(entry, found, real, linked)


def _sort_entry(
    entry: os.DirEntry[str], found: list[Path], real: list[Path], linked: list[Path]
) -> None:
    """Put one directory entry in the found list or the folder queue it belongs to."""
    try:
        if entry.is_dir():
            (linked if entry.is_symlink() else real).append(Path(entry.path))
        elif entry.is_file() and _is_image_name(entry.name):
            found.append(Path(entry.path))
    except OSError as exc:
        logger.warning("skipping %s: %s", display_path(entry.path), exc.strerror)


def _is_image_name(name: str) -> bool:
    """Return whether ``name`` ends in one of IMAGE_EXTENSIONS, ignoring case."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
