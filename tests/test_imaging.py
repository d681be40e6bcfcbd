"""Tests for workerkit.imagelib.domain.imaging: probing real image files written by Pillow."""

from __future__ import annotations

import dataclasses
import os
import random
import warnings
from pathlib import Path
from typing import Literal

import pytest
from PIL import ExifTags, Image

from workerkit.imagelib.domain import imaging
from workerkit.imagelib.domain.hashing import dhash, hamming
from workerkit.imagelib.domain.imaging import SUPPORTED_FORMATS, ImageError, ImageFacts, probe_image


def _pattern(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Return an RGB image of random gray blocks, different for each seed."""
    rng = random.Random(seed)
    blocks = Image.new("L", (8, 8))
    blocks.putdata([rng.randrange(256) for _ in range(64)])
    return blocks.resize(size, Image.Resampling.NEAREST).convert("RGB")


def _save(image: Image.Image, path: Path, **options: object) -> Path:
    """Save ``image`` at ``path`` and return the path."""
    image.save(path, **options)
    return path


def _truncate(path: Path) -> Path:
    """Cut ``path`` to half its size and return it."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_probe_image_png_reports_size_format_file_facts_and_hash(tmp_path: Path) -> None:
    image = _pattern(1)
    path = _save(image, tmp_path / "a.png")
    facts = probe_image(path)
    info = path.stat()
    assert facts == ImageFacts(
        width=320,
        height=240,
        format="PNG",
        bytes=info.st_size,
        mtime=info.st_mtime,
        phash=dhash(image),
    )


@pytest.mark.parametrize(
    ("suffix", "image_format"),
    [
        (".jpg", "JPEG"),
        (".png", "PNG"),
        (".webp", "WEBP"),
        (".bmp", "BMP"),
        (".gif", "GIF"),
        (".tif", "TIFF"),
    ],
)
def test_probe_image_each_supported_format_reports_its_pillow_name(
    tmp_path: Path, suffix: str, image_format: str
) -> None:
    image = _pattern(2)
    facts = probe_image(_save(image, tmp_path / f"a{suffix}"))
    assert (facts.format, facts.width, facts.height) == (image_format, 320, 240)
    assert image_format in SUPPORTED_FORMATS
    assert hamming(facts.phash, dhash(image)) <= 4


def test_probe_image_exif_rotated_jpeg_reports_rotated_size(tmp_path: Path) -> None:
    image = _pattern(3, (400, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # display rotated 90 degrees clockwise
    facts = probe_image(_save(image, tmp_path / "rotated.jpg", exif=exif, quality=95))
    upright = image.transpose(Image.Transpose.ROTATE_270)
    assert (facts.width, facts.height) == (200, 400)
    assert hamming(facts.phash, dhash(upright)) <= 4
    assert hamming(facts.phash, dhash(image)) >= 12


def test_probe_image_large_jpeg_reports_full_size_after_draft_decode(tmp_path: Path) -> None:
    image = _pattern(4, (2400, 1600))
    facts = probe_image(_save(image, tmp_path / "large.jpg", quality=90))
    assert (facts.width, facts.height) == (2400, 1600)
    assert hamming(facts.phash, dhash(image)) <= 4


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("cmyk.jpg", "CMYK"),
        ("cmyk.tif", "CMYK"),
        ("palette.png", "P"),
        ("palette.gif", "P"),
        ("gray-alpha.png", "LA"),
        ("rgba.png", "RGBA"),
        ("bilevel.png", "1"),
        ("gray.tif", "L"),
    ],
)
def test_probe_image_unusual_modes_probe_fine(tmp_path: Path, name: str, mode: str) -> None:
    image = _pattern(5)
    facts = probe_image(_save(image.convert(mode), tmp_path / name))
    assert (facts.width, facts.height) == (320, 240)
    assert hamming(facts.phash, dhash(image)) <= 4


def test_probe_image_sixteen_bit_png_hashes_like_eight_bit(tmp_path: Path) -> None:
    gray = _pattern(6).convert("L")
    wide = bytes(byte for value in gray.tobytes() for byte in (value * 257).to_bytes(2, "little"))
    path = _save(Image.frombytes("I;16", gray.size, wide), tmp_path / "deep.png")
    with Image.open(path) as reopened:
        assert reopened.mode.startswith("I")
    facts = probe_image(path)
    assert (facts.width, facts.height, facts.phash) == (320, 240, dhash(gray))


def test_probe_image_non_utf8_name_is_read(tmp_path: Path) -> None:
    raw_path = os.path.join(os.fsencode(tmp_path), b"caf\xe9.png")
    with open(raw_path, "wb") as stream:
        _pattern(7).save(stream, format="PNG")
    assert probe_image(Path(os.fsdecode(raw_path))).format == "PNG"


def test_probe_image_truncated_jpeg_raises(tmp_path: Path) -> None:
    path = _truncate(_save(_pattern(8), tmp_path / "cut.jpg"))
    with pytest.raises(ImageError, match="the image data is truncated or corrupt") as caught:
        probe_image(path)
    assert isinstance(caught.value.__cause__, OSError)


def test_probe_image_truncated_png_raises(tmp_path: Path) -> None:
    path = _truncate(_save(_pattern(8), tmp_path / "cut.png"))
    with pytest.raises(ImageError, match="the image data is truncated or corrupt"):
        probe_image(path)


def test_probe_image_zero_byte_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"the file is empty \(0 bytes\)"):
        probe_image(path)


def test_probe_image_text_file_raises_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ImageError, match="it is not an image in a supported format"):
        probe_image(path)


def test_probe_image_format_outside_supported_set_raises(tmp_path: Path) -> None:
    path = _save(_pattern(9), tmp_path / "actually-ppm.png", format="PPM")
    with pytest.raises(ImageError, match=r"supported format \(BMP, GIF, JPEG"):
        probe_image(path)


def test_probe_image_far_beyond_pixel_limit_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _save(_pattern(10, (40, 40)), tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)
    with pytest.raises(ImageError, match="exceeds Pillow's pixel limit of 500 pixels") as caught:
        probe_image(path)
    assert isinstance(caught.value.__cause__, Image.DecompressionBombError)


# Pillow only warns (DecompressionBombWarning) below twice its limit: the warning filter
# (an error in this suite's config, or an app that ignores it) must not decide.
@pytest.mark.parametrize("warning_filter", ["error", "ignore"])
def test_probe_image_just_beyond_pixel_limit_raises_whatever_the_warning_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warning_filter: Literal["error", "ignore"]
) -> None:
    path = _save(_pattern(10, (40, 40)), tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with warnings.catch_warnings():
        warnings.simplefilter(warning_filter, Image.DecompressionBombWarning)
        with pytest.raises(ImageError, match="exceeds Pillow's pixel limit of 1000 pixels"):
            probe_image(path)


def test_probe_image_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="the file no longer exists") as caught:
        probe_image(tmp_path / "gone.png")
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_probe_image_directory_raises(tmp_path: Path) -> None:
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(ImageError, match="it is a directory, not a file"):
        probe_image(tmp_path / "folder.png")


def test_probe_image_permission_denied_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _save(_pattern(11), tmp_path / "locked.png")

    def refuse(file: object, mode: str = "r") -> None:
        raise PermissionError(13, "Permission denied", str(file))

    # root ignores file modes, so the refusal is injected where imaging opens the file.
    monkeypatch.setattr(imaging, "open", refuse, raising=False)
    with pytest.raises(ImageError, match="permission denied"):
        probe_image(path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file modes")
def test_probe_image_unreadable_file_raises(tmp_path: Path) -> None:
    path = _save(_pattern(11), tmp_path / "locked.png")
    path.chmod(0)
    with pytest.raises(ImageError, match="permission denied"):
        probe_image(path)


def test_image_error_message_names_path_reason_and_fix(tmp_path: Path) -> None:
    error = ImageError(tmp_path / "x.png", "the file is empty (0 bytes)")
    assert str(error) == (
        f"Cannot read image '{tmp_path / 'x.png'}': the file is empty (0 bytes). "
        "Fix or remove the file; it was skipped."
    )
    assert (error.path, error.reason) == (tmp_path / "x.png", "the file is empty (0 bytes)")


def test_image_facts_is_frozen(tmp_path: Path) -> None:
    facts = probe_image(_save(_pattern(12), tmp_path / "a.png"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.width = 1  # type: ignore[misc]
