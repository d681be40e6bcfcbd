"""Broken, odd and vanishing image files: each is reported with path and reason; the run goes on."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QSize

from workerkit import STACKS
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.intake import prepare_image
from workerkit.imagelib.domain.results import RegistrationResult, ThumbnailResult
from workerkit.imagelib.domain.scanner import scan_images
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.legacy_workers import registration_worker as legacy_registration
from workerkit.imagelib.pool_workers import registration as pool_registration
from workerkit.imagelib.service import WorkerService

from .conftest import (
    EventLog,
    finished_registration,
    images_missing_sidecar_tags,
    run_job,
    write_image,
    write_sidecar,
)

pytestmark = pytest.mark.timeout(120)

BOMB_LIMIT = 1_000_000
EXIF_ORIENTATION = 0x0112
ROTATE_90 = 6


@dataclass(frozen=True, slots=True)
class FaultLibrary:
    """A folder of valid-but-unusual images and broken files, with what each should become."""

    root: Path
    valid: dict[str, Path]
    broken: dict[Path, str]


def _truncate(path: Path, keep: float) -> None:
    """Cut ``path`` to the first ``keep`` share of its bytes."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _write_valid(root: Path) -> dict[str, Path]:
    rotated_exif = Image.Exif()
    rotated_exif[EXIF_ORIENTATION] = ROTATE_90
    (root / "sub").mkdir()
    (root / "folder.png").mkdir()
    valid = {
        "plain": write_image(root / "plain.png", 1),
        "cmyk": write_image(root / "cmyk.jpg", 2, "CMYK"),
        "sixteen_bit": write_image(root / "sixteen-bit.png", 3, "I;16"),
        "palette": write_image(root / "palette.png", 4, "P"),
        "rotated": write_image(root / "rotated.jpg", 5, size=(80, 40), exif=rotated_exif),
        "non_utf8": write_image(root / os.fsdecode(b"caf\xe9-latin1.png"), 6),
        "nested": write_image(root / "sub" / "nested.png", 7),
        "in_folder_named_png": write_image(root / "folder.png" / "inside.png", 8),
    }
    for name, path in valid.items():
        caption = f"the {name} image" if name in {"plain", "palette", "non_utf8"} else None
        write_sidecar(path, [name.replace("_", " "), "fault suite"], caption)
    # A folder symlink back to the root: the scan must neither loop nor register twice.
    os.symlink("..", root / "sub" / "back-to-root")
    return valid


def _write_broken(root: Path) -> dict[Path, str]:
    _truncate(write_image(root / "truncated.jpg", 20, size=(256, 256), quality=90), 0.6)
    _truncate(write_image(root / "truncated.png", 21, size=(256, 256)), 0.5)
    write_sidecar(root / "truncated.jpg", ["never registered"])
    (root / "garbage.png").write_bytes(bytes(range(256)) * 8)
    (root / "empty.jpg").write_bytes(b"")
    # Small on disk, 1.5 megapixels decoded: a bomb once the limit is lowered to 1 megapixel.
    Image.new("RGB", (1500, 1000), (200, 30, 30)).save(root / "bomb.png")
    return {
        root / "truncated.jpg": "truncated or corrupt",
        root / "truncated.png": "truncated or corrupt",
        root / "garbage.png": "not an image in a supported format",
        root / "empty.jpg": "the file is empty (0 bytes)",
        root / "bomb.png": "exceeds Pillow's pixel limit",
    }


def _register(
    qtbot: object, service: WorkerService, root: Path
) -> tuple[EventLog, RegistrationResult]:
    """Register ``root`` with ``service``; return the service's log and the finished result."""
    log = EventLog.attach(service)
    outcome = run_job(qtbot, log, lambda: service.start_batch_registration(root))
    return log, finished_registration(outcome)


@pytest.fixture
def fault_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FaultLibrary:
    """Build the fault library and lower Pillow's decompression-bomb limit for the test."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", BOMB_LIMIT)
    root = tmp_path / "faults"
    root.mkdir()
    return FaultLibrary(root, _write_valid(root), _write_broken(root))


@dataclass(frozen=True, slots=True)
class Registered:
    """A service of the test's stack that has registered a folder, its log and its result."""

    service: WorkerService
    log: EventLog
    result: RegistrationResult


@pytest.fixture
def register(
    qtbot, stack: str, make_service: Callable[..., WorkerService], store: ImageStore
) -> Callable[[Path], Registered]:
    """Return register(root), which registers ``root`` on a new service of the test's stack."""

    def run(root: Path) -> Registered:
        service = make_service(store, stack)
        log, result = _register(qtbot, service, root)
        return Registered(service, log, result)

    return run


@pytest.fixture
def registered(register: Callable[[Path], Registered], fault_library: FaultLibrary) -> Registered:
    """Return the registration of the fault library on the test's stack."""
    return register(fault_library.root)


@pytest.mark.parametrize("stack", STACKS)
def test_registration_reports_each_broken_image_and_registers_the_rest(
    registered: Registered, store: ImageStore, fault_library: FaultLibrary
) -> None:
    result = registered.result
    reasons = {failure.path: failure.reason for failure in result.errors}
    assert set(reasons) == set(fault_library.broken), reasons
    for path, fragment in fault_library.broken.items():
        assert fragment in reasons[path], reasons[path]
        assert str(path) in reasons[path], "the reason must name the file"
    assert set(result.processed_paths) == set(fault_library.valid.values())
    assert result.registered_count == len(fault_library.valid)
    assert result.skipped_count == 0
    assert result.error_count == len(result.errors)
    assert len(scan_images(fault_library.root)) == (
        result.registered_count + result.skipped_count + result.error_count
    )
    assert store.count_images() == result.registered_count
    assert store.integrity_check()
    assert images_missing_sidecar_tags(store) == []


@pytest.mark.parametrize("stack", STACKS)
def test_registration_stores_unusual_images_with_their_true_facts(
    registered: Registered, store: ImageStore, fault_library: FaultLibrary
) -> None:
    by_path = {record.path: record for record in store.search(SearchConditions())}
    rotated = by_path[fault_library.valid["rotated"]]
    assert (rotated.width, rotated.height) == (40, 80), "EXIF orientation 6 swaps the sides"
    assert by_path[fault_library.valid["cmyk"]].format == "JPEG"
    non_utf8 = by_path[fault_library.valid["non_utf8"]]
    assert os.fsencode(non_utf8.path).endswith(b"caf\xe9-latin1.png")
    assert non_utf8.caption == "the non_utf8 image"
    assert "non utf8" in non_utf8.tags


@pytest.mark.parametrize("stack", STACKS)
def test_thumbnails_load_for_unusual_images(
    qtbot, registered: Registered, store: ImageStore, fault_library: FaultLibrary
) -> None:
    service, log = registered.service, registered.log
    wanted = {name: path for name, path in fault_library.valid.items() if name != "non_utf8"}
    records = [r for r in store.search(SearchConditions()) if r.path in wanted.values()]
    event, result = run_job(
        qtbot, log, lambda: service.start_thumbnail_loading(records, QSize(32, 32))
    )
    assert event == "finished", result
    assert isinstance(result, ThumbnailResult)
    assert result.failures == []
    pixmaps = dict(result.loaded_thumbnails)
    assert set(pixmaps) == {record.id for record in records}
    assert all(not pixmap.isNull() for pixmap in pixmaps.values())


# The legacy worker loads QPixmap(str(path)) as the original did and shows the same two faults
# below; they are not among D1-D11, so only the simplified stack's thumbnails are held to them.
@pytest.mark.parametrize("stack", ["simplified"])
def test_thumbnail_of_an_exif_rotated_image_is_upright(
    qtbot, registered: Registered, store: ImageStore, fault_library: FaultLibrary
) -> None:
    service, log = registered.service, registered.log
    rotated = store.get(store.find_id_by_path(fault_library.valid["rotated"]) or -1)
    assert rotated is not None
    assert rotated.height > rotated.width
    event, result = run_job(
        qtbot, log, lambda: service.start_thumbnail_loading([rotated], QSize(32, 32))
    )
    assert event == "finished", result
    assert isinstance(result, ThumbnailResult)
    [(_id, pixmap)] = result.loaded_thumbnails
    assert pixmap.height() > pixmap.width(), (
        f"the library says {rotated.width}x{rotated.height} (EXIF orientation applied) but the "
        f"thumbnail is {pixmap.width()}x{pixmap.height()}"
    )


@pytest.mark.parametrize("stack", ["simplified"])
def test_thumbnail_of_a_non_utf8_file_name_loads(
    qtbot, register: Callable[[Path], Registered], store: ImageStore, tmp_path: Path
) -> None:
    image = write_image(tmp_path / os.fsdecode(b"caf\xe9.png"), 30)
    registered = register(tmp_path)
    service, log = registered.service, registered.log
    records = store.search(SearchConditions())
    assert [r.path for r in records] == [image]
    event, result = run_job(
        qtbot, log, lambda: service.start_thumbnail_loading(records, QSize(32, 32))
    )
    assert event == "finished", result
    assert isinstance(result, ThumbnailResult)
    assert result.failures == [], "a registered file must also give a thumbnail"
    assert len(result.loaded_thumbnails) == 1


@pytest.mark.parametrize("stack", STACKS)
def test_registration_of_a_255_byte_file_name_registers_it(
    register: Callable[[Path], Registered], store: ImageStore, tmp_path: Path
) -> None:
    # 255 bytes is the longest name ext4 allows; "<stem>.caption" would then be 259 bytes.
    image = write_image(tmp_path / ("L" * 251 + ".png"), 31)
    assert len(os.fsencode(image.name)) == 255
    result = register(tmp_path).result
    assert result.errors == []
    assert result.registered_count == 1
    assert store.find_id_by_path(image) is not None


@pytest.mark.parametrize("stack", STACKS)
def test_registration_reports_image_names_that_lead_nowhere(
    register: Callable[[Path], Registered], tmp_path: Path
) -> None:
    write_image(tmp_path / "real.png", 32)
    os.symlink("missing.png", tmp_path / "dangling.png")
    os.symlink("self-loop.png", tmp_path / "self-loop.png")
    result = register(tmp_path).result
    assert result.registered_count == 1
    reported = {failure.path.name for failure in result.errors}
    assert reported == {"dangling.png", "self-loop.png"}, (
        f"broken image links were skipped silently; errors: {result.errors}"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_registration_goes_on_when_a_folder_vanishes_mid_run(
    qtbot,
    stack: str,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "library"
    vanishing = root / "mm"
    vanishing.mkdir(parents=True)
    before = [write_image(root / f"a{i:02}.png", 100 + i, size=(384, 384)) for i in range(40)]
    doomed = [write_image(vanishing / f"m{i:02}.png", 200 + i, size=(384, 384)) for i in range(20)]
    after = [write_image(root / f"z{i:02}.png", 300 + i, size=(384, 384)) for i in range(10)]
    service = make_service(store, stack)
    removed_at: list[Path] = []
    gate = threading.Lock()

    def vanish_then_prepare(path: Path, *args: object) -> object:
        # On the job's threads: the folder goes after the scan listed it, before any file
        # but the first is prepared (a GUI-side removal would race the job's threads).
        with gate:
            if not removed_at and path != before[0]:
                shutil.rmtree(vanishing)
                removed_at.append(path)
        return prepare_image(path, *args)

    for worker in (legacy_registration, pool_registration):
        monkeypatch.setattr(worker, "prepare_image", vanish_then_prepare)
    _log, result = _register(qtbot, service, root)
    assert removed_at and removed_at[0] in before[1:] + doomed, removed_at
    reasons = {failure.path: failure.reason for failure in result.errors}
    assert reasons, f"the folder went at {removed_at[0].name} but no file of it failed"
    assert set(reasons) == set(doomed)
    assert all("no longer exists" in reason for reason in reasons.values()), reasons
    assert set(after) <= set(result.processed_paths), "the files after the folder must register"
    assert result.registered_count + result.error_count == len(before + doomed + after)
    assert store.count_images() == result.registered_count
    assert store.integrity_check()
