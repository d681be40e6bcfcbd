"""`workerkit doctor`: what this Python and PySide6 can run, and which annotation runtimes work.

Importing this module loads no Qt: Qt is imported only when the command runs (its
options are declared in ``cli.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
from types import SimpleNamespace
from typing import Any

from workerkit._extras import extra_advice

__all__ = ["BAD_PYSIDE_VERSION", "collect_diagnostics", "doctor_command", "is_known_bad_pyside"]

BAD_PYSIDE_VERSION = "6.12.0"
FIXED_PYTHON = (3, 12)
_BAD_PAIR_EFFECT = (
    f"PySide6 {BAD_PYSIDE_VERSION} on CPython < {FIXED_PYTHON[0]}.{FIXED_PYTHON[1]} drops a "
    "reference of True on every signal emit and aborts the interpreter once it runs out "
    "(Fatal Python error: bool_dealloc)"
)


def is_known_bad_pyside(pyside_version: str, python_version: tuple[int, int]) -> bool:
    """Return True for the PySide6 6.12.0 + CPython < 3.12 pair that crashes on signal emits."""
    return pyside_version == BAD_PYSIDE_VERSION and python_version < FIXED_PYTHON


def collect_diagnostics() -> dict[str, Any]:
    """Return JSON-friendly facts about this interpreter, PySide6, Qt and the runtimes."""
    import PySide6
    from PySide6.QtCore import QThread, qVersion

    python = sys.version_info[:2]
    qtasyncio = _importable("PySide6.QtAsyncio")
    sockets = _socket_support()
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "pyside6": PySide6.__version__,
        "qt": qVersion(),
        "known_bad_pyside": is_known_bad_pyside(PySide6.__version__, python),
        "ideal_thread_count": QThread.idealThreadCount(),
        "qtasyncio_available": qtasyncio,
        "qtasyncio_sockets": {"supported": sockets.supported, "detail": sockets.detail},
        "annotation_runtimes": _runtimes(qtasyncio, sockets.supported),
    }


def _socket_support() -> Any:
    """Return the image library's QtAsyncio socket probe, or why it cannot run here."""
    try:
        from workerkit.imagelib.pool_workers.qtasyncio_runtime import qtasyncio_socket_support
    except ModuleNotFoundError as exc:
        advice = extra_advice(exc, "the QtAsyncio socket probe")
        if advice is None:
            raise
        return SimpleNamespace(supported=False, detail=f"not probed: {advice}")
    return qtasyncio_socket_support()


def _importable(module: str) -> bool:
    """Return True when ``module`` can be found without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def _runtimes(qtasyncio: bool, sockets: bool) -> list[dict[str, Any]]:
    """Return each way to run the HTTP annotator, and whether it works here."""
    aiohttp = _importable("aiohttp")
    qtnetwork = _importable("PySide6.QtNetwork")
    return [
        {
            "name": "pool thread + aiohttp",
            "where": "workerkit/imagelib/pool_workers/annotation.py (the simplified default)",
            "works": aiohttp,
            "detail": "a private asyncio loop on a QThreadPool thread"
            if aiohttp
            else "aiohttp is not installed; pip install 'workerkit[imagelib]'",
        },
        {
            "name": "QtAsyncio + QNetworkAccessManager",
            "where": "workerkit.imagelib.pool_workers.qtasyncio_runtime.annotate_under_qtasyncio",
            "works": qtasyncio and qtnetwork,
            "detail": "qt_post awaits QNetworkReply.finished on the Qt event loop"
            if qtasyncio and qtnetwork
            else "needs PySide6.QtAsyncio (PySide6-Addons): pip install 'workerkit[qtasyncio]'",
        },
        {
            "name": "QtAsyncio + aiohttp",
            "where": "aiohttp sessions inside QtAsyncio.run()",
            "works": sockets and aiohttp,
            "detail": "QtAsyncio's loop opens sockets"
            if sockets
            else "QtAsyncio's loop cannot open sockets (see the QtAsyncio sockets entry)",
        },
        {
            "name": "blocking urllib on worker threads",
            "where": "HttpAnnotator.annotate (legacy stack, simplified fan-out)",
            "works": True,
            "detail": "one blocking request per thread; needs only the standard library",
        },
    ]


def doctor_command(args: argparse.Namespace) -> int:
    """Print the diagnostics, as text or JSON; always exit 0."""
    facts = collect_diagnostics()
    print(json.dumps(facts, indent=2) if args.json else "\n".join(_lines(facts)))
    return 0


def _bad_pair_line(bad: bool) -> str:
    """Say whether the installed pair is the known-bad one, and what to do if it is."""
    if not bad:
        return f"no ({_BAD_PAIR_EFFECT})"
    return (
        f"YES: {_BAD_PAIR_EFFECT}; reinstall with `pip install -e .` (it excludes the "
        "6.12 series there) or use Python {FIXED_PYTHON[0]}.{FIXED_PYTHON[1]} or newer"
    )


def _lines(facts: dict[str, Any]) -> list[str]:
    """Return the diagnostics as readable lines."""
    sockets = facts["qtasyncio_sockets"]
    lines = [
        f"python              {facts['python']} ({facts['python_implementation']})",
        f"pyside6             {facts['pyside6']} (Qt {facts['qt']})",
        f"known-bad pair      {_bad_pair_line(facts['known_bad_pyside'])}",
        f"idealThreadCount    {facts['ideal_thread_count']}",
        f"QtAsyncio           {'available' if facts['qtasyncio_available'] else 'not installed'}",
        f"QtAsyncio sockets   {'supported' if sockets['supported'] else 'unsupported'}",
        f"                    {sockets['detail']}",
        "annotation runtimes",
    ]
    for runtime in facts["annotation_runtimes"]:
        state = "works" if runtime["works"] else "no   "
        lines.append(f"  {state}  {runtime['name']}: {runtime['where']}; {runtime['detail']}")
    return lines
