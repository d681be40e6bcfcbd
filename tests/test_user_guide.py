"""docs/migrate-your-app.md: its code, written to a folder, works as the guide says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDE = Path(__file__).parent.parent / "docs" / "migrate-your-app.md"
BLOCK = re.compile(r"```(?:python|toml)\n# file: (?P<path>\S+)\n(?P<body>.*?)```", re.DOTALL)
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.timeout(300)


def guide_files() -> dict[str, str]:
    """Return {path: text} of every ``# file:`` block of the guide."""
    return {m["path"]: m["body"] for m in BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the guide's files into a fresh project folder."""
    root = tmp_path_factory.mktemp("wordapp-project")
    for relative, text in guide_files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "wordapp" / "__init__.py").touch()
    return root


def run(
    project: Path, *command: str, timeout: float = 240, on_path: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in the project, no flags set; the project importable if ``on_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKERKIT_", "PYTHONPATH"))}
    env.update(QT_QPA_PLATFORM="offscreen")
    if on_path:
        env.update(PYTHONPATH=str(project))
    return subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_user_guide_has_the_files_it_promises() -> None:
    assert set(guide_files()) == {
        "wordapp/legacy.py",
        "wordapp/pool.py",
        "wordapp/workers.py",
        "wordapp/gui.py",
        "workerkit.toml",
        "pyproject.toml",
        "tests/test_contract.py",
    }


def test_user_guide_flags_come_from_its_workerkit_toml(project: Path) -> None:
    done = run(project, str(BIN / "workerkit"), "flags")
    assert done.returncode == 0, done.stderr
    assert re.search(
        r"^wordcount\s+shadow\s+\(workerkit.toml \[workers\] wordcount\)$",
        done.stdout,
        re.MULTILINE,
    ), done.stdout


def test_user_guide_service_runs_the_kind_on_both_stacks_and_in_shadow(project: Path) -> None:
    script = """
import sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication
app_ = QCoreApplication([])
from wordapp.gui import count, make_service
root = Path("texts"); root.mkdir(exist_ok=True)
for n in range(3):
    (root / f"{n}.txt").write_text("a b c " * (n + 1))
service = make_service()
results, records = {}, []
service.job_finished.connect(lambda kind, job_id, counts: results.__setitem__(job_id, counts))
service.shadow_compared.connect(records.append)
jobs = []
for value in ("legacy", "simplified", "shadow"):
    service.set_stack("wordcount", value)
    jobs.append(service.start("wordcount", str(root)))
    while jobs[-1] not in results or (value == "shadow" and not records):
        app_.processEvents()
expected = {"0.txt": 3, "1.txt": 6, "2.txt": 9}
handle = count(service, str(root))
print(handle.wait(10_000), handle.result() == expected)
print([results[j] == expected for j in jobs], records[0]["match"])
service.shutdown(5000)
"""
    done = run(project, sys.executable, "-c", script, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-2:] == ["True True", "[True, True, True] True"], (
        done.stdout
    )


def test_user_guide_contract_plugin_passes_on_simplified(project: Path) -> None:
    # The guide's command as written: its pyproject.toml makes the package importable.
    done = run(
        project, str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "tests/test_contract.py",
        on_path=False,
    )  # fmt: skip
    tail = done.stdout[-3000:]
    assert done.returncode == 0, tail
    passed = int(re.search(r"(\d+) passed", tail)[1])  # type: ignore[index]
    assert passed >= 8, tail
    assert not re.search(r"\b\d+ failed", tail.splitlines()[-1]), tail


def test_user_guide_checklist_shows_the_kinds_stage(project: Path) -> None:
    done = run(project, str(BIN / "workerkit"), "checklist", "--app", "wordapp.workers:app")
    assert done.returncode in (0, 1), done.stderr
    assert "wordcount" in done.stdout, done.stdout


def test_user_guide_checklist_counts_the_contract_run_the_guide_prints(project: Path) -> None:
    """Fails if the checklist ignores a contract run made with the guide's own pytest command,
    or looks for contract tests where the guide does not put them."""
    done = run(project, str(BIN / "pytest"), "-q", "tests/test_contract.py", "-k", "simplified")
    assert done.returncode == 0, done.stdout[-2000:]
    checklist = run(project, str(BIN / "workerkit"), "checklist", "--app", "wordapp.workers:app")
    line = next(text for text in checklist.stdout.splitlines() if "wordcount contract" in text)
    assert re.search(
        r"\[ +pass\] wordcount contract: \d+ passed, 0 failed, \d+ skipped \(pytest run of ", line
    ), line
