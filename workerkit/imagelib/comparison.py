"""How shadow mode compares the image library's read-only results: ids, order, sizes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workerkit.imagelib.domain.results import Preview, SearchResult, ThumbnailResult

__all__ = [
    "Listing",
    "compare_listings",
    "observe_preview",
    "observe_search",
    "observe_thumbnails",
]


@dataclass(frozen=True, slots=True)
class Listing:
    """A result reduced to plain values any thread may read.

    ``items`` is one tuple per result entry, keyed by image id first: ``(id,)`` for a
    search, ``(id, width, height)`` for a thumbnail.
    """

    items: tuple[tuple[int, ...], ...] = ()
    total: int | None = None


def observe_search(result: SearchResult) -> Listing:
    """Reduce a search result to its image ids, in order, and its total."""
    return Listing(tuple((r.id,) for r in result.image_metadata), result.total_count)


def observe_thumbnails(result: ThumbnailResult) -> Listing:
    """Reduce a thumbnail result to (id, width, height); call on the GUI thread (QPixmap)."""
    return Listing(tuple((i, p.width(), p.height()) for i, p in result.loaded_thumbnails))


def observe_preview(result: Preview) -> Listing:
    """Reduce a preview to (id, width, height)."""
    return Listing(((result.image_id, result.image.width(), result.image.height()),))


def compare_listings(legacy: Listing, candidate: Listing) -> list[str]:
    """Return how the candidate's listing differs from legacy's (empty if it does not)."""
    differences: list[str] = []
    if legacy.total != candidate.total:
        differences.append(f"total_count: legacy {legacy.total}, simplified {candidate.total}")
    return differences + _item_differences(legacy.items, candidate.items)


def _item_differences(
    legacy: Sequence[tuple[int, ...]], candidate: Sequence[tuple[int, ...]]
) -> list[str]:
    old = {item[0]: item for item in legacy}
    new = {item[0]: item for item in candidate}
    differences = [f"image {key} missing from simplified" for key in old if key not in new]
    differences += [f"image {key} only in simplified" for key in new if key not in old]
    differences += [
        f"image {key}: legacy {_size(old[key])}, simplified {_size(new[key])}"
        for key in old
        if key in new and old[key] != new[key]
    ]
    if not differences and list(legacy) != list(candidate):
        differences.append(_first_order_difference(legacy, candidate))
    return differences


def _size(item: tuple[int, ...]) -> str:
    return "x".join(str(value) for value in item[1:])


def _first_order_difference(
    legacy: Sequence[tuple[int, ...]], candidate: Sequence[tuple[int, ...]]
) -> str:
    for position, (old, new) in enumerate(zip(legacy, candidate, strict=False)):
        if old != new:
            return f"order differs at {position}: legacy image {old[0]}, simplified {new[0]}"
    return f"length differs: legacy {len(legacy)} entries, simplified {len(candidate)}"
