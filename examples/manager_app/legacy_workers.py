"""The lab's QThread-era workers, as the app wrote them before workerkit.

Each checks for a cancel between its steps only: a slow step (a file arriving from a
slow share, a word index opening) runs to its end once begun, as a blocking read or a
database call does in the real app.
"""

from __future__ import annotations

import time
from pathlib import Path

from examples.manager_app.base_worker import LabWorkerBase
from examples.manager_app.domain import (
    ChecksumResult,
    LookupResult,
    files_of,
    matching,
    read_words,
    sha256_of,
)

__all__ = ["LOOKUP_BLOCK", "ChecksumWorker", "LookupWorker"]

LOOKUP_BLOCK = 500
"""How many words one lookup step matches: the unit of work between cancel checks."""


class ChecksumWorker(LabWorkerBase):
    """Compute the SHA-256 of every file of a folder, one progress report per file.

    Args:
        folder: The folder whose files are hashed (not its subfolders).
        read_delay_s: How long each file takes to arrive (a slow share; 0 for a local disk).
    """

    def __init__(self, folder: str, read_delay_s: float = 0.0) -> None:
        super().__init__()
        self.folder = str(folder)
        self.read_delay_s = read_delay_s

    def execute(self) -> ChecksumResult:
        """Hash the files in name order, checking for a cancel before each."""
        files = files_of(self.folder)
        digests: list[tuple[str, str]] = []
        for done, path in enumerate(files, start=1):
            self._check_canceled()
            digests.append((path.name, self._hash(path)))
            self._report_progress(done, len(files), f"hashed {path.name}")
        return ChecksumResult(self.folder, tuple(digests))

    def _hash(self, path: Path) -> str:
        if self.read_delay_s > 0:
            time.sleep(self.read_delay_s)  # the slow share: no cancel lands inside it
        return sha256_of(path)


class LookupWorker(LabWorkerBase):
    """Find the words of a word list that match a shell-style pattern (a latest-wins search).

    Args:
        word_list: A text file of words, one a line.
        pattern: The pattern, such as ``"ca*"``; case is ignored.
        open_delay_s: How long opening the word index takes (a slow database; 0: none).
    """

    def __init__(self, word_list: str, pattern: str, open_delay_s: float = 0.0) -> None:
        super().__init__()
        self.word_list = str(word_list)
        self.pattern = pattern
        self.open_delay_s = open_delay_s

    def execute(self) -> LookupResult:
        """Open the index, then match the words block by block, checking for a cancel."""
        if self.open_delay_s > 0:
            time.sleep(self.open_delay_s)  # the slow index: no cancel lands inside it
        words = read_words(self.word_list)
        found: list[str] = []
        for start in range(0, len(words), LOOKUP_BLOCK):
            self._check_canceled()
            found += matching(words[start : start + LOOKUP_BLOCK], self.pattern)
            done = min(start + LOOKUP_BLOCK, len(words))
            self._report_progress(done, len(words), f"{len(found)} matches")
        return LookupResult(self.pattern, tuple(found))
