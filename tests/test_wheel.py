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

DOUBLING_APP = """
from PySide6.QtCore import QObject, Signal, Slot
from workerkit import App, LegacyWorker, WorkerKind

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
"""

# Run with doubling.py (DOUBLING_APP) in the working folder.
FIRST_STEP = """
from PySide6.QtCore import QCoreApplication
from workerkit import JobService
from doubling import app
app_ = QCoreApplication([])
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


def venv_with(wheel: Path, target: Path, borrowed: Path) -> Path:
    """Make a venv at ``target`` with ``wheel`` installed and ``borrowed`` on its path.

    Dependencies (PySide6 is hundreds of MB) are borrowed as a plain path entry: a .pth
    line adds the folder but runs none of its .pth files, so the editable workerkit of
    this venv stays invisible there.
    """
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "borrowed-deps.pth").write_text(f"{borrowed}\n")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


@pytest.fixture(scope="module")
def clean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a new venv with the wheel installed; its dependencies come from this venv."""
    installed = Path(sysconfig.get_paths()["purelib"])
    return venv_with(wheel, tmp_path_factory.mktemp("venv") / "env", installed)


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
    (tmp_path / "doubling.py").write_text(DOUBLING_APP)
    doctor = run_in(clean_venv, "workerkit", "doctor", cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stderr
    assert "pyside6" in doctor.stdout
    first = run_in(clean_venv, "python", "-c", FIRST_STEP, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("result 42 from "), first.stdout
    assert str(clean_venv) in first.stdout, "imported workerkit from outside the new venv"


@pytest.fixture(scope="module")
def core_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a new venv with the wheel and, of its dependencies, PySide6 alone (no extra)."""
    installed = Path(sysconfig.get_paths()["purelib"])
    borrowed = tmp_path_factory.mktemp("core-deps")
    for pattern in ("PySide6", "shiboken6", "pyside6_essentials-*", "shiboken6-*.dist-info"):
        for entry in installed.glob(pattern):
            (borrowed / entry.name).symlink_to(entry)
    return venv_with(wheel, tmp_path_factory.mktemp("core") / "env", borrowed)


def run_in(env: Path, *command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (a script of ``env``'s bin folder) offscreen in ``cwd``."""
    environ = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    environ.pop("PYTHONPATH", None)
    environ.pop("WORKERKIT_APP", None)
    return subprocess.run(
        [str(env / "bin" / command[0]), *command[1:]],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_core_install_runs_an_apps_kinds_doctor_and_flags(core_venv: Path, tmp_path: Path) -> None:
    """Fails if the core (PySide6 alone) cannot run a kind, doctor, or flags of its own app."""
    for extra_module in ("PIL", "aiohttp", "psutil", "pytest"):
        probe = run_in(core_venv, "python", "-c", f"import {extra_module}", cwd=tmp_path)
        assert probe.returncode != 0, f"{extra_module} is importable: not a core-only venv"
    (tmp_path / "doubling.py").write_text(DOUBLING_APP)
    first = run_in(core_venv, "python", "-c", FIRST_STEP, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("result 42 from "), first.stdout
    doctor = run_in(core_venv, "workerkit", "doctor", cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stderr
    assert "pip install 'workerkit[imagelib]'" in doctor.stdout, doctor.stdout
    (tmp_path / "pyproject.toml").write_text('[tool.workerkit]\napp = "doubling:app"\n')
    flags = run_in(core_venv, "workerkit", "flags", cwd=tmp_path)
    assert flags.returncode == 0, flags.stderr
    assert "double" in flags.stdout and "doubling:app" in flags.stdout, flags.stdout


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (("workerkit", "flags"), "imagelib"),
        (("workerkit", "run"), "imagelib"),
        (("python", "-c", "import workerkit.testing"), "testing"),
    ],
)
def test_core_install_names_the_extra_a_part_needs(
    core_venv: Path, tmp_path: Path, command: tuple[str, ...], extra: str
) -> None:
    """Fails if a part reached without its extra ends in a bare traceback."""
    result = run_in(core_venv, *command, cwd=tmp_path)
    assert result.returncode != 0
    assert f"pip install 'workerkit[{extra}]'" in result.stderr, result.stderr
