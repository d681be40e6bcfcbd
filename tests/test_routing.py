"""Routing: where a service's jobs go, from which flag source, and live switching between stacks."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSize

from workerkit.flags import ENV_VARS, Flag, FlagError
from workerkit.imagelib.domain.conditions import SearchConditions
from workerkit.imagelib.domain.results import RegistrationResult, ThumbnailResult
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.kinds import Kind
from workerkit.imagelib.service import WorkerService

pytestmark = pytest.mark.timeout(120)

LONG = 60_000


@pytest.fixture(autouse=True)
def flag_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run in a directory whose workerkit.toml and WORKERKIT_* variables route search elsewhere."""
    for name in ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    directory = tmp_path / "cwd"
    directory.mkdir()
    (directory / "workerkit.toml").write_text('[workers]\nsearch = "simplified"\n')
    monkeypatch.setenv("WORKERKIT_THUMBNAIL", "shadow")
    monkeypatch.chdir(directory)
    return directory


def test_routing_explicit_backends_ignore_toml_and_environment(
    make_service: Callable[..., WorkerService], store: ImageStore
) -> None:
    service = make_service(store, "legacy")
    assert {kind: service.stack_for(kind) for kind in Kind} == dict.fromkeys(Kind, "legacy")
    assert set(service.flag_sources().values()) == {"constructor stacks="}


def test_routing_partial_backends_leave_other_kinds_at_the_default(
    qtbot, store: ImageStore
) -> None:
    service = WorkerService(store, stacks={"annotation": "simplified"})
    try:
        assert service.stack_for("annotation") == "simplified"
        assert service.stack_for("search") == "legacy"
        assert service.flag_sources() == {
            "registration": "default",
            "search": "default",
            "thumbnail": "default",
            "annotation": "constructor stacks=",
            "preview": "default",
        }
    finally:
        service.shutdown()


def test_routing_without_backends_follows_the_resolved_flags(qtbot, store: ImageStore) -> None:
    service = WorkerService(store)
    try:
        assert service.stack_for(Kind.SEARCH) == "simplified"
        assert service.stack_for(Kind.THUMBNAIL) == "shadow"
        assert service.flag_sources() == {
            "registration": "default",
            "search": "workerkit.toml [workers] search",
            "thumbnail": "environment WORKERKIT_THUMBNAIL",
            "annotation": "default",
            "preview": "default",
        }
        summary = service.get_service_summary()
        assert summary["routes"]["thumbnail"] == "shadow"
        assert summary["flag_sources"] == service.flag_sources()
    finally:
        service.shutdown()


def test_routing_given_flags_replace_resolution_and_backends_win_over_them(
    qtbot, store: ImageStore
) -> None:
    flags = {Kind.SEARCH: Flag(Kind.SEARCH, "shadow", "command line --search")}
    service = WorkerService(store, flags=flags, stacks={"annotation": "simplified"})
    try:
        assert service.stack_for("search") == "shadow"
        assert service.stack_for("thumbnail") == "legacy"  # not the environment's shadow
        assert service.flag_sources()["search"] == "command line --search"
        assert service.flag_sources()["annotation"] == "constructor stacks="
    finally:
        service.shutdown()


def test_routing_given_flags_are_checked(qtbot, store: ImageStore) -> None:
    flags = {Kind.REGISTRATION: Flag(Kind.REGISTRATION, "shadow", "test")}
    with pytest.raises(FlagError, match=r"^The registration flag \(test\) is 'shadow'"):
        WorkerService(store, flags=flags)


def test_routing_set_stack_records_the_runtime_source(
    make_service: Callable[..., WorkerService], store: ImageStore
) -> None:
    service = make_service(store, "legacy")
    service.set_stack("Search", "Shadow")
    service.set_stack(Kind.REGISTRATION, "simplified")
    assert service.stack_for("search") == "shadow"
    assert service.stack_for("registration") == "simplified"
    assert service.flag_sources()["search"] == "runtime set_stack"
    assert service.get_service_summary()["routes"]["search"] == "shadow"


@pytest.mark.parametrize("kind", ["registration", "annotation"])
def test_routing_set_stack_refuses_shadow_for_a_writing_kind(
    make_service: Callable[..., WorkerService], store: ImageStore, kind: str
) -> None:
    service = make_service(store, "simplified")
    with pytest.raises(ValueError) as raised:
        service.set_stack(kind, "shadow")
    assert isinstance(raised.value, FlagError)
    assert str(raised.value) == (
        f"The {kind} flag (runtime set_stack) is 'shadow', but shadow mode runs every job "
        f"twice and {kind} writes to the database; use legacy or simplified "
        "(shadow is allowed for search, thumbnail, preview)."
    )
    assert service.stack_for(kind) == "simplified"


def test_routing_set_stack_refuses_unknown_values_and_kinds(
    make_service: Callable[..., WorkerService], store: ImageStore
) -> None:
    service = make_service(store, "legacy")
    with pytest.raises(FlagError) as bad_value:
        service.set_stack("search", "asyncio")
    assert str(bad_value.value) == (
        "Invalid value 'asyncio' for the search flag (runtime set_stack): "
        "expected one of legacy, simplified, shadow."
    )
    with pytest.raises(FlagError) as bad_kind:
        service.set_stack("upload", "legacy")
    assert str(bad_kind.value) == (
        "Unknown worker kind 'upload' (runtime set_stack): "
        "expected one of registration, search, thumbnail, annotation, preview."
    )


# --- live switching -----------------------------------------------------------------------


class SidecarGate:
    """Hold a legacy registration inside its first file: that file's tags sidecar is a FIFO.

    Reading a FIFO blocks until a writer opens and closes it, so the job is
    provably still running until ``release()`` succeeds.
    """

    def __init__(self, image: Path) -> None:
        self.fifo = image.with_suffix(".txt")
        os.mkfifo(self.fifo)
        self.released = False

    def release(self) -> bool:
        """Let the blocked reader go; return False while no reader has opened the FIFO yet."""
        if self.released:
            return True
        try:
            descriptor = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            return False
        os.close(descriptor)
        self.released = True
        return True


@pytest.fixture
def libraries(registered_store: ImageStore, tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    """Return (gated folder, free folder, gated image): four distinct images split 1 + 3."""
    sources = [r.path for r in registered_store.search(SearchConditions(limit=4))]
    gated, free = tmp_path / "gated", tmp_path / "free"
    gated.mkdir()
    free.mkdir()
    copies = [
        shutil.copy(path, (gated if i == 0 else free) / path.name) for i, path in enumerate(sources)
    ]
    yield gated, free, Path(copies[0])


@pytest.mark.workerkit_isolated  # runs the legacy stack
def test_routing_switch_moves_new_registrations_and_the_running_one_stays_on_legacy(
    qtbot,
    make_service: Callable[..., WorkerService],
    store: ImageStore,
    libraries: tuple[Path, Path, Path],
) -> None:
    gated_dir, free_dir, gated_image = libraries
    gate = SidecarGate(gated_image)
    service = make_service(store, "legacy")
    finished: dict[str, object] = {}
    batches: list[str] = []
    service.job_finished.connect(lambda job_id, result: finished.__setitem__(job_id, result))
    service.worker_batch_progress.connect(lambda job_id, *_: batches.append(job_id))
    try:
        running = service.start_batch_registration(gated_dir)
        qtbot.waitUntil(lambda: running in batches, timeout=LONG)
        service.set_stack("registration", "simplified")
        after = service.start_batch_registration(free_dir)
        stacks = service.get_service_summary()["stacks"]
        assert stacks["legacy"]["active_worker_ids"] == [running]
        assert stacks["simplified"]["active_worker_ids"] == [after]
        qtbot.waitUntil(lambda: after in finished, timeout=LONG)
        assert service.is_worker_active(running), "the gated legacy job ended before release"
        qtbot.waitUntil(gate.release, timeout=LONG)
        qtbot.waitUntil(lambda: running in finished, timeout=LONG)
    finally:
        qtbot.waitUntil(gate.release, timeout=LONG)
    old, new = finished[running], finished[after]
    assert isinstance(old, RegistrationResult) and isinstance(new, RegistrationResult)
    assert (old.registered_count, new.registered_count) == (1, 3)
    assert store.count_images() == 4
    assert service.stack_for("registration") == "simplified"


@pytest.mark.workerkit_isolated  # runs the legacy stack
def test_routing_switch_moves_new_thumbnails_and_the_running_one_stays_on_simplified(
    qtbot, make_service: Callable[..., WorkerService], registered_store: ImageStore
) -> None:
    service = make_service(registered_store, "simplified")
    records = registered_store.search(SearchConditions(limit=4))
    finished: dict[str, ThumbnailResult] = {}
    service.job_finished.connect(lambda job_id, result: finished.__setitem__(job_id, result))
    started_on_legacy: list[str] = []
    service.jobs.stack("legacy").job_started.connect(
        lambda _kind, job_id: started_on_legacy.append(job_id)
    )
    running = service.start_thumbnail_loading(records, QSize(64, 64))
    service.set_stack("thumbnail", "legacy")
    after = service.start_thumbnail_loading(records, QSize(64, 64))
    stacks = service.get_service_summary()["stacks"]
    # Nothing has been delivered yet: the simplified job stays in flight until the GUI
    # thread handles its terminal event, and that needs this test to return to Qt.
    assert stacks["simplified"]["active_worker_ids"] == [running]
    # Not the manager's dict: LoRAIro's manager forgets a quick job in its own thread.
    assert started_on_legacy == [after]
    qtbot.waitUntil(lambda: {running, after} <= finished.keys(), timeout=LONG)
    for job_id in (running, after):
        ids = [image_id for image_id, _ in finished[job_id].loaded_thumbnails]
        assert ids == [r.id for r in records], job_id


def test_routing_old_names_still_work_with_a_deprecation_warning(
    make_service: Callable[..., WorkerService], store: ImageStore
) -> None:
    """Fails if code written against set_backend/backend_for/backends= breaks, or says nothing."""
    from workerkit._service import JobService
    from workerkit.imagelib.kinds import app

    with pytest.deprecated_call(match=r"JobService\(backends=...\) is deprecated; pass stacks="):
        service = JobService(app, backends={"search": "simplified"})
    with pytest.deprecated_call(match=r"set_backend\(\) is deprecated; use set_stack\(\)"):
        service.set_backend("thumbnail", "simplified")
    with pytest.deprecated_call(match=r"backend_for\(\) is deprecated; use stack_for\(\)"):
        assert service.backend_for("thumbnail") == "simplified"
    assert service.stack_for("search") == "simplified"
    service.shutdown(1000)
