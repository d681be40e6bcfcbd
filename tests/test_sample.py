"""Tests for the generated sample library and the benchmark JPEGs."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from workerkit.imagelib.domain.hashing import dhash
from workerkit.imagelib.domain.sidecars import read_sidecars
from workerkit.imagelib.sample import (
    MANIFEST_NAME,
    SampleManifest,
    default_sample_dir,
    ensure_sample_library,
    make_benchmark_jpegs,
    make_sample_library,
)

COUNT = 60
SEED = 7
# Tiny pictures for the tests that only look at the folder's layout, not the pixels.
TINY = (64, 96)


def image_files(root: Path) -> list[Path]:
    """Return every file with an image extension under ``root``."""
    return sorted(p for p in root.rglob("*") if p.suffix in (".jpg", ".png"))


def decodes(path: Path) -> bool:
    """Return whether Pillow can fully decode ``path``."""
    try:
        with Image.open(path) as image:
            image.load()
    except OSError:
        return False
    return True


def digests(root: Path) -> dict[str, str]:
    """Return a SHA-256 for every file under ``root``, keyed by its relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def mtimes(root: Path) -> dict[Path, int]:
    """Return the modification time in nanoseconds of every file under ``root``."""
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> SampleManifest:
    """Return a 60-file library at the default picture sizes."""
    return make_sample_library(tmp_path_factory.mktemp("a") / "lib", count=COUNT, seed=SEED)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> SampleManifest:
    """Return a second library made with the same parameters in another folder."""
    return make_sample_library(tmp_path_factory.mktemp("b") / "lib", count=COUNT, seed=SEED)


@pytest.fixture(scope="module")
def valid(library: SampleManifest) -> list[Path]:
    """Return the library's image files that decode."""
    return [p for p in image_files(library.root) if decodes(p)]


def test_sample_counts_match_manifest(library: SampleManifest, valid: list[Path]) -> None:
    files = image_files(library.root)
    assert len(files) == COUNT
    assert library.count == COUNT
    assert library.images == len(valid) == COUNT - library.corrupt
    assert library.duplicates == 2
    assert library.corrupt == 2
    assert library.seed == SEED


def test_sample_files_nested_in_subfolders(library: SampleManifest) -> None:
    folders = {p.parent.relative_to(library.root).as_posix() for p in image_files(library.root)}
    assert {".", "trips", "studio/portraits"} <= folders


def test_sample_names_index_and_word(library: SampleManifest) -> None:
    stems = [p.stem for p in image_files(library.root)]
    indexes = sorted(int(stem.split("_")[1]) for stem in stems)
    assert indexes == list(range(COUNT))
    assert all(stem.startswith("img_") and stem.split("_")[2].isalpha() for stem in stems)


def test_sample_manifest_round_trips_through_json(library: SampleManifest) -> None:
    stored = json.loads((library.root / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert SampleManifest.from_dict({**stored, "root": str(library.root)}) == library
    assert SampleManifest.from_dict(json.loads(json.dumps(library.to_dict()))) == library


def test_sample_same_seed_byte_identical(library: SampleManifest, twin: SampleManifest) -> None:
    first, second = digests(library.root), digests(twin.root)
    assert len(first) > COUNT
    assert first == second


def test_sample_other_seed_differs(tmp_path: Path) -> None:
    one = make_sample_library(tmp_path / "one", count=COUNT, seed=SEED, sizes=TINY)
    other = make_sample_library(tmp_path / "other", count=COUNT, seed=SEED + 1, sizes=TINY)
    first = {h for name, h in digests(one.root).items() if name.endswith((".jpg", ".png"))}
    second = {h for name, h in digests(other.root).items() if name.endswith((".jpg", ".png"))}
    # Only the zero-byte file, if any, may be shared.
    assert len(first & second) <= 1
    assert len(first) > COUNT // 2


def test_sample_duplicates_byte_identical(library: SampleManifest, valid: list[Path]) -> None:
    contents = Counter(p.read_bytes() for p in valid)
    copies = sum(n - 1 for n in contents.values())
    assert copies == library.duplicates


def test_sample_corrupt_files_fail_to_decode(library: SampleManifest) -> None:
    broken = [p for p in image_files(library.root) if not decodes(p)]
    assert len(broken) == library.corrupt
    suffixes = sorted(p.suffix for p in broken)
    assert suffixes == [".jpg", ".png"]
    truncated = next(p for p in broken if p.suffix == ".jpg").read_bytes()
    assert truncated.startswith(b"\xff\xd8") and len(truncated) > 1000


def test_sample_corrupt_defaults_include_zero_byte_jpeg(tmp_path: Path) -> None:
    manifest = make_sample_library(tmp_path / "lib", count=100, sizes=TINY)
    broken = [p for p in image_files(manifest.root) if not decodes(p)]
    assert manifest.corrupt == len(broken) == 3
    assert [p.suffix for p in broken if p.stat().st_size == 0] == [".jpg"]


def test_sample_sizes_in_range(valid: list[Path]) -> None:
    sizes = []
    for path in valid:
        with Image.open(path) as image:
            sizes.append(image.size)
    assert all(640 <= side <= 2400 for size in sizes for side in size)
    shapes = {"landscape" if w > h else "portrait" if h > w else "square" for w, h in sizes}
    assert shapes == {"landscape", "portrait", "square"}


def test_sample_both_formats_present(valid: list[Path]) -> None:
    formats = Counter()
    for path in valid:
        with Image.open(path) as image:
            formats[image.format] += 1
            assert image.format == {".jpg": "JPEG", ".png": "PNG"}[path.suffix]
    assert set(formats) == {"JPEG", "PNG"}
    assert 0.6 < formats["JPEG"] / len(valid) < 0.9


def test_sample_sidecars_describe_their_image(library: SampleManifest, valid: list[Path]) -> None:
    with_sidecars = 0
    for path in valid:
        tags_file, caption_file = path.with_suffix(".txt"), path.with_suffix(".caption")
        with_sidecars += tags_file.exists() or caption_file.exists()
        if caption_file.exists():
            assert caption_file.read_text(encoding="utf-8").startswith("a ")
        if not tags_file.exists():
            continue
        tags = [t.strip() for t in tags_file.read_text(encoding="utf-8").split(",")]
        with Image.open(path) as image:
            width, height = image.size
            mode = image.mode
        orientation = "landscape" if width > height else "portrait" if height > width else "square"
        assert orientation in tags, (path.name, tags)
        assert ("grayscale" in tags) == (mode == "L"), (path.name, tags)
        assert path.stem.split("_")[2] in tags
    assert with_sidecars == library.with_sidecars
    assert 0.7 * len(valid) < with_sidecars < len(valid)


def test_sample_sidecars_read_by_project_reader(valid: list[Path]) -> None:
    for path in valid:
        sidecars = read_sidecars(path)
        tags_file = path.with_suffix(".txt")
        written = tags_file.read_text(encoding="utf-8").split(", ") if tags_file.exists() else []
        assert list(sidecars.tags) == [tag.strip() for tag in written], path.name
        assert (sidecars.caption is not None) == path.with_suffix(".caption").exists(), path.name


def test_sample_originals_have_distinct_hashes(library: SampleManifest, valid: list[Path]) -> None:
    hashes = set()
    for path in valid:
        with Image.open(path) as image:
            hashes.add(dhash(image))
    assert len(hashes) == library.images - library.duplicates


def test_sample_tag_searches_return_subsets(library: SampleManifest, valid: list[Path]) -> None:
    tag_sets = [
        {t.strip() for t in p.with_suffix(".txt").read_text(encoding="utf-8").split(",")}
        for p in valid
        if p.with_suffix(".txt").exists()
    ]
    for tag in ("outdoor", "circle", "dark", "blue"):
        hits = sum(tag in tags for tags in tag_sets)
        assert 0 < hits < len(tag_sets), tag


def test_sample_second_call_reuses_library(library: SampleManifest) -> None:
    before = mtimes(library.root)
    again = make_sample_library(library.root, count=COUNT, seed=SEED)
    assert again == library
    assert mtimes(library.root) == before


def test_sample_other_parameters_replace_library(tmp_path: Path) -> None:
    dest = tmp_path / "lib"
    make_sample_library(dest, count=12, sizes=TINY)
    manifest = make_sample_library(dest, count=8, sizes=TINY)
    assert manifest.count == 8
    assert len(image_files(dest)) == 8


def test_sample_missing_file_rebuilds_library(tmp_path: Path) -> None:
    dest = tmp_path / "lib"
    make_sample_library(dest, count=12, sizes=TINY)
    image_files(dest)[0].unlink()
    make_sample_library(dest, count=12, sizes=TINY)
    assert len(image_files(dest)) == 12


def test_sample_refuses_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "holiday.jpg").write_bytes(b"mine")
    expected = (
        f"Refusing to write a sample library into {tmp_path}: the folder is not empty and holds "
        f"no {MANIFEST_NAME}, so its files were not made here. Pass a new or empty folder, "
        "or delete this one first."
    )
    with pytest.raises(ValueError) as excinfo:
        make_sample_library(tmp_path, count=5, sizes=TINY)
    assert str(excinfo.value) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holiday.jpg"]


def test_sample_refuses_file_as_folder(tmp_path: Path) -> None:
    dest = tmp_path / "lib"
    dest.write_bytes(b"not a folder")
    expected = f"Cannot write a sample library to {dest}: it is a file, not a folder. Pass a"
    with pytest.raises(ValueError, match=re.escape(expected)):
        make_sample_library(dest, count=5, sizes=TINY)
    assert dest.read_bytes() == b"not a folder"


def test_benchmark_jpegs_refuse_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "mine.jpg").write_bytes(b"mine")
    with pytest.raises(ValueError, match="Refusing to write a set of benchmark JPEGs into"):
        make_benchmark_jpegs(tmp_path, count=1, size=(32, 32))


def test_sample_rejects_bad_ratio(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"jpeg_ratio must be in \[0, 1\], got 1.5\. Fix"):
        make_sample_library(tmp_path / "lib", count=5, jpeg_ratio=1.5)
    assert not (tmp_path / "lib").exists()


def test_sample_default_dir_follows_cache_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKERKIT_CACHE", str(tmp_path))
    assert default_sample_dir() == tmp_path / "sample-200"
    manifest = ensure_sample_library(count=4, seed=1)
    assert manifest.root == tmp_path / "sample-4-seed1"
    assert len(image_files(manifest.root)) == 4


def test_sample_default_dirs_differ_by_count_so_caches_coexist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKERKIT_CACHE", str(tmp_path))
    small = ensure_sample_library(count=4)
    larger = ensure_sample_library(count=5)
    assert small.root != larger.root
    before = mtimes(small.root)
    assert ensure_sample_library(count=4) == small
    assert mtimes(small.root) == before


def test_benchmark_jpegs_uniform_and_cached(tmp_path: Path) -> None:
    paths = make_benchmark_jpegs(tmp_path / "bench", count=3, size=(320, 200))
    assert len(paths) == 3
    for path in paths:
        with Image.open(path) as image:
            assert (image.format, image.size) == ("JPEG", (320, 200))
    before = mtimes(tmp_path / "bench")
    assert make_benchmark_jpegs(tmp_path / "bench", count=3, size=(320, 200)) == paths
    assert mtimes(tmp_path / "bench") == before


def test_benchmark_jpegs_deterministic(tmp_path: Path) -> None:
    make_benchmark_jpegs(tmp_path / "a", count=2, size=(320, 200), seed=3)
    make_benchmark_jpegs(tmp_path / "b", count=2, size=(320, 200), seed=3)
    make_benchmark_jpegs(tmp_path / "c", count=2, size=(320, 200), seed=4)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert digests(tmp_path / "a") != digests(tmp_path / "c")
