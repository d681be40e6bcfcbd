"""Tags computed from pixels alone: orientation, brightness, contrast and colours."""

from __future__ import annotations

import colorsys
from collections import Counter
from pathlib import Path
from typing import cast

from PIL import Image, ImageChops, ImageOps, ImageStat

from workerkit.imagelib.domain.annotators.base import AnnotationError

__all__ = [
    "COLOUR_NAMES",
    "THUMBNAIL_PX",
    "LocalAnnotator",
    "colour_name",
    "describe_pixels",
    "load_reduced",
    "reduce_image",
]

#: Longest side, in pixels, of the image the local tags are computed from.
THUMBNAIL_PX = 128

#: The fixed palette every colour is named from, in tie-breaking order.
COLOUR_NAMES = (
    "red",
    "orange",
    "yellow",
    "green",
    "cyan",
    "blue",
    "purple",
    "pink",
    "brown",
    "white",
    "gray",
    "black",
)

_SQUARE_TOLERANCE = 1.05
_DARK_BELOW = 85.0
_BRIGHT_ABOVE = 170.0
_HIGH_CONTRAST_FROM = 64.0
_LOW_CONTRAST_UP_TO = 24.0
# Mean per-pixel chroma (max - min of R, G, B) below which an image has no colour;
# JPEG re-encoding leaves a few levels of chroma noise on gray pixels.
_GRAYSCALE_CHROMA_BELOW = 6.0
_QUANTISE_COLOURS = 16
_MAX_COLOUR_TAGS = 3
_MIN_COLOUR_SHARE = 0.08


class LocalAnnotator:
    """Tag images from their pixels with Pillow only: deterministic, offline, CPU-bound."""

    name = "local"

    def annotate(self, path: Path) -> list[str]:
        """Return the pixel tags of the image at ``path`` or raise AnnotationError."""
        return describe_pixels(load_reduced(path, max_px=THUMBNAIL_PX, model=self.name))

    def __repr__(self) -> str:
        return "LocalAnnotator()"


def load_reduced(path: Path, *, max_px: int, model: str) -> Image.Image:
    """Decode ``path`` as an upright RGB image no larger than ``max_px`` on either side."""
    try:
        with Image.open(path) as image:
            return reduce_image(image, max_px)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise AnnotationError(
            path,
            model,
            f"the file could not be read as an image ({error})",
            hint="Check that the file exists and is a complete image in a format Pillow reads.",
        ) from error


def reduce_image(image: Image.Image, max_px: int) -> Image.Image:
    """Shrink ``image`` in place to fit ``max_px``; return an upright RGB copy of it."""
    # draft() lets the JPEG decoder skip most of the work by decoding at 1/2..1/8 scale;
    # it keeps both sides at least the requested ones, so ask for the fitted size.
    scale = min(1.0, max_px / max(image.size))
    image.draft("RGB", (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    if image.mode in ("1", "P"):
        image = image.convert("RGBA")  # Pillow shrinks these by nearest neighbour only
    # Shrunk first (the bound is square, so the EXIF orientation does not change it), so
    # turning upright and flattening handle few pixels. BOX, an area average: after
    # draft() the shrink is under 2x (or a PNG's), where it keeps the detail BILINEAR
    # keeps at about 60% of its cost.
    image.thumbnail((max_px, max_px), Image.Resampling.BOX)
    ImageOps.exif_transpose(image, in_place=True)
    return _flatten_to_rgb(image)


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """Return ``image`` as RGB, with any transparency composited onto white."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def describe_pixels(image: Image.Image) -> list[str]:
    """Return the tags of an RGB image, in a fixed order: shape, light, contrast, colour."""
    luminance = ImageStat.Stat(image.convert("L"))
    tags = [
        _orientation(image.size),
        _brightness(luminance.mean[0]),
        *_contrast(luminance.stddev[0]),
    ]
    if _mean_chroma(image) < _GRAYSCALE_CHROMA_BELOW:
        tags.append("grayscale")
    tags.extend(_dominant_colours(image))
    return tags


def _orientation(size: tuple[int, int]) -> str:
    """Name the shape of an image of ``size`` (width, height)."""
    width, height = size
    if width > height * _SQUARE_TOLERANCE:
        return "landscape"
    if height > width * _SQUARE_TOLERANCE:
        return "portrait"
    return "square"


def _brightness(mean_luminance: float) -> str:
    """Name the overall lightness from the mean luminance (0..255)."""
    if mean_luminance < _DARK_BELOW:
        return "dark"
    if mean_luminance > _BRIGHT_ABOVE:
        return "bright"
    return "mid-tone"


def _contrast(luminance_stddev: float) -> list[str]:
    """Name the contrast when it is notably high or low; ordinary contrast gets no tag."""
    if luminance_stddev >= _HIGH_CONTRAST_FROM:
        return ["high-contrast"]
    if luminance_stddev <= _LOW_CONTRAST_UP_TO:
        return ["low-contrast"]
    return []


def _mean_chroma(image: Image.Image) -> float:
    """Return the mean of max(R, G, B) - min(R, G, B) over all pixels."""
    red, green, blue = image.split()
    highest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    lowest = ImageChops.darker(ImageChops.darker(red, green), blue)
    return ImageStat.Stat(ImageChops.subtract(highest, lowest)).mean[0]


def _dominant_colours(image: Image.Image) -> list[str]:
    """Return up to three palette names covering the most pixels, most first."""
    quantised = image.quantize(_QUANTISE_COLOURS, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    shares: Counter[str] = Counter()
    # A "P" image's colours are palette indexes, so each entry is (count, index).
    colours = cast("list[tuple[int, int]] | None", quantised.getcolors(maxcolors=256))
    for count, index in colours or []:
        red, green, blue = palette[3 * index : 3 * index + 3]
        shares[colour_name((red, green, blue))] += count
    total = sum(shares.values())
    ranked = sorted(shares, key=lambda name: (-shares[name], COLOUR_NAMES.index(name)))
    return [name for name in ranked if shares[name] >= total * _MIN_COLOUR_SHARE][:_MAX_COLOUR_TAGS]


def colour_name(rgb: tuple[int, int, int]) -> str:
    """Return the palette name of one RGB colour, judged by hue, saturation and value."""
    hue, saturation, value = colorsys.rgb_to_hsv(*(channel / 255 for channel in rgb))
    degrees = hue * 360
    if value < 0.2:
        return "black"
    if saturation < 0.2:
        return _neutral_name(value)
    if degrees < 15 or degrees >= 340:
        return "pink" if saturation < 0.55 and value > 0.75 else "red"
    if degrees < 45:
        return "brown" if value < 0.65 else "orange"
    if degrees < 70:
        return "yellow"
    if degrees < 165:
        return "green"
    if degrees < 195:
        return "cyan"
    if degrees < 255:
        return "blue"
    if degrees < 290:
        return "purple"
    return "pink" if value >= 0.5 else "purple"


def _neutral_name(value: float) -> str:
    """Name a colourless colour of brightness ``value`` (0..1)."""
    if value > 0.85:
        return "white"
    if value < 0.3:
        return "black"
    return "gray"
