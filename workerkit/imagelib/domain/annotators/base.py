"""The annotator contract: what every annotator offers and the one error it raises."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AnnotationError", "Annotator", "AsyncAnnotator"]


class AnnotationError(Exception):
    """Report that an annotator could not produce tags for one image.

    ``retryable`` tells a caller whether the same request may succeed later
    (rate limits, server errors, timeouts); ``retry_after`` is the server's
    requested wait in seconds when it gave one. ``hint`` is the sentence that
    names the fix, when one is known.
    """

    def __init__(
        self,
        path: Path,
        model: str,
        reason: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(path, model, reason)
        self.path = Path(path)
        self.model = model
        self.reason = reason.rstrip(". ")
        self.retryable = retryable
        self.retry_after = retry_after
        self.hint = hint

    def __str__(self) -> str:
        sentence = f"Annotator {self.model!r} failed on '{self.path}': {self.reason}."
        return f"{sentence} {self.hint}" if self.hint else sentence

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickling replays ``args`` only; keep the keyword fields too.
        return (type(self), (self.path, self.model, self.reason), self.__dict__)


@runtime_checkable
class Annotator(Protocol):
    """Turn one image file into tags, blocking the calling thread."""

    name: str

    def annotate(self, path: Path) -> list[str]:
        """Return the tags for the image at ``path`` or raise AnnotationError."""
        ...


@runtime_checkable
class AsyncAnnotator(Annotator, Protocol):
    """An annotator that can also run on an asyncio loop with an aiohttp session."""

    async def annotate_async(self, session: aiohttp.ClientSession, path: Path) -> list[str]:
        """Return the tags for the image at ``path`` or raise AnnotationError."""
        ...

    def begin_exchange(self, path: Path) -> Any:
        """Do the CPU part of one call (read, shrink, encode); safe on any thread."""
        ...

    async def complete_async(
        self, session: aiohttp.ClientSession, path: Path, exchange: Any
    ) -> list[str]:
        """Do the I/O part of a call that begin_exchange() began; return its tags."""
        ...
