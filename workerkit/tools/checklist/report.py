"""One checklist run: every stage's gates, the code-size audit, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workerkit._app import app_spec, load_app
from workerkit.tools.checklist.config import find_budgets
from workerkit.tools.checklist.evidence import Evidence
from workerkit.tools.checklist.options import Options
from workerkit.tools.checklist.sources import watched_paths
from workerkit.tools.checklist.stages import StageResult, check_stages
from workerkit.tools.loc_audit import LocAudit, audit_loc

__all__ = ["ChecklistReport", "run_checklist"]


@dataclass(frozen=True, slots=True)
class ChecklistReport:
    """Every stage's gates, the code-size audit, the app they belong to, and the verdict."""

    stages: tuple[StageResult, ...]
    audit: LocAudit
    app: str = ""

    @property
    def current(self) -> StageResult | None:
        """Return the first stage whose gates do not all pass (None when all pass)."""
        return next((stage for stage in self.stages if not stage.passed), None)

    @property
    def claimed(self) -> int:
        """Return the number of the last stage the project claims to have reached, at least 1."""
        return max([1, *(s.spec.number for s in self.stages if s.claimed)])

    @property
    def exit_code(self) -> int:
        """Return 0 iff every gate of every stage up to and including the claimed one passes."""
        return int(not all(s.passed for s in self.stages if s.spec.number <= self.claimed))

    def verdict(self) -> str:
        """Return one line: the current stage, the claimed stage and what the exit status means."""
        current = self.current
        where = (
            "all stages pass"
            if current is None
            else f"current stage: {current.spec.number} ({current.spec.title})"
        )
        span = "stage 1" if self.claimed == 1 else f"stages 1 to {self.claimed}"
        outcome = "all pass" if self.exit_code == 0 else "do not all pass"
        return (
            f"{where}; claimed stage: {self.claimed}; the gates of {span} {outcome} "
            f"(exit {self.exit_code})"
        )


def run_checklist(options: Options) -> ChecklistReport:
    """Check every stage's gates of the app from the facts the options point at."""
    migration = _read_migration(options.migration)
    spec, source = app_spec(Path.cwd(), options.app)
    app = load_app(options.app, cwd=Path.cwd())
    budgets = find_budgets(migration, str(options.migration), app)
    evidence = Evidence(options, app, budgets, watched_paths(options.root, spec))
    about = f"{app.name} ({spec}, {source}); kinds: {', '.join(app.names)}"
    return ChecklistReport(check_stages(evidence), audit_loc(options.root), about)


def _read_migration(path: Path) -> str:
    # An app may keep its budgets in App(budgets=...) and have no MIGRATION.md yet.
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
