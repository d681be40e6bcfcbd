"""`workerkit doctor`: registered on a parser, printing facts about this very interpreter."""

from __future__ import annotations

import json
import platform
import sys

import PySide6
import pytest
from PySide6.QtCore import QThread

from workerkit.imagelib.pool_workers.qtasyncio_runtime import qtasyncio_socket_support
from workerkit.tools.cli import build_parser
from workerkit.tools.doctor import is_known_bad_pyside

from .child import run_child


def run_doctor(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Parse ``doctor ARGV`` with the CLI's parser, run the handler, return its stdout."""
    args = build_parser().parse_args(["doctor", *argv])
    assert args.handler(args) == 0
    return capsys.readouterr().out


def test_doctor_json_describes_this_interpreter(capsys: pytest.CaptureFixture[str]) -> None:
    facts = json.loads(run_doctor(capsys, "--json"))
    sockets = qtasyncio_socket_support()
    python = sys.version_info[:2]
    assert facts["python"] == platform.python_version()
    assert facts["pyside6"] == PySide6.__version__
    assert facts["known_bad_pyside"] is is_known_bad_pyside(PySide6.__version__, python)
    assert facts["ideal_thread_count"] == QThread.idealThreadCount()
    assert facts["qtasyncio_available"] is True  # PySide6-Addons is a dependency
    assert facts["qtasyncio_sockets"] == {"supported": sockets.supported, "detail": sockets.detail}
    works = {runtime["name"]: runtime["works"] for runtime in facts["annotation_runtimes"]}
    assert works == {
        "pool thread + aiohttp": True,
        "QtAsyncio + QNetworkAccessManager": True,
        "QtAsyncio + aiohttp": sockets.supported,
        "blocking urllib on worker threads": True,
    }


def test_doctor_text_names_versions_threads_and_socket_support(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = run_doctor(capsys).splitlines()
    sockets = qtasyncio_socket_support()
    assert f"pyside6             {PySide6.__version__} (Qt " in lines[1]
    assert lines[3] == f"idealThreadCount    {QThread.idealThreadCount()}"
    assert lines[4] == "QtAsyncio           available"
    state = "supported" if sockets.supported else "unsupported"
    assert lines[5:7] == [f"QtAsyncio sockets   {state}", f"                    {sockets.detail}"]
    assert lines[7] == "annotation runtimes"
    assert len(lines) == 12 and all(
        line.startswith(("  works  ", "  no     ")) for line in lines[8:]
    )


@pytest.mark.parametrize(
    ("pyside", "python", "bad"),
    [
        ("6.12.0", (3, 11), True),
        ("6.12.0", (3, 12), False),
        ("6.12.1", (3, 11), False),
        ("6.11.3", (3, 11), False),
    ],
)
def test_doctor_known_bad_pair_only_6_12_0_before_312(
    pyside: str, python: tuple[int, int], bad: bool
) -> None:
    assert is_known_bad_pyside(pyside, python) is bad


def test_doctor_import_loads_no_qt() -> None:
    code = (
        "import sys, workerkit.tools.doctor; "
        "print(sorted(m for m in sys.modules if 'PySide6' in m))"
    )
    run = run_child([sys.executable, "-c", code], timeout_s=60)
    assert run.ok, run.describe()
    assert run.stdout.strip() == "[]", run.describe()
