"""The generated sample library: seeded photo-like images with sidecars, duplicates and junk."""

from __future__ import annotations

import colorsys
import io
import json
import math
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

__all__ = [
    "MANIFEST_NAME",
    "SampleManifest",
    "default_sample_dir",
    "ensure_sample_library",
    "make_benchmark_jpegs",
    "make_sample_library",
]

MANIFEST_NAME = "sample-manifest.json"
_BENCHMARK_MANIFEST_NAME = "benchmark-manifest.json"
# Bump when the drawing changes, so cached libraries made by older code are rebuilt.
_GENERATOR_VERSION = 1
_JPEG_QUALITY = 85
# Level 6 (Pillow's default) is several times slower on big images for a few percent.
_PNG_COMPRESS_LEVEL = 3
# Pictures are drawn at 1/_DRAW_SCALE of their size and upscaled; drawing at full size is slow.
_DRAW_SCALE = 4
# Exact shares of the originals, so every seed has all four sidecar combinations.
_TAGS_SHARE = 0.85
_CAPTION_SHARE = 0.60
_CAPTION_ONLY_SHARE = 0.05
_GRAYSCALE_SHARE = 0.05
_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleManifest:
    """Describe a generated sample library: what is in it and how it was made."""

    root: Path
    images: int
    duplicates: int
    corrupt: int
    with_sidecars: int
    seed: int
    count: int
    jpeg_ratio: float
    sizes: tuple[int, int]
    version: int = _GENERATOR_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest as JSON-ready values."""
        data = asdict(self)
        data["root"] = str(self.root)
        data["sizes"] = list(self.sizes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampleManifest:
        """Build a manifest from ``to_dict`` output."""
        values = dict(data)
        values["root"] = Path(values["root"])
        values["sizes"] = tuple(values["sizes"])
        return cls(**values)


def cache_dir() -> Path:
    """Return ``$WORKERKIT_CACHE``, or ~/.cache/workerkit."""
    return Path(os.environ.get("WORKERKIT_CACHE") or Path.home() / ".cache" / "workerkit")


def default_sample_dir(count: int = 200, seed: int = 0) -> Path:
    """Return the cached sample library folder for ``count`` files made with ``seed``."""
    suffix = "" if seed == 0 else f"-seed{seed}"
    return cache_dir() / f"sample-{count}{suffix}"


def ensure_sample_library(count: int = 200, seed: int = 0) -> SampleManifest:
    """Make the default sample library, or reuse it when it was made with the same parameters."""
    return make_sample_library(default_sample_dir(count, seed), count=count, seed=seed)


def make_sample_library(
    dest: Path,
    *,
    count: int = 200,
    seed: int = 0,
    jpeg_ratio: float = 0.75,
    sizes: tuple[int, int] = (640, 2400),
    corrupt: int | None = None,
    duplicates: int | None = None,
) -> SampleManifest:
    """Write a seeded library of ``count`` image files into ``dest``, or reuse the one there.

    ``dest`` must be missing, empty, or a library made here; a library made with other
    parameters is replaced. ``corrupt`` and ``duplicates`` default to about 2% each.
    """
    dest = Path(dest)
    wanted = SampleManifest(
        root=dest,
        images=0,
        duplicates=_default_share(count) if duplicates is None else duplicates,
        corrupt=_default_corrupt(count) if corrupt is None else corrupt,
        with_sidecars=0,
        seed=seed,
        count=count,
        jpeg_ratio=jpeg_ratio,
        sizes=(sizes[0], sizes[1]),
    )
    _check_recipe(wanted)
    cached = _cached_manifest(dest)
    if (
        cached is not None
        and cached == replace(wanted, images=cached.images, with_sidecars=cached.with_sidecars)
        and _count_image_files(dest) == cached.count
    ):
        return cached
    made = _rebuild(dest, MANIFEST_NAME, lambda folder: _write_library(folder, wanted))
    return SampleManifest.from_dict({**made, "root": str(dest)})


def make_benchmark_jpegs(
    dest: Path,
    *,
    count: int = 200,
    size: tuple[int, int] = (1920, 1280),
    seed: int = 0,
) -> list[Path]:
    """Write ``count`` photo-like JPEGs of one size into ``dest``, or reuse a matching set."""
    dest = Path(dest)
    if count < 1 or min(size) < 1:
        raise ValueError(
            f"Cannot make {count} benchmark JPEGs of {size[0]}x{size[1]}: expected a count of "
            "at least 1 and a positive width and height; pass count=200, size=(1920, 1280)."
        )
    recipe = {"count": count, "size": [*size], "seed": seed, "version": _GENERATOR_VERSION}
    cached = _read_manifest(dest, _BENCHMARK_MANIFEST_NAME) or {}
    paths = [dest / name for name in cached.get("files", [])]
    if {k: cached.get(k) for k in recipe} != recipe or not all(p.is_file() for p in paths):
        made = _rebuild(
            dest, _BENCHMARK_MANIFEST_NAME, lambda folder: _write_benchmark(folder, recipe)
        )
        paths = [dest / name for name in made["files"]]
    return paths


# --- the folder: refuse foreign content, build beside it, swap in -------------------------


def _read_manifest(dest: Path, name: str) -> dict[str, Any] | None:
    """Return the JSON manifest ``name`` in ``dest``: None when missing, {} when unreadable."""
    try:
        data = json.loads((dest / name).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _cached_manifest(dest: Path) -> SampleManifest | None:
    """Return the sample manifest in ``dest``, or None when missing or from an older generator."""
    data = _read_manifest(dest, MANIFEST_NAME)
    try:
        return SampleManifest.from_dict({**data, "root": str(dest)}) if data else None
    except (KeyError, TypeError):
        return None


def _count_image_files(root: Path) -> int:
    """Return how many .jpg and .png files lie under ``root``."""
    return sum(1 for p in root.rglob("*") if p.suffix in (".jpg", ".png") and p.is_file())


def _rebuild(dest: Path, name: str, write: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Build into a sibling folder with ``write``, then replace ``dest`` with it."""
    _check_replaceable(dest, name)
    # Building beside dest means an interrupted run never leaves a half library in dest,
    # which the next run would refuse as foreign content.
    partial = dest.with_name(f".{dest.name}.workerkit-partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        summary = write(partial)
        _write_json(partial / name, summary)
        if dest.exists():
            shutil.rmtree(dest)
        partial.rename(dest)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return summary


def _check_replaceable(dest: Path, name: str) -> None:
    """Raise a ValueError unless ``dest`` is missing, empty, or a folder this module made."""
    what = "sample library" if name == MANIFEST_NAME else "set of benchmark JPEGs"
    if not dest.exists() or (dest / name).is_file():
        return
    if not dest.is_dir():
        raise ValueError(
            f"Cannot write a {what} to {dest}: it is a file, not a folder. "
            "Pass a new or empty folder."
        )
    if any(dest.iterdir()):
        raise ValueError(
            f"Refusing to write a {what} into {dest}: the folder is not empty and holds "
            f"no {name}, so its files were not made here. Pass a new or empty folder, "
            "or delete this one first."
        )


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as stable, sorted JSON so equal inputs give equal bytes."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --- the recipe --------------------------------------------------------------------------


def _default_share(count: int) -> int:
    """Return the default number of duplicates: about 2%, at least 2 from 50 images."""
    return max(round(count * 0.02), 2 if count >= 50 else 0)


def _default_corrupt(count: int) -> int:
    """Return the default number of corrupt files; from 100 there is room for a zero-byte one."""
    return max(_default_share(count), 3 if count >= 100 else 0)


def _check_recipe(wanted: SampleManifest) -> None:
    """Raise a ValueError naming the fix when the parameters cannot make a library."""
    low, high = wanted.sizes
    originals = wanted.count - wanted.corrupt - wanted.duplicates
    problems = [
        (wanted.count >= 1, f"count must be at least 1, got {wanted.count}"),
        (0.0 <= wanted.jpeg_ratio <= 1.0, f"jpeg_ratio must be in [0, 1], got {wanted.jpeg_ratio}"),
        (1 <= low <= high, f"sizes must be (min, max) with 1 <= min <= max, got {wanted.sizes}"),
        (
            wanted.corrupt >= 0 and wanted.duplicates >= 0 and originals >= 1,
            f"corrupt ({wanted.corrupt}) and duplicates ({wanted.duplicates}) must be "
            f"non-negative and leave at least one original among {wanted.count} files",
        ),
    ]
    for ok, problem in problems:
        if not ok:
            raise ValueError(f"Cannot make a sample library: {problem}. Fix the argument.")


# --- the pictures ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Theme:
    """A kind of scene: where it is filed, its colours, its shapes and its fixed tags."""

    word: str
    folder: str
    sky_hue: tuple[float, float]
    ground_hue: tuple[float, float]
    value: tuple[float, float]
    saturation: tuple[float, float]
    shape_hue: tuple[float, float]
    shapes: tuple[tuple[str, int, int], ...]
    tags: tuple[str, ...]
    portrait_bias: bool = False


# Columns: word, folder, sky hue, ground hue, value, saturation, shape hue,
# shapes as (kind, fewest, most), tags. Hues may pass 0 or 1 to wrap around red.
_THEMES: tuple[_Theme, ...] = (
    _Theme(
        "sunset",
        "trips",
        (-0.04, 0.1),
        (0.72, 0.9),
        (0.35, 1.0),
        (0.6, 1.0),
        (0.1, 0.16),
        (("circle", 1, 1), ("polygon", 0, 2)),
        ("sunset", "sky", "outdoor"),
    ),
    _Theme(
        "ocean",
        "trips",
        (0.52, 0.6),
        (0.55, 0.68),
        (0.3, 0.95),
        (0.5, 0.9),
        (0.1, 0.15),
        (("rectangle", 1, 1), ("circle", 0, 1)),
        ("ocean", "water", "outdoor"),
    ),
    _Theme(
        "desert",
        "trips",
        (0.55, 0.6),
        (0.08, 0.13),
        (0.55, 1.0),
        (0.4, 0.8),
        (0.06, 0.1),
        (("polygon", 1, 3), ("circle", 0, 1)),
        ("desert", "sand", "outdoor"),
    ),
    _Theme(
        "snow",
        "trips",
        (0.55, 0.62),
        (0.55, 0.62),
        (0.8, 1.0),
        (0.0, 0.15),
        (0.58, 0.62),
        (("triangle", 1, 3),),
        ("snow", "winter", "outdoor"),
    ),
    _Theme(
        "forest",
        "",
        (0.25, 0.4),
        (0.22, 0.35),
        (0.2, 0.75),
        (0.4, 0.9),
        (0.25, 0.4),
        (("triangle", 3, 8),),
        ("forest", "trees", "outdoor"),
    ),
    _Theme(
        "night",
        "",
        (0.6, 0.7),
        (0.6, 0.75),
        (0.03, 0.25),
        (0.3, 0.8),
        (0.12, 0.17),
        (("circle", 2, 9),),
        ("night", "sky", "outdoor"),
    ),
    _Theme(
        "studio",
        "studio/portraits",
        (0.0, 1.0),
        (0.0, 1.0),
        (0.2, 0.7),
        (0.0, 0.25),
        (0.02, 0.1),
        (("ellipse", 1, 1), ("rectangle", 1, 1)),
        ("studio", "person", "indoor"),
        portrait_bias=True,
    ),
    _Theme(
        "city",
        "",
        (0.55, 0.65),
        (0.0, 1.0),
        (0.2, 0.8),
        (0.0, 0.2),
        (0.12, 0.16),
        (("rectangle", 3, 8),),
        ("city", "buildings", "outdoor"),
    ),
    _Theme(
        "flowers",
        "",
        (0.22, 0.38),
        (0.25, 0.38),
        (0.4, 0.9),
        (0.5, 0.9),
        (0.85, 1.05),
        (("circle", 3, 8), ("ellipse", 0, 3)),
        ("flowers", "garden", "outdoor"),
    ),
    _Theme(
        "abstract",
        "",
        (0.0, 1.0),
        (0.0, 1.0),
        (0.2, 1.0),
        (0.3, 1.0),
        (0.0, 1.0),
        (("circle", 0, 3), ("rectangle", 0, 3), ("polygon", 0, 3)),
        ("abstract", "art"),
    ),
)

_Shape = tuple[str, tuple[int, int, int, int]]
"""A shape kind and its RGBA fill."""

_PLURALS = {
    "circle": "circles",
    "ellipse": "ellipses",
    "rectangle": "rectangles",
    "triangle": "triangles",
    "polygon": "polygons",
}


@dataclass(frozen=True, slots=True)
class _Picture:
    """Everything needed to render, name and describe one image, decided up front."""

    index: int
    theme: _Theme
    size: tuple[int, int]
    top: tuple[int, int, int]
    bottom: tuple[int, int, int]
    radial: bool
    grayscale: bool
    shapes: tuple[_Shape, ...]
    noise_seed: int

    @property
    def stem(self) -> str:
        """Return the file stem: the zero-padded index and the theme word."""
        return f"img_{self.index:04d}_{self.theme.word}"

    @property
    def orientation(self) -> str:
        """Return landscape, portrait or square."""
        width, height = self.size
        if width == height:
            return "square"
        return "landscape" if width > height else "portrait"

    def relative_path(self, suffix: str) -> Path:
        """Return this picture's path with ``suffix`` relative to the library root."""
        return Path(self.theme.folder) / f"{self.stem}{suffix}"


def _picture_rng(seed: int, index: int) -> random.Random:
    """Return the generator for one picture, so pictures do not depend on each other."""
    # A str seed is hashed with SHA-512, which is stable across processes (unlike hash()).
    return random.Random(f"workerkit-sample:{seed}:{index}")


def _plan_picture(
    rng: random.Random, index: int, sizes: tuple[int, int], fixed: tuple[int, int] | None = None
) -> _Picture:
    """Decide a picture's theme, size, colours and shapes."""
    theme = rng.choice(_THEMES)
    size = fixed or _plan_size(rng, sizes, theme.portrait_bias)
    top = _colour(rng, theme.sky_hue, theme.saturation, theme.value)
    bottom = _colour(rng, theme.ground_hue, theme.saturation, theme.value)
    shapes = tuple(
        (kind, (*_colour(rng, theme.shape_hue, (0.5, 1.0), (0.5, 1.0)), rng.randint(150, 230)))
        for kind, low, high in theme.shapes
        for _ in range(rng.randint(low, high))
    )
    return _Picture(
        index=index,
        theme=theme,
        size=size,
        top=top,
        bottom=bottom,
        radial=rng.random() < 0.35,
        grayscale=fixed is None and rng.random() < _GRAYSCALE_SHARE,
        shapes=shapes,
        noise_seed=rng.getrandbits(64),
    )


def _plan_size(rng: random.Random, sizes: tuple[int, int], portrait_bias: bool) -> tuple[int, int]:
    """Return a (width, height) with both sides in ``sizes``, in a common aspect ratio."""
    low, high = sizes
    long = rng.randint(low, high)
    short = min(long, max(low, round(long / rng.choice((1.25, 4 / 3, 1.5, 16 / 9)))))
    portraits = 6 if portrait_bias else 3
    shape = rng.choice(("landscape",) * 5 + ("portrait",) * portraits + ("square",))
    return {"landscape": (long, short), "portrait": (short, long), "square": (long, long)}[shape]


def _colour(
    rng: random.Random,
    hue: tuple[float, float],
    saturation: tuple[float, float],
    value: tuple[float, float],
) -> tuple[int, int, int]:
    """Return a random RGB colour inside the hue, saturation and value ranges."""
    h = rng.uniform(*hue) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(*saturation), rng.uniform(*value))
    return round(r * 255), round(g * 255), round(b * 255)


def _render(picture: _Picture, *, grain: bool) -> tuple[Image.Image, str]:
    """Return the picture drawn small, softened, upscaled and grained, and its brightness word."""
    width, height = picture.size
    small_size = (max(8, math.ceil(width / _DRAW_SCALE)), max(8, math.ceil(height / _DRAW_SCALE)))
    rng = random.Random(picture.noise_seed)
    small = _gradient(picture, small_size, rng)
    _draw_shapes(small, picture.shapes, rng)
    small = _add_noise(small, rng, spread=24, scale=1).filter(ImageFilter.GaussianBlur(1.2))
    image = small.resize(picture.size, Image.Resampling.BICUBIC)
    if grain:
        image = _add_noise(image, rng, spread=10, scale=2)
    image = image.convert("L") if picture.grayscale else image
    return image, _brightness(small)


def _gradient(picture: _Picture, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Return a linear or radial blend between the picture's two colours."""
    if picture.radial:
        mask = Image.radial_gradient("L")
        # Crop an off-centre window so the bright spot is not always in the middle.
        left, upper = rng.randint(0, 96), rng.randint(0, 96)
        mask = mask.crop((left, upper, left + 160, upper + 160))
    else:
        mask = Image.linear_gradient("L").rotate(rng.uniform(-25, 25), Image.Resampling.BILINEAR)
        mask = mask.crop((32, 32, 224, 224))
    mask = mask.resize(size, Image.Resampling.BILINEAR)
    top, bottom = Image.new("RGB", size, picture.top), Image.new("RGB", size, picture.bottom)
    return Image.composite(bottom, top, mask)


def _draw_shapes(image: Image.Image, shapes: tuple[_Shape, ...], rng: random.Random) -> None:
    """Draw translucent shapes at random places and sizes."""
    draw = ImageDraw.Draw(image, "RGBA")
    width, height = image.size
    unit = min(width, height)
    for kind, fill in shapes:
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        rx = rng.uniform(0.05, 0.25) * unit
        ry = rx if kind == "circle" else rng.uniform(0.05, 0.3) * unit
        if kind in ("circle", "ellipse"):
            draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)
        elif kind == "rectangle":
            draw.rectangle((cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)
        else:
            corners = 3 if kind == "triangle" else rng.randint(4, 7)
            draw.polygon(_polygon(rng, (cx, cy), rx, corners), fill=fill)


def _polygon(
    rng: random.Random, centre: tuple[float, float], radius: float, corners: int
) -> list[tuple[float, float]]:
    """Return the corners of an irregular polygon around ``centre``."""
    start = rng.uniform(0, 2 * math.pi)
    points = []
    for i in range(corners):
        angle, reach = start + 2 * math.pi * i / corners, radius * rng.uniform(0.6, 1.0)
        points.append((centre[0] + reach * math.cos(angle), centre[1] + reach * math.sin(angle)))
    return points


def _add_noise(image: Image.Image, rng: random.Random, *, spread: int, scale: int) -> Image.Image:
    """Return ``image`` plus zero-mean gray noise of +-``spread`` levels, ``scale`` pixels wide."""
    # Seeded bytes, because Image.effect_noise cannot be seeded.
    size = (max(1, image.width // scale), max(1, image.height // scale))
    band = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    band = band.point([v * 2 * spread // 255 for v in range(256)])
    if scale > 1:
        band = band.resize(image.size, Image.Resampling.BILINEAR)
    return ImageChops.add(image, Image.merge("RGB", (band, band, band)), offset=-spread)


def _encode(picture: _Picture, image_format: str) -> tuple[bytes, str]:
    """Return the rendered picture encoded as JPEG or PNG, and its brightness word."""
    buffer = io.BytesIO()
    # PNG gets no grain: grain makes PNGs huge and slow to compress, and few PNGs are photos.
    image, brightness = _render(picture, grain=image_format == "JPEG")
    if image_format == "JPEG":
        image.save(buffer, "JPEG", quality=_JPEG_QUALITY)
    else:
        image.save(buffer, "PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue(), brightness


# --- tags and captions -------------------------------------------------------------------


def _colour_name(rgb: tuple[int, int, int]) -> str:
    """Return a plain colour word for an RGB colour."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    if v < 0.18:
        return "black"
    if s < 0.2:
        return "white" if v > 0.85 else "gray"
    names = (
        (0.04, "red"),
        (0.11, "orange"),
        (0.18, "yellow"),
        (0.45, "green"),
        (0.7, "blue"),
        (0.8, "purple"),
        (0.95, "pink"),
        (1.01, "red"),
    )
    return next(name for limit, name in names if h < limit)


def _brightness(image: Image.Image) -> str:
    """Return 'dark', 'bright' or '' from the mean luminance."""
    mean = ImageStat.Stat(image.convert("L")).mean[0]
    return "dark" if mean < 80 else "bright" if mean > 170 else ""


def _describe(picture: _Picture, brightness: str) -> tuple[list[str], str]:
    """Return the picture's tags and its one-sentence caption."""
    main = [picture.top, picture.bottom, *(fill[:3] for _, fill in picture.shapes[:1])]
    colours = ["gray"] if picture.grayscale else _unique([_colour_name(c) for c in main])
    kinds = _unique([kind for kind, _ in picture.shapes])
    blend = "radial" if picture.radial else "linear"
    extras = [w for w in (brightness, "grayscale" if picture.grayscale else "") if w]
    tags = _unique(
        [*picture.theme.tags, *colours, *kinds, "gradient", blend, picture.orientation, *extras]
    )
    counted = [_counted(sum(k == kind for k, _ in picture.shapes), kind) for kind in kinds]
    words = " ".join(w for w in (brightness, colours[0], "radial" if picture.radial else "") if w)
    caption = f"a {words} gradient" + (f" with {' and '.join(counted)}" if counted else "")
    return tags, f"{caption}, {picture.theme.word} scene"


def _counted(number: int, kind: str) -> str:
    """Return 'one circle', 'three polygons' and so on."""
    word = _COUNT_WORDS[number] if number < len(_COUNT_WORDS) else str(number)
    return f"{word} {kind if number == 1 else _PLURALS[kind]}"


def _unique(words: list[str]) -> list[str]:
    """Return ``words`` without repeats, in first-seen order."""
    return list(dict.fromkeys(words))


# --- writing the library -----------------------------------------------------------------


def _write_library(folder: Path, wanted: SampleManifest) -> dict[str, Any]:
    """Write every file of the library into ``folder`` and return the manifest data."""
    layout = random.Random(f"workerkit-sample:{wanted.seed}:layout")
    corrupt_slots, duplicate_slots, original_slots = _plan_slots(wanted, layout)
    jpeg_count = round(len(original_slots) * wanted.jpeg_ratio)
    formats = ["JPEG"] * jpeg_count + ["PNG"] * (len(original_slots) - jpeg_count)
    layout.shuffle(formats)
    tagged, captioned = _plan_sidecars(original_slots, layout)
    originals: list[tuple[_Picture, Path]] = []
    for index, image_format in zip(original_slots, formats, strict=True):
        picture = _plan_picture(_picture_rng(wanted.seed, index), index, wanted.sizes)
        sidecars = (index in tagged, index in captioned)
        originals.append((picture, _write_picture(folder, picture, image_format, *sidecars)))
    with_sidecars = len(tagged | captioned)
    for index in duplicate_slots:
        with_sidecars += _write_duplicate(folder, index, layout.choice(originals))
    for number, index in enumerate(corrupt_slots):
        picture = _plan_picture(_picture_rng(wanted.seed, index), index, wanted.sizes)
        _write_corrupt(folder, picture, ("truncated", "garbage", "empty")[number % 3], layout)
    images = len(original_slots) + len(duplicate_slots)
    data = replace(wanted, images=images, with_sidecars=with_sidecars).to_dict()
    # The folder holding the file is the root, so same-seed libraries are byte-identical.
    del data["root"]
    return data


def _plan_slots(wanted: SampleManifest, rng: random.Random) -> tuple[list[int], ...]:
    """Return the file indexes of the corrupt files, the duplicates and the originals."""
    slots = list(range(wanted.count))
    rng.shuffle(slots)
    copies_end = wanted.corrupt + wanted.duplicates
    return (
        sorted(slots[: wanted.corrupt]),
        sorted(slots[wanted.corrupt : copies_end]),
        sorted(slots[copies_end:]),
    )


def _plan_sidecars(slots: list[int], rng: random.Random) -> tuple[set[int], set[int]]:
    """Return which slots get tags and which get a caption; most captions go with tags."""
    order = slots.copy()
    rng.shuffle(order)
    tagged = round(len(order) * _TAGS_SHARE)
    with_both = round(len(order) * (_CAPTION_SHARE - _CAPTION_ONLY_SHARE))
    caption_only = order[tagged : tagged + round(len(order) * _CAPTION_ONLY_SHARE)]
    return set(order[:tagged]), {*order[:with_both], *caption_only}


def _write_picture(
    folder: Path, picture: _Picture, image_format: str, tags_file: bool, caption_file: bool
) -> Path:
    """Render and save one picture with the sidecars asked for; return its path."""
    suffix = ".jpg" if image_format == "JPEG" else ".png"
    path = folder / picture.relative_path(suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    data, brightness = _encode(picture, image_format)
    path.write_bytes(data)
    tags, caption = _describe(picture, brightness)
    if tags_file:
        path.with_suffix(".txt").write_text(", ".join(tags) + "\n", encoding="utf-8")
    if caption_file:
        path.with_suffix(".caption").write_text(caption + "\n", encoding="utf-8")
    return path


def _write_duplicate(folder: Path, index: int, source: tuple[_Picture, Path]) -> bool:
    """Copy an original and its sidecars under a new index; return whether it has sidecars."""
    picture, path = source
    copy = path.with_name(f"img_{index:04d}_{picture.theme.word}{path.suffix}")
    copy.write_bytes(path.read_bytes())
    copied = False
    for suffix in (".txt", ".caption"):
        sidecar = path.with_suffix(suffix)
        if sidecar.exists():
            copy.with_suffix(suffix).write_bytes(sidecar.read_bytes())
            copied = True
    return copied


def _write_corrupt(folder: Path, picture: _Picture, kind: str, rng: random.Random) -> None:
    """Write a file with an image extension that cannot be decoded."""
    target = folder / picture.relative_path(".png" if kind == "garbage" else ".jpg")
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "truncated":
        data, _ = _encode(picture, "JPEG")
        target.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        target.write_bytes(b"this is not a PNG file\n" + rng.randbytes(4096))
    else:
        target.write_bytes(b"")


def _write_benchmark(folder: Path, recipe: dict[str, Any]) -> dict[str, Any]:
    """Write the benchmark JPEGs and return the manifest data listing them."""
    size = (recipe["size"][0], recipe["size"][1])
    names = []
    for index in range(recipe["count"]):
        rng = random.Random(f"workerkit-benchmark:{recipe['seed']}:{index}")
        picture = _plan_picture(rng, index, size, fixed=size)
        name = f"bench_{index:04d}_{picture.theme.word}.jpg"
        (folder / name).write_bytes(_encode(picture, "JPEG")[0])
        names.append(name)
    return {**recipe, "files": names}
