"""Tags and caption stored next to an image: ``<stem>.txt`` and ``<stem>.caption``."""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass
from pathlib import Path

from workerkit.imagelib.domain.scanner import display_path

__all__ = [
    "CAPTION_SUFFIX",
    "TAGS_SUFFIX",
    "SidecarError",
    "Sidecars",
    "normalize_tag",
    "parse_tags",
    "read_sidecars",
]

TAGS_SUFFIX = ".txt"
CAPTION_SUFFIX = ".caption"

_SEPARATORS = re.compile(r"[,\r\n]")


@dataclass(frozen=True, slots=True)
class Sidecars:
    """The tags and caption found next to one image."""

    tags: tuple[str, ...] = ()
    caption: str | None = None


class SidecarError(Exception):
    """A sidecar file exists but cannot be read."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"Cannot read sidecar '{display_path(self.path)}': {self.reason}. "
            "Make it a readable text file or remove it."
        )


def normalize_tag(tag: str) -> str:
    """Return ``tag`` stripped, lowercased, with inner whitespace collapsed to one space."""
    return " ".join(tag.split()).lower()


def parse_tags(text: str) -> tuple[str, ...]:
    """Return the normalised, de-duplicated tags in comma- or newline-separated ``text``."""
    tags = (normalize_tag(part) for part in _SEPARATORS.split(text))
    return tuple(dict.fromkeys(tag for tag in tags if tag))


def read_sidecars(image_path: Path) -> Sidecars:
    """Return the sidecar tags and caption of ``image_path``; missing files mean none."""
    image_path = Path(image_path)
    tags_text = _read_text(image_path.with_suffix(TAGS_SUFFIX))
    caption_text = _read_text(image_path.with_suffix(CAPTION_SUFFIX))
    caption = caption_text.strip() if caption_text is not None else ""
    return Sidecars(tags=parse_tags(tags_text or ""), caption=caption or None)


def _read_text(path: Path) -> str | None:
    """Return the text of ``path``, or None when it does not exist."""
    try:
        # utf-8-sig drops a byte-order mark; a bad byte becomes U+FFFD rather than failing a run.
        return path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            # A long image name leaves no room for ".caption": no sidecar can exist.
            return None
        raise SidecarError(path, exc.strerror or str(exc)) from exc
