"""The migration checklist: each stage's gates, checked from flags, tests, benchmarks and logs.

The stages, their kinds and the budgets are the app's (``workerkit._app``, ``--app``):
an ``App(stages=..., budgets=...)`` declares them; an app without stages gets one
stage per kind and a last stage that removes legacy (``default_stages``). The
gates read the app's own test results, compare JSON and shadow log.

The checklist imports the app's declarations, which may load PySide6 modules (a
legacy worker is a QObject), but it never creates a QCoreApplication: it reads
files and, with ``--run``, starts pytest and ``workerkit compare`` as child
processes, so it needs no display.

Exit status: the *claimed* stage is the last stage the project says it has
reached (a stage that migrates kinds: one of its kinds' flags is ``simplified``;
a stage that migrates none: no kind can be routed to legacy any more), or stage
1 when it claims none. The command exits 0 iff every gate of every stage from 1
through the claimed stage passes.

Modules, each importing only modules listed before it: ``options`` (where to look),
``config`` (budgets), ``jsonfile``, ``children`` (child processes), ``sources``
(what makes a cached result stale), ``reportlog`` (pytest's report log), ``suites``
and ``compare_runs`` (test and compare results), ``evidence`` (each fact once),
``gates`` and ``benchmark`` (deciding gates), ``stages``, ``report``, ``render``
and ``command``.
"""

from __future__ import annotations

from workerkit.tools.checklist.command import checklist_command
from workerkit.tools.checklist.config import (
    DEFAULT_MIN_COMPARED as DEFAULT_MIN_COMPARED,
)
from workerkit.tools.checklist.config import (
    Budget,
    Budgets,
    app_budgets,
    budgets_from,
    parse_budgets,
)
from workerkit.tools.checklist.gates import Gate, Status
from workerkit.tools.checklist.options import CONTRACT_DIR as CONTRACT_DIR
from workerkit.tools.checklist.options import DEFAULT_COMPARE as DEFAULT_COMPARE
from workerkit.tools.checklist.options import DEFAULT_MIGRATION as DEFAULT_MIGRATION
from workerkit.tools.checklist.options import DEFAULT_SHADOW_LOG as DEFAULT_SHADOW_LOG
from workerkit.tools.checklist.options import RESULTS_DIR as RESULTS_DIR
from workerkit.tools.checklist.options import Options
from workerkit.tools.checklist.render import BEGIN_MARKER, END_MARKER, replace_status_block
from workerkit.tools.checklist.report import ChecklistReport, run_checklist
from workerkit.tools.checklist.sources import WATCHED_TREES as WATCHED_TREES
from workerkit.tools.checklist.stages import (
    StageResult,
    contract_suite,
    default_stages,
    stages_of,
)

__all__ = [
    "BEGIN_MARKER",
    "END_MARKER",
    "Budget",
    "Budgets",
    "ChecklistReport",
    "Gate",
    "Options",
    "StageResult",
    "Status",
    "app_budgets",
    "budgets_from",
    "checklist_command",
    "contract_suite",
    "default_stages",
    "parse_budgets",
    "replace_status_block",
    "run_checklist",
    "stages_of",
]
