"""A thumbnail or registration decode of a huge image stops midway on a cancel.

Both ran each decode to its end before. The huge image is an 8000 x 8000 PNG whose
uninterrupted decode (measured here, the baseline) takes more than a second on a 2-core
machine; a canceled job must end in under a third of that.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from workerkit.simplified._token import JobCanceled

from workerkit.imagelib.domain.imaging import probe_image
from workerkit.imagelib.domain.store import ImageRecord, ImageStore
from workerkit.imagelib.domain.thumbnails import INTERRUPTIBLE_PIXELS, decode_thumbnail
from workerkit.imagelib.service import WorkerService

from ..child import run_script

HUGE_SIDE = 8000
THUMBNAIL_PX = 256
# The canceled decode has read this share of the file: well inside the decode, far from its end.
UNDER_WAY_SHARE = 0.05
# A canceled decode must end within this share of the baseline decode time.
CANCEL_SHARE = 1 / 3
# canceled() is asked before each read of the file: this many reads means the decode began.
READS_BEFORE_CANCEL = 8
EXIF_ORIENTATION = 0x0112
ROTATED_90 = 6
WAIT_S = 60
# Qt's smooth scaling and Pillow's box filter average a little differently (measured here:
# 0.6 levels); a wrong orientation or a garbled row stride differs by tens of levels.
SAME_PICTURE = 3.0


@dataclass(frozen=True, slots=True)
class Baseline:
    """The huge image's thumbnail, decoded without any cancel, and how long that took."""

    image: QImage
    seconds: float


def _record(path: Path, image_id: int = 1) -> ImageRecord:
    with Image.open(path) as image:
        width, height, image_format = image.width, image.height, image.format or ""
    return ImageRecord(
        id=image_id,
        path=path,
        phash="0" * 16,
        width=width,
        height=height,
        format=image_format,
        bytes=path.stat().st_size,
        mtime=path.stat().st_mtime,
        registered_at=datetime.now(UTC),
        tags=(),
        caption=None,
    )


@pytest.fixture(scope="module")
def huge_record(tmp_path_factory: pytest.TempPathFactory) -> ImageRecord:
    """Return a record of an 8000 x 8000 noise PNG."""
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    noise = Image.effect_noise((HUGE_SIDE // 8, HUGE_SIDE // 8), 64).convert("RGB")
    big = noise.resize((HUGE_SIDE, HUGE_SIDE), Image.Resampling.BILINEAR)
    big.save(path, compress_level=1)
    return _record(path.resolve())


@pytest.fixture(scope="module")
def baseline(huge_record: ImageRecord) -> Baseline:
    """Decode the huge image's thumbnail once, uncanceled, and time it."""
    started = time.perf_counter()
    image = decode_thumbnail(huge_record, THUMBNAIL_PX, THUMBNAIL_PX)
    return Baseline(image, time.perf_counter() - started)


def _read_offset(path: Path) -> int:
    """Return how far into ``path`` this process has read, the furthest of its open files."""
    furthest = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != str(path):
                continue
            info = Path(f"/proc/self/fdinfo/{fd}").read_text()
        except OSError:  # closed meanwhile
            continue
        position = next(line for line in info.splitlines() if line.startswith("pos:"))
        furthest = max(furthest, int(position.split()[1]))
    return furthest


@pytest.mark.timeout(120)
def test_decode_thumbnail_canceled_midway_raises_job_canceled_soon(
    huge_record: ImageRecord, baseline: Baseline
) -> None:
    reads = 0
    # Set once the decode has read READS_BEFORE_CANCEL times, or has ended.
    under_way = threading.Event()
    cancel = threading.Event()
    outcome: list[object] = []

    def canceled() -> bool:
        nonlocal reads
        reads += 1
        if reads >= READS_BEFORE_CANCEL:
            under_way.set()
        return cancel.is_set()

    def decode() -> None:
        try:
            outcome.append(
                decode_thumbnail(huge_record, THUMBNAIL_PX, THUMBNAIL_PX, canceled=canceled)
            )
        except Exception as exc:
            outcome.append(exc)
        finally:
            under_way.set()

    thread = threading.Thread(target=decode, name="decode-huge")
    thread.start()
    assert under_way.wait(WAIT_S)
    canceled_at = time.perf_counter()
    cancel.set()
    thread.join(WAIT_S)
    took = time.perf_counter() - canceled_at
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], JobCanceled), (
        f"the decode gave {outcome!r} after {reads} reads"
    )
    assert took < baseline.seconds * CANCEL_SHARE, (
        f"the canceled decode ended {took:.2f} s after the cancel; "
        f"an uncanceled one takes {baseline.seconds:.2f} s"
    )


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="reads /proc/self/fdinfo")
@pytest.mark.timeout(120)
def test_thumbnail_job_canceled_mid_decode_ends_canceled_soon(
    qtbot: Any,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    huge_record: ImageRecord,
    baseline: Baseline,
) -> None:
    service = make_service(store, "simplified")
    took = _cancel_once_under_way(
        qtbot,
        service,
        "thumbnail",
        lambda: service.start_thumbnail_loading([huge_record], QSize(THUMBNAIL_PX, THUMBNAIL_PX)),
        service.cancel_thumbnail_loading,
        huge_record,
    )
    assert took < baseline.seconds * CANCEL_SHARE, (
        f"the canceled job ended {took:.2f} s after the cancel; "
        f"an uncanceled decode takes {baseline.seconds:.2f} s"
    )


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="reads /proc/self/fdinfo")
@pytest.mark.timeout(120)
def test_registration_canceled_mid_decode_ends_canceled_soon(
    qtbot: Any,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    huge_record: ImageRecord,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "huge-folder"
    folder.mkdir()
    (folder / "huge.png").symlink_to(huge_record.path)
    started = time.perf_counter()
    probe_image(huge_record.path)
    decode_s = time.perf_counter() - started
    service = make_service(store, "simplified")
    took = _cancel_once_under_way(
        qtbot,
        service,
        "batch_registration",
        lambda: service.start_batch_registration(folder),
        service.cancel_batch_registration,
        huge_record,
    )
    assert took < decode_s * CANCEL_SHARE, (
        f"the canceled registration ended {took:.2f} s after the cancel; "
        f"an uncanceled decode of the image takes {decode_s:.2f} s"
    )
    assert store.count_images() == 0


def _cancel_once_under_way(
    qtbot: Any,
    service: WorkerService,
    signal_word: str,
    start: Callable[[], str],
    cancel: Callable[[str], bool],
    record: ImageRecord,
) -> float:
    """Start a job, cancel it once it has read part of ``record``'s file; return how long it took.

    Asserts that the job's one terminal signal is its canceled one.
    """
    ended: list[tuple[str, float]] = []
    for event in ("finished", "error", "canceled"):
        getattr(service, f"{signal_word}_{event}").connect(
            lambda *_args, event=event: ended.append((event, time.perf_counter()))
        )
    job_id = start()
    under_way = int(record.bytes * UNDER_WAY_SHARE)
    qtbot.waitUntil(lambda: _read_offset(record.path) > under_way, timeout=WAIT_S * 1000)
    canceled_at = time.perf_counter()
    assert cancel(job_id)
    qtbot.waitUntil(lambda: bool(ended), timeout=WAIT_S * 1000)
    [(event, ended_at)] = ended
    assert event == "canceled", ended
    return ended_at - canceled_at


def _ordinary_jpeg(folder: Path) -> Path:
    path = folder / "ordinary.jpg"
    noise = Image.effect_noise((240, 160), 64).convert("RGB")
    noise.resize((1920, 1280), Image.Resampling.BILINEAR).save(path, quality=90)
    return path


def _huge_rotated_jpeg(folder: Path) -> Path:
    path = folder / "huge-rotated.jpg"
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATED_90
    gradient = Image.linear_gradient("L").resize((6000, 3000)).convert("RGB")
    gradient.save(path, quality=90, exif=exif.tobytes())
    return path


@pytest.mark.parametrize(
    ("make", "portrait"),
    [(_ordinary_jpeg, False), (_huge_rotated_jpeg, True)],
    ids=["ordinary", "huge-rotated"],
)
@pytest.mark.timeout(60)
def test_decode_thumbnail_never_canceled_matches_the_decode_without_canceled(
    tmp_path: Path, make: Callable[[Path], Path], portrait: bool
) -> None:
    record = _record(make(tmp_path))
    plain = decode_thumbnail(record, THUMBNAIL_PX, THUMBNAIL_PX)
    cancelable = decode_thumbnail(record, THUMBNAIL_PX, THUMBNAIL_PX, canceled=lambda: False)
    assert max(plain.width(), plain.height()) == THUMBNAIL_PX
    assert (plain.height() > plain.width()) == portrait
    assert cancelable.size() == plain.size()
    assert _mean_difference(cancelable, plain) <= SAME_PICTURE


@pytest.mark.timeout(120)
def test_decode_thumbnail_of_a_huge_png_never_canceled_matches_the_baseline(
    huge_record: ImageRecord, baseline: Baseline
) -> None:
    cancelable = decode_thumbnail(huge_record, THUMBNAIL_PX, THUMBNAIL_PX, canceled=lambda: False)
    assert not baseline.image.isNull()
    assert cancelable.size() == baseline.image.size()
    assert _mean_difference(cancelable, baseline.image) <= SAME_PICTURE


def _mean_difference(first: QImage, second: QImage) -> float:
    """Return the mean absolute difference of two same-sized images' RGB values (0..255)."""
    pictures = [_as_pillow(image) for image in (first, second)]
    return sum(ImageStat.Stat(ImageChops.difference(*pictures)).mean) / 3


def _as_pillow(image: QImage) -> Image.Image:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    size = (rgb.width(), rgb.height())
    return Image.frombuffer("RGB", size, bytes(rgb.constBits()), "raw", "RGB", rgb.bytesPerLine())


@pytest.mark.timeout(120)
def test_decode_thumbnail_canceled_beside_qt_image_loads_never_deadlocks(tmp_path: Path) -> None:
    # In a child process: a deadlock holds the GIL, so no timeout could end it in here.
    side = math.isqrt(INTERRUPTIBLE_PIXELS) + 100
    huge, small = tmp_path / "huge.png", tmp_path / "small.png"
    noise = Image.effect_noise((side // 8, side // 8), 64).convert("RGB")
    noise.resize((side, side), Image.Resampling.BILINEAR).save(huge, compress_level=1)
    Image.new("RGB", (64, 64), "red").save(small)
    run = run_script("decode_huge_beside_qt_loads.py", huge, small, 200, timeout_s=WAIT_S)
    assert not run.hung, f"400 canceled decodes beside Qt image loads did not end: {run.describe()}"
    assert run.ok and "done" in run.stdout, run.describe()
