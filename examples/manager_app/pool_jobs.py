"""The pool functions that replace the lab's QThread-era workers: plain functions of a control.

workerkit calls each on a pool thread as ``f(control, *args, **kwargs)``; ``control.check()``
raises the toolkit's cancel exception, which must propagate, never be caught here. The
slow steps wait on an event that a cancel sets (``control.on_cancel``), so a cancel
lands inside them instead of after them.
"""

from __future__ import annotations

import threading
from typing import Any

from examples.manager_app.domain import (
    ChecksumResult,
    LookupResult,
    files_of,
    matching,
    read_words,
    sha256_of,
)
from examples.manager_app.legacy_workers import LOOKUP_BLOCK

__all__ = ["checksum_folder", "lookup_words"]


def checksum_folder(control: Any, folder: str, read_delay_s: float = 0.0) -> ChecksumResult:
    """Return the SHA-256 of every file of ``folder``, in name order."""
    files = files_of(folder)
    digests: list[tuple[str, str]] = []
    for done, path in enumerate(files, start=1):
        control.check()
        _slow_step(control, read_delay_s)
        digests.append((path.name, sha256_of(path)))
        control.progress(
            100 * done // len(files), f"hashed {path.name}", path.name, done, len(files)
        )
    return ChecksumResult(str(folder), tuple(digests))


def lookup_words(
    control: Any, word_list: str, pattern: str, open_delay_s: float = 0.0
) -> LookupResult:
    """Return the words of ``word_list`` that match the shell-style ``pattern``, ignoring case."""
    _slow_step(control, open_delay_s)
    words = read_words(word_list)
    found: list[str] = []
    for start in range(0, len(words), LOOKUP_BLOCK):
        control.check()
        found += matching(words[start : start + LOOKUP_BLOCK], pattern)
        done = min(start + LOOKUP_BLOCK, len(words))
        control.progress(100 * done // len(words), f"{len(found)} matches", "", done, len(words))
    return LookupResult(pattern, tuple(found))


def _slow_step(control: Any, seconds: float) -> None:
    """Take ``seconds`` (a slow share or index), or less if the job is canceled meanwhile."""
    if seconds <= 0:
        return
    woken = threading.Event()
    forget = control.on_cancel(woken.set)
    try:
        woken.wait(seconds)
    finally:
        forget()
    control.check()
