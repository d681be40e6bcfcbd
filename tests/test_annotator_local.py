"""LocalAnnotator, the annotator contract and make_annotator."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
from PIL import Image, JpegImagePlugin

from workerkit.imagelib.domain.annotators import (
    AnnotationError,
    Annotator,
    AsyncAnnotator,
    HttpAnnotator,
    HttpAnnotatorConfig,
    LocalAnnotator,
    make_annotator,
)
from workerkit.imagelib.domain.annotators import __all__ as exported
from workerkit.imagelib.domain.annotators.local import COLOUR_NAMES, colour_name, reduce_image

_ORIENTATION_TAG = 0x0112
_ROTATED_90_CW = 6


def _save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


def _checkerboard(size: int, cell: int) -> Image.Image:
    image = Image.new("L", (size, size), 0)
    white = Image.new("L", (cell, cell), 255)
    for top in range(0, size, cell):
        for left in range(0, size, cell):
            if (top // cell + left // cell) % 2:
                image.paste(white, (left, top))
    return image.convert("RGB")


def test_local_annotator_red_landscape_is_tagged_red_landscape(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (320, 200), (220, 30, 30)), tmp_path / "red.png")

    assert LocalAnnotator().annotate(path) == ["landscape", "mid-tone", "low-contrast", "red"]


def test_local_annotator_dark_grayscale_portrait_is_tagged_dark_grayscale(
    tmp_path: Path,
) -> None:
    gradient = Image.linear_gradient("L").resize((200, 320)).point(lambda v: 20 + v * 40 // 255)
    path = _save(gradient, tmp_path / "dark.png")

    tags = LocalAnnotator().annotate(path)

    assert tags[:2] == ["portrait", "dark"]
    assert "grayscale" in tags
    assert set(tags) & set(COLOUR_NAMES) <= {"black", "gray"}


def test_local_annotator_checkerboard_is_high_contrast_black_and_white(tmp_path: Path) -> None:
    path = _save(_checkerboard(256, 32), tmp_path / "checker.png")

    tags = LocalAnnotator().annotate(path)

    assert tags[:4] == ["square", "mid-tone", "high-contrast", "grayscale"]
    assert sorted(tags[4:]) == ["black", "white"]


def test_local_annotator_same_pixels_give_same_tags(tmp_path: Path) -> None:
    image = Image.radial_gradient("L").convert("RGB").resize((300, 180))
    image.paste((30, 60, 200), (0, 0, 150, 180))
    first = _save(image, tmp_path / "first.png")
    copy = tmp_path / "copy.png"
    shutil.copyfile(first, copy)

    tags = LocalAnnotator().annotate(first)

    assert "blue" in tags
    assert LocalAnnotator().annotate(first) == tags
    assert LocalAnnotator().annotate(copy) == tags


def test_local_annotator_large_jpeg_is_decoded_at_a_reduced_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _save(Image.new("RGB", (4000, 3000), (40, 90, 220)), tmp_path / "big.jpg", quality=90)
    decoded: list[tuple[int, int]] = []
    load = JpegImagePlugin.JpegImageFile.load

    def recording_load(image: JpegImagePlugin.JpegImageFile) -> object:
        decoded.append(image.size)  # after draft() this is the size the decoder produces
        return load(image)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", recording_load)
    tags = LocalAnnotator().annotate(path)

    assert tags[0] == "landscape"
    assert tags[-1] == "blue"
    # A full decode would produce all 12 megapixels; draft() decodes at 1/8 scale.
    assert decoded and max(decoded[0]) <= 4000 // 8, f"decoded at {decoded[0]}"


def test_local_annotator_exif_rotation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (300, 200), (240, 200, 20))
    exif = Image.Exif()
    exif[_ORIENTATION_TAG] = _ROTATED_90_CW
    path = _save(image, tmp_path / "rotated.jpg", exif=exif)

    assert LocalAnnotator().annotate(path)[0] == "portrait"


def test_reduce_image_averages_a_palette_image_instead_of_sampling_it() -> None:
    # One-pixel black and white columns: a shrink that samples every fourth column (what
    # Pillow does to a palette image) sees one of the two colours only.
    stripes = Image.frombytes("P", (1024, 512), bytes(i % 2 for i in range(1024)) * 512)
    stripes.putpalette([0, 0, 0, 255, 255, 255])

    reduced = reduce_image(stripes, 256)

    assert (reduced.size, reduced.mode) == ((256, 128), "RGB")
    low, high = reduced.convert("L").getextrema()
    assert 64 < low <= high < 192, f"sampled, not averaged: grey levels {low}..{high}"


def test_local_annotator_transparent_pixels_count_as_white(tmp_path: Path) -> None:
    path = _save(Image.new("RGBA", (100, 100), (255, 0, 0, 0)), tmp_path / "clear.png")

    assert LocalAnnotator().annotate(path) == [
        "square",
        "bright",
        "low-contrast",
        "grayscale",
        "white",
    ]


def test_local_annotator_unreadable_file_raises_annotation_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"not an image at all")

    with pytest.raises(AnnotationError) as caught:
        LocalAnnotator().annotate(path)

    assert caught.value.path == path
    assert caught.value.model == "local"
    assert not caught.value.retryable
    assert str(caught.value).startswith(
        f"Annotator 'local' failed on '{path}': the file could not be read as an image"
    )


def test_local_annotator_missing_file_raises_annotation_error(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match="could not be read as an image"):
        LocalAnnotator().annotate(tmp_path / "absent.png")


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((220, 30, 30), "red"),
        ((250, 140, 20), "orange"),
        ((240, 220, 30), "yellow"),
        ((30, 160, 40), "green"),
        ((30, 210, 220), "cyan"),
        ((30, 60, 200), "blue"),
        ((120, 40, 180), "purple"),
        ((250, 160, 180), "pink"),
        ((120, 70, 20), "brown"),
        ((250, 250, 250), "white"),
        ((128, 128, 128), "gray"),
        ((10, 10, 10), "black"),
    ],
)
def test_colour_name_maps_to_palette(rgb: tuple[int, int, int], name: str) -> None:
    assert colour_name(rgb) == name


def test_annotation_error_str_is_a_sentence_with_hint() -> None:
    error = AnnotationError(
        Path("/pics/a.jpg"), "vision-tagger", "the server said no.", hint="Set X and retry."
    )

    assert str(error) == (
        "Annotator 'vision-tagger' failed on '/pics/a.jpg': the server said no. Set X and retry."
    )


def test_annotation_error_pickles_with_all_fields() -> None:
    error = AnnotationError(Path("a.png"), "m", "busy", retryable=True, retry_after=1.5, hint="H.")

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.path, copy.model, copy.reason) == (Path("a.png"), "m", "busy")
    assert (copy.retryable, copy.retry_after, str(copy)) == (True, 1.5, str(error))


def test_annotators_all_is_sorted_and_complete() -> None:
    assert list(exported) == sorted(exported)
    assert {"AnnotationError", "Annotator", "AsyncAnnotator", "make_annotator"} <= set(exported)


def test_make_annotator_builds_local_and_http() -> None:
    config = HttpAnnotatorConfig(base_url="http://127.0.0.1:9/v1")

    local = make_annotator("local")
    remote = make_annotator("http", http_config=config)

    assert isinstance(local, LocalAnnotator)
    assert isinstance(remote, HttpAnnotator)
    assert remote.config is config
    assert (local.name, remote.name) == ("local", "http")


def test_make_annotator_unknown_name_lists_allowed_names() -> None:
    with pytest.raises(
        ValueError, match=r"Unknown annotator 'cloud'; expected one of 'http', 'local'"
    ):
        make_annotator("cloud")


def test_annotator_protocols_match_implementations() -> None:
    http = HttpAnnotator(HttpAnnotatorConfig(base_url="http://127.0.0.1:9/v1"))

    assert isinstance(LocalAnnotator(), Annotator)
    assert not isinstance(LocalAnnotator(), AsyncAnnotator)
    assert isinstance(http, AsyncAnnotator)
