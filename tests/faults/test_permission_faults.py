"""Files and databases the process may not read or write, with file modes that really hold.

Root ignores file modes through CAP_DAC_OVERRIDE, so each scenario runs
tests/scripts/fault_register.py in a child process started by ``setpriv``
without that capability (and without CAP_DAC_READ_SEARCH): the child is
still root and owns the files, so chmod 000 and 0444 apply to it as they
would to any user.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workerkit import STACKS
from workerkit.imagelib.domain.store import ImageStore

from ..child import ChildRun, run_script
from .conftest import without_file_mode_override, write_image, write_sidecar

pytestmark = pytest.mark.timeout(120)


def _register(stack: str, library: Path, db: Path) -> dict[str, object]:
    run: ChildRun = run_script(
        "fault_register.py", stack, library, db, timeout_s=60, prefix=without_file_mode_override()
    )
    reports = run.json_lines()
    assert run.returncode == 0 and reports, run.describe()
    return reports[0]


def _library(root: Path) -> Path:
    root.mkdir()
    write_sidecar(write_image(root / "good.png", 1), ["good"])
    return root


@pytest.mark.parametrize("stack", STACKS)
def test_registration_reports_unreadable_images_and_sidecars(stack: str, tmp_path: Path) -> None:
    library = _library(tmp_path / "library")
    locked = write_image(library / "locked.png", 2)
    tagged = write_image(library / "tagged.png", 3)
    write_sidecar(tagged, ["secret"])
    locked.chmod(0)
    tagged.with_suffix(".txt").chmod(0)
    report = _register(stack, library, tmp_path / "library.sqlite")
    assert report["event"] == "finished", report
    reasons = dict(report["errors"])  # type: ignore[arg-type]
    assert set(reasons) == {str(locked), str(tagged)}, reasons
    assert "permission denied" in reasons[str(locked)]
    assert f"its sidecar '{tagged.with_suffix('.txt')}' cannot be read" in reasons[str(tagged)]
    assert report["registered"] == report["count"] == 1


@pytest.mark.parametrize("stack", STACKS)
def test_registration_reports_an_unreadable_folder(stack: str, tmp_path: Path) -> None:
    library = _library(tmp_path / "library")
    hidden = library / "hidden"
    hidden.mkdir()
    write_image(hidden / "inside.png", 4)
    hidden.chmod(0)
    report = _register(stack, library, tmp_path / "library.sqlite")
    assert report["event"] == "finished", report
    assert report["registered"] == 1
    assert [path for path, _reason in report["errors"]] == [str(hidden)], (  # type: ignore[union-attr]
        f"an unreadable folder was skipped without a word in the result: {report}"
    )


def _read_only_database(path: Path) -> Path:
    ImageStore(path).close()  # schema written, WAL files removed on the last close
    path.chmod(0o444)
    return path


@pytest.mark.parametrize("stack", STACKS)
def test_registration_into_a_read_only_database_says_so(stack: str, tmp_path: Path) -> None:
    library = _library(tmp_path / "library")
    write_image(library / "second.png", 5)
    db = _read_only_database(tmp_path / "library.sqlite")
    report = _register(stack, library, db)
    messages = [report["message"]] if report["event"] == "failed" else report["errors"]
    assert report["event"] in {"failed", "finished"}, report
    assert report["registered"] == 0, report
    for message in messages:  # type: ignore[union-attr]
        text = str(message)
        assert str(db) in text and "read-only" in text and "writable" in text, text
    db.chmod(0o644)
    with ImageStore(db) as store:
        assert store.count_images() == 0
        assert store.integrity_check()


def test_opening_a_read_only_database_in_a_read_only_folder_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    db = _read_only_database(folder / "library.sqlite")
    folder.chmod(0o555)
    try:
        report = _register("simplified", _library(tmp_path / "library"), db)
    finally:
        folder.chmod(0o755)
    assert report["event"] in {"open_failed", "failed"}, report
    message = str(report["message"])
    assert str(db) in message and "writable" in message, message
    assert os.stat(db).st_mode & 0o777 == 0o444
