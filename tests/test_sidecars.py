"""Tests for workerkit.imagelib.domain.sidecars: tag and caption files next to an image."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from workerkit.imagelib.domain.sidecars import (
    SidecarError,
    Sidecars,
    normalize_tag,
    parse_tags,
    read_sidecars,
)


def test_parse_tags_splits_on_commas_and_newlines() -> None:
    assert parse_tags("cat, dog\nbird\r\nfish") == ("cat", "dog", "bird", "fish")


def test_parse_tags_normalises_case_and_whitespace() -> None:
    assert parse_tags("  Blue   Sky ,\tSUNSET\u3000glow ") == ("blue sky", "sunset glow")


def test_parse_tags_drops_empties_and_duplicates_keeping_first_order() -> None:
    assert parse_tags("b, a,, ,B ,c,a\n\n") == ("b", "a", "c")


def test_parse_tags_empty_text_gives_no_tags() -> None:
    assert parse_tags("") == ()


def test_normalize_tag_collapses_inner_whitespace() -> None:
    assert normalize_tag("  Long\t\tHair  ") == "long hair"


def test_read_sidecars_reads_tags_and_caption(tmp_path: Path) -> None:
    image = tmp_path / "photo.png"
    (tmp_path / "photo.txt").write_text("Cat, sitting\nindoors, cat", encoding="utf-8")
    (tmp_path / "photo.caption").write_text("  A cat on a chair.\n", encoding="utf-8")
    assert read_sidecars(image) == Sidecars(
        tags=("cat", "sitting", "indoors"), caption="A cat on a chair."
    )


def test_read_sidecars_missing_files_give_empty_sidecars(tmp_path: Path) -> None:
    assert read_sidecars(tmp_path / "alone.jpg") == Sidecars()


def test_read_sidecars_blank_caption_is_none(tmp_path: Path) -> None:
    (tmp_path / "a.caption").write_text(" \n\t ", encoding="utf-8")
    assert read_sidecars(tmp_path / "a.png").caption is None


def test_read_sidecars_bad_utf8_byte_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"caf\xe9, ok")
    (tmp_path / "a.caption").write_bytes(b"na\xefve text")
    sidecars = read_sidecars(tmp_path / "a.png")
    assert sidecars == Sidecars(tags=("caf\ufffd", "ok"), caption="na\ufffdve text")


def test_read_sidecars_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes("\ufeffFirst, second".encode())
    assert read_sidecars(tmp_path / "a.png").tags == ("first", "second")


def test_read_sidecars_uses_the_image_stem(tmp_path: Path) -> None:
    (tmp_path / "shot.v2.txt").write_text("kept", encoding="utf-8")
    (tmp_path / "shot.txt").write_text("other image", encoding="utf-8")
    assert read_sidecars(tmp_path / "shot.v2.jpeg").tags == ("kept",)


def test_read_sidecars_unreadable_sidecar_raises(tmp_path: Path) -> None:
    (tmp_path / "a.txt").mkdir()
    with pytest.raises(SidecarError, match=r"Cannot read sidecar '.*a\.txt': Is a directory"):
        read_sidecars(tmp_path / "a.png")


def test_sidecars_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Sidecars().caption = "x"  # type: ignore[misc]
