"""The demo window, driven offscreen on a small generated library, on real stacks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QWidget

from workerkit.imagelib.demo import demo_paths
from workerkit.imagelib.demo.lag_meter import EventLoopLagMeter
from workerkit.imagelib.demo.stack_panel import choices_for
from workerkit.imagelib.demo.window import DemoWindow
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.imaging import ImageError
from workerkit.imagelib.domain.intake import prepare_image
from workerkit.imagelib.domain.scanner import scan_images
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.kinds import Kind
from workerkit.imagelib.sample import SampleManifest, make_sample_library
from workerkit.imagelib.service import WorkerService
from workerkit.tools.cli import build_parser, flags_from_args

from .conftest import qthreads_alive

LONG = 30_000


@pytest.fixture(scope="module")
def demo_library(tmp_path_factory: pytest.TempPathFactory) -> SampleManifest:
    """Return a 40-file sample library: 39 decodable (1 duplicate) and 1 corrupt file."""
    return make_sample_library(tmp_path_factory.mktemp("demo") / "library", count=40)


@pytest.fixture
def demo_store(demo_library: SampleManifest, tmp_path: Path) -> Iterator[ImageStore]:
    """Return a store holding the demo library, registered without any worker stack."""
    opened = ImageStore(tmp_path / "demo.sqlite")
    for path in scan_images(demo_library.root):
        try:
            image = prepare_image(path)
        except ImageError:  # the library's corrupt file
            continue
        if opened.find_id_by_phash(image.phash) is None:
            opened.register(image)
    yield opened
    opened.close()


def open_window(qtbot, service: WorkerService, library: SampleManifest) -> DemoWindow:
    """Show a demo window on ``library`` and start it."""
    window = DemoWindow(service, library.root)
    qtbot.addWidget(window)
    window.show()
    window.start()
    return window


def wait_for_grid(qtbot, window: DemoWindow, expected: int) -> None:
    """Wait until the grid shows ``expected`` thumbnails of the current search."""
    grid = window.grid
    qtbot.waitUntil(lambda: grid.expected == expected and grid.count() == expected, timeout=LONG)


def shown_ids(window: DemoWindow) -> list[int]:
    """Return the image ids the grid shows, in order."""
    grid = window.grid
    return [grid.item(row).data(Qt.ItemDataRole.UserRole) for row in range(grid.count())]


@pytest.mark.parametrize("stack", ["legacy", "simplified"])
def test_demo_registers_searches_annotates_and_fills_the_grid(
    qtbot,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    demo_library: SampleManifest,
    tmp_path: Path,
    stack: str,
) -> None:
    service = make_service(store, stack)
    window = open_window(qtbot, service, demo_library)
    originals = demo_library.images - demo_library.duplicates
    wait_for_grid(qtbot, window, originals)  # registered first: the store was empty
    assert store.count_images() == originals
    assert window.dialog_binding is not None and window.dialog_binding.outcome == "finished"
    assert not window.registration_dialog.isVisible()

    by_tag = SearchConditions(tags=("outdoor",))
    expected = store.search(by_tag)
    assert 0 < len(expected) < originals
    window.search_panel.tags.setText("outdoor")
    qtbot.mouseClick(window.search_panel.search_button, Qt.MouseButton.LeftButton)
    wait_for_grid(qtbot, window, len(expected))
    assert shown_ids(window) == [record.id for record in expected]
    assert window.summary.text() == (
        f"{len(expected)} images found · {len(expected)} of {len(expected)} thumbnails loaded"
    )

    window.grid.item(0).setSelected(True)
    window.grid.item(1).setSelected(True)
    job_id = window.annotate_selected("local")
    assert job_id is not None
    qtbot.waitUntil(lambda: window.bar_binding.outcome == "finished", timeout=LONG)
    assert window.statusBar().currentMessage().startswith("Annotated 2 (image, model) pairs")
    assert {source for _, source in store.tags_for(expected[0].id)} >= {"local"}

    qtbot.waitUntil(lambda: window.indicators.lag_meter.beats >= 20, timeout=LONG)
    assert window.indicators.lag_label.text().endswith(" ms")
    assert int(window.indicators.threads_label.text()) >= 1
    shot = tmp_path / "demo-screenshot.png"
    assert window.grab().save(str(shot))
    assert shot.stat().st_size > 10_000

    window.close()
    assert service.is_shut_down
    assert store.count_images() == originals  # the store outlives the service


@pytest.mark.workerkit_isolated  # the registration runs on the legacy stack
def test_demo_cancels_a_registration_on_the_stack_chosen_in_the_panel(
    qtbot,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    demo_library: SampleManifest,
) -> None:
    service = make_service(store, "simplified")
    window = DemoWindow(service, demo_library.root)
    qtbot.addWidget(window)
    window.show()
    failed: list[str] = []
    service.job_failed.connect(lambda _job_id, message: failed.append(message))

    window.stack_panel.selectors[Kind.REGISTRATION].setCurrentText("legacy")
    assert service.stack_for(Kind.REGISTRATION) == "legacy"
    job_id = window.register_folder(demo_library.root)
    assert job_id is not None
    assert job_id in service.get_service_summary()["stacks"]["legacy"]["active_worker_ids"]
    assert window.register_folder(demo_library.root) is None  # one registration at a time

    dialog = window.registration_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=LONG)
    qtbot.mouseClick(dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.dialog_binding.outcome == "canceled", timeout=LONG)
    # D2: legacy reports the cancel, then the worker's error; the window shows only the cancel.
    qtbot.waitUntil(lambda: failed != [], timeout=LONG)
    assert window.statusBar().currentMessage() == "Registration canceled"
    assert not dialog.isVisible()
    assert window.register_action.isEnabled()
    assert store.count_images() < demo_library.images - demo_library.duplicates
    window.close()
    qtbot.waitUntil(lambda: qthreads_alive() == 0, timeout=LONG)


@pytest.mark.workerkit_isolated  # shadow runs the legacy stack
def test_demo_shadow_search_from_the_panel_still_fills_the_grid(
    qtbot,
    make_service: Callable[..., WorkerService],
    demo_store: ImageStore,
    demo_library: SampleManifest,
    tmp_path: Path,
) -> None:
    service = make_service(demo_store, "simplified", shadow_log=tmp_path / "shadow.jsonl")
    window = open_window(qtbot, service, demo_library)
    everything = demo_store.count_images()
    wait_for_grid(qtbot, window, everything)  # searched at once: the store was not empty
    assert window.dialog_binding is None

    assert "shadow" not in choices_for(Kind.REGISTRATION)
    window.stack_panel.selectors[Kind.SEARCH].setCurrentText("shadow")
    assert service.stack_for(Kind.SEARCH) == "shadow"
    window.search_panel.min_resolution.setValue(1000)
    window.search_panel.request_search()
    large = demo_store.search(SearchConditions(min_width=1000, min_height=1000))
    assert 0 < len(large) < everything
    wait_for_grid(qtbot, window, len(large))
    assert shown_ids(window) == [record.id for record in large]
    window.close()
    qtbot.waitUntil(lambda: qthreads_alive() == 0, timeout=LONG)


@pytest.mark.parametrize("stack", ["legacy", "simplified"])
def test_demo_per_image_fills_the_grid_through_a_preview_batch(
    qtbot,
    make_service: Callable[..., WorkerService],
    demo_store: ImageStore,
    demo_library: SampleManifest,
    stack: str,
) -> None:
    """Fails if the per-image path loses, doubles or misorders a preview, never ends its
    batch, or (legacy: LoRAIro's manager refuses a second start within a second, D5) lets a
    refused image stop the rest instead of counting it failed."""
    service = make_service(demo_store, stack)
    window = DemoWindow(service, demo_library.root, per_image=True)
    qtbot.addWidget(window)
    window.show()
    window.start()  # the store is not empty: a search of everything, then its previews
    qtbot.waitUntil(lambda: window.previews is not None, timeout=LONG)
    batch = window.previews
    assert batch is not None
    qtbot.waitUntil(lambda: batch.done, timeout=LONG)
    records = demo_store.search(SearchConditions())
    assert batch.total == len(records)  # the progress bar's percentage needs it
    summary = batch.summary()
    assert summary.finished + summary.failed == len(records) == window.grid.expected
    assert window.grid.count() == summary.finished
    assert set(shown_ids(window)) <= {record.id for record in records}
    assert len(set(shown_ids(window))) == summary.finished
    if stack == "simplified":
        assert summary.failed == 0
    assert window.statusBar().currentMessage() == (
        f"{summary.finished} previews loaded ({summary.failed} failed)."
    )
    window.close()
    qtbot.waitUntil(lambda: qthreads_alive() == 0, timeout=LONG)


def test_demo_grid_drops_chunks_of_a_superseded_job(
    qtbot,
    make_service: Callable[..., WorkerService],
    demo_store: ImageStore,
    demo_library: SampleManifest,
) -> None:
    service = make_service(demo_store, "simplified")
    window = DemoWindow(service, demo_library.root)
    qtbot.addWidget(window)
    records = demo_store.search(SearchConditions(limit=3))
    window.grid.begin("thumbnail_new", records)
    window.grid.add_chunk("thumbnail_old", [(records[0].id, window.grab())])
    assert window.grid.count() == 0
    window.grid.add_chunk("thumbnail_new", [(records[1].id, window.grab())])
    assert shown_ids(window) == [records[1].id]
    assert window.grid.item(0).text() == records[1].path.name


def test_demo_lag_meter_sees_a_stalled_event_loop_and_forgets_it(qtbot) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    meter = EventLoopLagMeter(owner)
    meter.start()
    qtbot.waitUntil(lambda: meter.beats >= 3, timeout=LONG)
    time.sleep(0.25)  # the stall being measured: the GUI thread does nothing else meanwhile
    qtbot.waitUntil(lambda: meter.max_lag_ms >= 150, timeout=LONG)
    # After a quiet second the stall leaves the one-second window.
    qtbot.waitUntil(lambda: meter.max_lag_ms < 150, timeout=LONG)
    meter.stop()


def test_demo_command_parses_library_and_flag_options(tmp_path: Path) -> None:
    args = build_parser().parse_args(["demo", "--library", str(tmp_path), "--search", "shadow"])
    assert args.library == tmp_path and args.db is None
    assert flags_from_args(args) == {"search": "shadow"}
    assert demo_paths(tmp_path, None) == (
        tmp_path,
        tmp_path.parent / f"workerkit-{tmp_path.name}.sqlite",
    )


def test_demo_paths_reject_a_missing_library(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="pass --library with a folder of images"):
        demo_paths(tmp_path / "missing", None)
