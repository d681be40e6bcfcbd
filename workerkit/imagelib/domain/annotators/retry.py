"""How long to wait before retrying a failed request: exponential backoff with jitter."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["RetryPolicy"]

# 2**62 times any sane base delay is already far past max_delay; the cap only
# keeps the power from overflowing a float for absurd attempt numbers.
_MAX_EXPONENT = 62


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Say how many attempts a request gets and how long to wait between them.

    Attempt ``n`` (1-based) that failed is followed by a wait of
    ``base_delay * 2**(n - 1)``, or the server's Retry-After when it sent one,
    stretched by up to ``jitter`` (a fraction) and capped at ``max_delay``.
    """

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(
                f"RetryPolicy.max_attempts must be at least 1, got {self.max_attempts}; "
                "use 1 to disable retries."
            )
        for name in ("base_delay", "max_delay", "jitter"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"RetryPolicy.{name} must be a finite number >= 0, got {value!r}.")

    def delay_for(self, attempt: int, retry_after: float | None = None) -> float:
        """Return the seconds to wait after failed attempt ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError(f"Attempts are numbered from 1, got {attempt}.")
        if retry_after is not None and math.isfinite(retry_after) and retry_after >= 0:
            wanted = retry_after
        else:
            wanted = self.base_delay * 2.0 ** min(attempt - 1, _MAX_EXPONENT)
        return min(self.max_delay, self._stretch(wanted))

    def _stretch(self, delay: float) -> float:
        """Return ``delay`` lengthened by a random share of up to ``jitter``."""
        if self.jitter == 0:
            return delay
        # Jitter only lengthens: a server's Retry-After is a lower bound.
        return delay * (1.0 + self.jitter * random.random())
