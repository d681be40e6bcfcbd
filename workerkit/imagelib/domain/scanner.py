"""Find image files under a folder, following symlinked folders without looping."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from workerkit.imagelib.domain.failures import FileFailure

__all__ = ["IMAGE_EXTENSIONS", "Scan", "ScanError", "display_path", "scan_images", "scan_library"]

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


@dataclass(slots=True)
class Scan:
    """Hold the image files found under a folder and what could not be looked at."""

    files: list[Path] = field(default_factory=list)
    problems: list[FileFailure] = field(default_factory=list)

    def skip(self, path: str | os.PathLike[str], reason: str) -> None:
        """Record that ``path`` was skipped and why."""
        self.problems.append(FileFailure(Path(path), f"skipped while scanning: {reason}"))


def scan_images(root: Path) -> list[Path]:
    """Return every image file under ``root``, sorted by path bytes."""
    return scan_library(root).files


def scan_library(root: Path) -> Scan:
    """Return every image file under ``root``, sorted by path bytes, and the paths skipped."""
    root = Path(root)
    _check_root(root)
    scan = Scan()
    visited: set[tuple[int, int]] = set()
    # Real folders are walked before symlinked ones, so a file reachable both ways keeps its
    # real path; the visited set then stops aliases and loops.
    real: list[Path] = [root]
    linked: list[Path] = []
    while real or linked:
        directory = real.pop() if real else linked.pop()
        if _enter(directory, visited, scan):
            _scan_one(directory, scan, real, linked)
    scan.files.sort(key=os.fsencode)
    return scan


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


def _enter(directory: Path, visited: set[tuple[int, int]], scan: Scan) -> bool:
    """Mark ``directory`` visited; return False if it was already visited or is gone."""
    try:
        info = directory.stat()
    except OSError as exc:
        scan.skip(directory, f"the folder cannot be opened ({exc.strerror})")
        return False
    key = (info.st_dev, info.st_ino)
    if key in visited:
        return False
    visited.add(key)
    return True


def _scan_one(directory: Path, scan: Scan, real: list[Path], linked: list[Path]) -> None:
    """Add the images in ``directory`` to the scan and queue its subfolders."""
    try:
        with os.scandir(directory) as entries:
            ordered = sorted(entries, key=lambda entry: os.fsencode(entry.name), reverse=True)
    except OSError as exc:
        # A folder may vanish or be unreadable mid-scan; the rest of the tree is still useful.
        scan.skip(directory, f"the folder cannot be read ({exc.strerror})")
        return
    for entry in ordered:
        _sort_entry(entry, scan, real, linked)


def _sort_entry(entry: os.DirEntry[str], scan: Scan, real: list[Path], linked: list[Path]) -> None:
    """Put one directory entry in the found list or the folder queue it belongs to."""
    try:
        if entry.is_dir():
            (linked if entry.is_symlink() else real).append(Path(entry.path))
        elif entry.is_file() and _is_image_name(entry.name):
            scan.files.append(Path(entry.path))
        elif entry.is_symlink() and _is_image_name(entry.name):
            scan.skip(entry.path, "it is a symbolic link to nothing")
    except OSError as exc:
        if _is_image_name(entry.name) or entry.is_dir(follow_symlinks=False):
            scan.skip(entry.path, f"it cannot be opened ({exc.strerror})")


def _is_image_name(name: str) -> bool:
    """Return whether ``name`` ends in one of IMAGE_EXTENSIONS, ignoring case."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
