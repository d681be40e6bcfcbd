"""The number of OS threads this process runs, as psutil counts them."""

from __future__ import annotations

import psutil

__all__ = ["os_thread_count"]


def os_thread_count() -> int:
    """Return how many OS threads this process has right now."""
    return psutil.Process().num_threads()
