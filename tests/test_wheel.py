"""A built wheel, not the editable install, installs into a new venv and runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

FIRST_STEP = """
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot
from workerkit import App, JobService, LegacyWorker, WorkerKind
app_ = QCoreApplication([])

class Doubler(QObject):
    finished = Signal(object)
    error_occurred = Signal(str)
    def __init__(self, n):
        super().__init__()
        self.n = n
    @Slot()
    def run(self):
        self.finished.emit(2 * self.n)
    def cancel(self):
        pass

def double(control, n):
    return 2 * n

app = App("doubler", [WorkerKind("double", LegacyWorker(Doubler), double, compare=None)])
service = JobService(app, stacks={"double": "simplified"})
results = []
service.job_finished.connect(lambda kind, job_id, value: results.append(value))
service.start("double", 21)
while not results:
    app_.processEvents()
service.shutdown(5000)
import workerkit
print("result", results[0], "from", workerkit.__file__)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the project's wheel (in an isolated build environment) and return its path."""
    out = tmp_path_factory.mktemp("wheel")
    # setuptools writes build/ and *.egg-info next to the sources: build from a copy.
    source = tmp_path_factory.mktemp("source") / "workerkit"
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", ".*cache"
    )
    shutil.copytree(ROOT, source, ignore=ignore, symlinks=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("workerkit-*.whl"))


@pytest.fixture(scope="module")
def clean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a new venv with the wheel installed; its dependencies come from this venv."""
    target = tmp_path_factory.mktemp("venv") / "env"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    # Dependencies (PySide6 is hundreds of MB) are borrowed as a plain path entry: a .pth
    # line adds the folder but runs none of its .pth files, so the editable workerkit of
    # this venv stays invisible there.
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def test_wheel_holds_the_stacks_under_workerkit_and_py_typed(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "workerkit/legacy/_thread_stack.py" in names
    assert "workerkit/simplified/_job.py" in names
    assert "workerkit/py.typed" in names
    assert not [n for n in names if n.startswith(("legacy/", "simplified/", "tests/"))]


def test_wheel_runs_doctor_and_a_first_kind(clean_venv: Path, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHONPATH", None)
    doctor = subprocess.run(
        [clean_venv / "bin" / "workerkit", "doctor"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert doctor.returncode == 0, doctor.stderr
    assert "pyside6" in doctor.stdout
    first = subprocess.run(
        [clean_venv / "bin" / "python", "-c", FIRST_STEP],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("result 42 from "), first.stdout
    assert str(clean_venv) in first.stdout, "imported workerkit from outside the new venv"
