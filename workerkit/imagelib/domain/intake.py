"""Turn one image file and its sidecars into a row ready for the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from workerkit.imagelib.domain.imaging import ImageError, probe_image
from workerkit.imagelib.domain.scanner import display_path
from workerkit.imagelib.domain.sidecars import SidecarError, read_sidecars
from workerkit.imagelib.domain.store import NewImage

__all__ = ["prepare_image"]


def prepare_image(path: Path, canceled: Callable[[], bool] | None = None) -> NewImage:
    """Probe ``path`` and read its sidecars; raise ImageError if either cannot be read."""
    path = Path(path)
    facts = probe_image(path, canceled)
    try:
        sidecars = read_sidecars(path)
    except SidecarError as exc:
        reason = f"its sidecar '{display_path(exc.path)}' cannot be read ({exc.reason})"
        raise ImageError(path, reason) from exc
    return NewImage(
        path=path,
        phash=facts.phash,
        width=facts.width,
        height=facts.height,
        format=facts.format,
        bytes=facts.bytes,
        mtime=facts.mtime,
        tags=sidecars.tags,
        caption=sidecars.caption,
    )
