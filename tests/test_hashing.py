"""Tests for workerkit.imagelib.domain.hashing: the difference hash and the Hamming distance."""

from __future__ import annotations

import io
import random
import re

import pytest
from PIL import Image

from workerkit.imagelib.domain.hashing import dhash, hamming


def _pattern(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Return an RGB image of random gray blocks, different for each seed."""
    rng = random.Random(seed)
    blocks = Image.new("L", (8, 8))
    blocks.putdata([rng.randrange(256) for _ in range(64)])
    return blocks.resize(size, Image.Resampling.NEAREST).convert("RGB")


def _reencoded(image: Image.Image, image_format: str, **options: object) -> Image.Image:
    """Return ``image`` after a round trip through ``image_format`` in memory."""
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    buffer.seek(0)
    with Image.open(buffer) as reopened:
        reopened.load()
        return reopened.copy()


def _horizontal_gradient(*, bright_left: bool) -> Image.Image:
    """Return a 90x80 gray image that gets darker (or brighter) from left to right."""
    gradient = Image.linear_gradient("L").rotate(-90 if bright_left else 90)
    return gradient.resize((90, 80))


def test_dhash_returns_sixteen_lowercase_hex_chars() -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", dhash(_pattern(1)))


def test_dhash_left_brighter_sets_every_bit() -> None:
    assert dhash(_horizontal_gradient(bright_left=True)) == "ffffffffffffffff"


def test_dhash_left_darker_clears_every_bit() -> None:
    assert dhash(_horizontal_gradient(bright_left=False)) == "0000000000000000"


def test_dhash_same_image_gives_same_hash() -> None:
    assert dhash(_pattern(7)) == dhash(_pattern(7))


def test_dhash_jpeg_reencode_is_within_a_few_bits() -> None:
    original = _pattern(3)
    jpeg = _reencoded(original, "JPEG", quality=75)
    assert hamming(dhash(original), dhash(jpeg)) <= 4


def test_dhash_resized_copy_is_within_a_few_bits() -> None:
    original = _pattern(3)
    assert hamming(dhash(original), dhash(original.resize((160, 120)))) <= 4


def test_dhash_different_images_are_far_apart() -> None:
    distances = [hamming(dhash(_pattern(seed)), dhash(_pattern(seed + 100))) for seed in range(5)]
    assert min(distances) >= 16


def test_dhash_sixteen_bit_image_matches_eight_bit_image() -> None:
    gray = _pattern(5).convert("L")
    wide = bytes(byte for value in gray.tobytes() for byte in (value * 257).to_bytes(2, "little"))
    sixteen = Image.frombytes("I;16", gray.size, wide)
    assert dhash(sixteen) == dhash(gray)


@pytest.mark.parametrize("mode", ["CMYK", "P", "LA", "RGBA", "YCbCr", "HSV", "I", "1"])
def test_dhash_other_modes_match_rgb_hash(mode: str) -> None:
    image = _pattern(9)
    assert hamming(dhash(image.convert(mode)), dhash(image)) <= 2


def test_dhash_transparent_pixels_hash_as_white() -> None:
    hidden = _pattern(11).convert("RGBA")
    hidden.putalpha(0)
    assert dhash(hidden) == dhash(Image.new("RGB", hidden.size, "white"))


def test_dhash_hash_size_sixteen_gives_sixty_four_hex_chars() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", dhash(_pattern(2), hash_size=16))


def test_dhash_hash_size_below_two_raises() -> None:
    with pytest.raises(ValueError, match="hash_size must be at least 2, got 1"):
        dhash(_pattern(2), hash_size=1)


def test_hamming_counts_differing_bits() -> None:
    assert hamming("0000000000000000", "000000000000000f") == 4
    assert hamming("ffffffffffffffff", "0000000000000000") == 64
    assert hamming("a7b6dab1cd4dcb59", "a7b6dab1cd4dcb59") == 0


def test_hamming_different_lengths_raises() -> None:
    with pytest.raises(ValueError, match="different lengths \\(16 and 4 hex characters\\)"):
        hamming("0000000000000000", "0000")


def test_hamming_non_hex_raises() -> None:
    with pytest.raises(ValueError, match="Expected a hex hash such as the output of dhash"):
        hamming("zzzzzzzzzzzzzzzz", "0000000000000000")
