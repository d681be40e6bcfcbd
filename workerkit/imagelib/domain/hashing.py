"""Difference hash (dHash) of an image, as lowercase hex.

We implement it here instead of depending on ImageHash, which pulls in numpy, scipy and
PyWavelets for one ten-line hash.
"""

from __future__ import annotations

from typing import cast

from PIL import Image

__all__ = ["dhash", "hamming"]

_INTEGER_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
_WHITE = (255, 255, 255, 255)


def dhash(image: Image.Image, *, hash_size: int = 8) -> str:
    """Return the difference hash of ``image`` as ``hash_size**2`` bits in lowercase hex."""
    if hash_size < 2:
        raise ValueError(
            f"hash_size must be at least 2, got {hash_size}; "
            "use the default of 8 for a 64-bit hash."
        )
    small = _grayscale(image).resize((hash_size + 1, hash_size), Image.Resampling.LANCZOS)
    return _format_bits(_difference_bits(small.tobytes(), hash_size), hash_size * hash_size)


def hamming(a: str, b: str) -> int:
    """Return the number of bits that differ between two hex hashes of the same length."""
    if len(a) != len(b):
        raise ValueError(
            f"Cannot compare hashes of different lengths ({len(a)} and {len(b)} hex characters); "
            "hash both images with the same hash_size."
        )
    return (_parse_hex(a) ^ _parse_hex(b)).bit_count()


def _grayscale(image: Image.Image) -> Image.Image:
    """Return an 8-bit grayscale view of ``image`` whatever its mode."""
    if image.mode in _INTEGER_MODES:
        return _eight_bit(image)
    if image.mode == "LAB":
        return image.getchannel("L")
    if _has_alpha(image):
        # Transparent pixels carry arbitrary colour; flatten onto white so only what shows counts.
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba).convert("L")
    if image.mode in {"CMYK", "YCbCr", "HSV"}:
        return image.convert("RGB").convert("L")
    return image.convert("L")


def _eight_bit(image: Image.Image) -> Image.Image:
    """Return an integer-mode image as "L", scaling 16-bit values down to 8 bits."""
    wide = image.convert("I")
    # Pillow clamps values above 255 when converting to "L"; scale 16-bit data instead.
    # Mode "I" also holds plain 8-bit data, which needs no scaling.
    # Mode "I" has one band, so getextrema() is a single (min, max) pair.
    if cast("tuple[float, float]", wide.getextrema())[1] > 255:
        wide = wide.point(lambda value: value * (1 / 257))
    return wide.convert("L")


def _has_alpha(image: Image.Image) -> bool:
    """Return whether ``image`` has an alpha band or a transparency key."""
    return "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info


def _difference_bits(pixels: bytes, hash_size: int) -> int:
    """Return one bit per neighbour pair: set when the left pixel is brighter."""
    bits = 0
    row_width = hash_size + 1
    for row in range(hash_size):
        start = row * row_width
        for column in range(start, start + hash_size):
            bits = (bits << 1) | (pixels[column] > pixels[column + 1])
    return bits


def _format_bits(bits: int, bit_count: int) -> str:
    """Return ``bits`` as zero-padded lowercase hex wide enough for ``bit_count`` bits."""
    return f"{bits:0{(bit_count + 3) // 4}x}"


def _parse_hex(value: str) -> int:
    """Return the integer value of a hex hash, with a clear error for anything else."""
    try:
        return int(value, 16)
    except ValueError:
        raise ValueError(
            f"Expected a hex hash such as the output of dhash(), got {value!r}; "
            "pass the stored phash string unchanged."
        ) from None
