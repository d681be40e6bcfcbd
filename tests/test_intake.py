"""Tests for workerkit.imagelib.domain.intake: one file plus its sidecars into a NewImage."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from PIL import Image

from workerkit.imagelib.domain.hashing import dhash
from workerkit.imagelib.domain.imaging import ImageError
from workerkit.imagelib.domain.intake import prepare_image
from workerkit.imagelib.domain.sidecars import SidecarError
from workerkit.imagelib.domain.store import ImageStore, NewImage


def _save_pattern(path: Path, seed: int = 1) -> Image.Image:
    """Save an image of random gray blocks at ``path`` and return it."""
    rng = random.Random(seed)
    blocks = Image.new("L", (8, 8))
    blocks.putdata([rng.randrange(256) for _ in range(64)])
    image = blocks.resize((200, 150), Image.Resampling.NEAREST).convert("RGB")
    image.save(path)
    return image


def test_prepare_image_combines_facts_and_sidecars(tmp_path: Path) -> None:
    path = tmp_path / "shot.png"
    image = _save_pattern(path)
    (tmp_path / "shot.txt").write_text("Cat, cat,  sofa ", encoding="utf-8")
    (tmp_path / "shot.caption").write_text("A cat.\n", encoding="utf-8")
    info = path.stat()
    assert prepare_image(path) == NewImage(
        path=path,
        phash=dhash(image),
        width=200,
        height=150,
        format="PNG",
        bytes=info.st_size,
        mtime=info.st_mtime,
        tags=("cat", "sofa"),
        caption="A cat.",
    )


def test_prepare_image_without_sidecars_has_no_tags_or_caption(tmp_path: Path) -> None:
    path = tmp_path / "bare.jpg"
    _save_pattern(path)
    prepared = prepare_image(path)
    assert (prepared.format, prepared.tags, prepared.caption) == ("JPEG", (), None)


def test_prepare_image_broken_image_raises_image_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (tmp_path / "broken.txt").write_text("tag", encoding="utf-8")
    with pytest.raises(ImageError, match=r"Cannot read image '.*broken\.png'"):
        prepare_image(path)


def test_prepare_image_unreadable_sidecar_raises_image_error(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    _save_pattern(path)
    (tmp_path / "a.caption").mkdir()
    with pytest.raises(ImageError, match=r"its sidecar '.*a\.caption' cannot be read") as caught:
        prepare_image(path)
    assert caught.value.path == path
    assert isinstance(caught.value.__cause__, SidecarError)


def test_prepare_image_result_registers_and_round_trips(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"na\xefve.png")
    _save_pattern(Path(os.fsdecode(raw)))
    with open(raw[: -len(b".png")] + b".txt", "wb") as stream:
        stream.write(b"Tag One, tag two")
    prepared = prepare_image(Path(os.fsdecode(raw)))
    with ImageStore(tmp_path / "library.sqlite") as store:
        record = store.get(store.register(prepared))
    assert record is not None
    assert os.fsencode(record.path) == raw
    assert (record.phash, record.tags) == (prepared.phash, ("tag one", "tag two"))
