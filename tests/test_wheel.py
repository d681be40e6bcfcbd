"""The built distributions: the sdist holds the project; the wheel built from it runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
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
def distributions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Build the sdist, then the wheel from that sdist (as an index would); return both."""
    out = tmp_path_factory.mktemp("dist")
    # setuptools writes build/ and *.egg-info next to the sources: build from a copy.
    source = tmp_path_factory.mktemp("source") / "workerkit"
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", ".*cache"
    )
    shutil.copytree(ROOT, source, ignore=ignore, symlinks=True)
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("workerkit-*.tar.gz")), next(out.glob("workerkit-*.whl"))


@pytest.fixture(scope="module")
def wheel(distributions: tuple[Path, Path]) -> Path:
    """Return the wheel built from the sdist."""
    return distributions[1]


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


def test_sdist_holds_the_tests_examples_docs_and_license(
    distributions: tuple[Path, Path],
) -> None:
    """Fails if the sdist leaves out what its tests need (conftest, the contract, examples)."""
    with tarfile.open(distributions[0]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "LICENSE",
        "MIGRATION.md",
        "tests/conftest.py",
        "tests/contract/conftest.py",
        "examples/numbers_app/tests/test_contract.py",
        "examples/manager_app/tests/conftest.py",
        "docs/migrate-your-app.md",
        "legacy/_thread_stack.py",
    ):
        assert needed in names, f"the sdist lacks {needed}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_carries_its_license_and_classifiers(wheel: Path) -> None:
    """Fails if the wheel lacks the LICENSE file or the metadata an index user reads."""
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    assert [n for n in names if n.endswith(".dist-info/licenses/LICENSE")], names
    [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
    text = archive.read(metadata).decode()
    assert "License-Expression: MIT" in text
    for classifier in ("Framework :: Pytest", "Programming Language :: Python :: 3.11"):
        assert f"Classifier: {classifier}" in text, text[:2000]


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
