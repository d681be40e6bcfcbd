"""The file lab's own domain code, shared by both sides: folder checksums and word lookups.

Standard library only, so the QThread-era workers and the pool functions can both use it.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHUNK",
    "ChecksumResult",
    "LookupResult",
    "files_of",
    "matching",
    "read_words",
    "sha256_of",
]

CHUNK = 1 << 20
"""How many bytes one read of a file takes while it is hashed."""


@dataclass(frozen=True, slots=True)
class ChecksumResult:
    """Say which SHA-256 each file of a folder has, by file name, in name order."""

    folder: str
    digests: tuple[tuple[str, str], ...]

    def digest_of(self, name: str) -> str:
        """Return the SHA-256 of the file called ``name``."""
        return dict(self.digests)[name]


@dataclass(frozen=True, slots=True)
class LookupResult:
    """Say which words of a word list match a pattern, in list order."""

    pattern: str
    words: tuple[str, ...]


def files_of(folder: str | Path) -> list[Path]:
    """Return the regular files directly inside ``folder``, by name.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    return sorted(path for path in root.iterdir() if path.is_file())


def sha256_of(path: Path) -> str:
    """Return the SHA-256 of the file at ``path`` as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_words(path: str | Path) -> list[str]:
    """Return the words of a word list, one a line, without blank lines."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def matching(words: Iterable[str], pattern: str) -> list[str]:
    """Return the words that match the shell-style ``pattern``, ignoring case."""
    wanted = pattern.lower()
    return [word for word in words if fnmatch.fnmatchcase(word.lower(), wanted)]
