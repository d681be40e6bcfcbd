"""Count the code lines of each stack's plumbing and workers, against the research note's claim.

A *code line* is a physical source line that carries at least one token other
than a comment, a line break or indentation, and is not part of a docstring (a
string literal that is the first statement of a module, class or function).
Blank lines, comment-only lines and docstrings are not counted; a statement
spread over three lines counts three. Tokens come from ``tokenize``, docstrings
from ``ast``, so strings that merely contain ``#`` are handled correctly.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AUDITED_FILES",
    "CLAIMED_LEGACY_LINES",
    "CLAIMED_REDUCTION",
    "CLAIMED_SIMPLIFIED_LINES",
    "AuditedFile",
    "LocAudit",
    "Piece",
    "audit_loc",
    "code_line_numbers",
    "count_code_lines",
]

# The research note: "Total: ~800 lines -> ~200 lines (75% reduction)".
CLAIMED_LEGACY_LINES = 800
CLAIMED_SIMPLIFIED_LINES = 200
CLAIMED_REDUCTION = 0.75

_STACK_NAMES: tuple[str, ...] = ("legacy", "simplified")
_PARTS: tuple[str, ...] = ("plumbing", "workers")

_NON_CODE_TOKENS = frozenset(
    {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENDMARKER,
        tokenize.ENCODING,
    }
)
_DEFINITIONS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
_DOCSTRING_OWNERS = (ast.Module, *_DEFINITIONS)


@dataclass(frozen=True, slots=True)
class AuditedFile:
    """Name one audited file: its stack, part, concern, and top-level names counted apart."""

    stack: str
    part: str
    path: str
    concern: str
    split: tuple[tuple[str, str], ...] = ()


# The legacy base worker holds its own progress, cancellation and status pieces;
# they are split out so each concern is compared with its simplified counterpart.
AUDITED_FILES: tuple[AuditedFile, ...] = (
    AuditedFile(
        "legacy", "plumbing", "workerkit/imagelib/legacy_workers/manager.py", "thread lifecycle"
    ),
    AuditedFile(
        "legacy",
        "plumbing",
        "workerkit/imagelib/legacy_workers/base_worker.py",
        "base worker, signals",
        split=(
            ("WorkerStatus", "status"),
            ("CancellationController", "cancellation"),
            ("ProgressReporter", "progress"),
        ),
    ),
    AuditedFile(
        "legacy",
        "plumbing",
        "workerkit/imagelib/legacy_workers/stack.py",
        "service routing, job ids",
    ),
    AuditedFile("simplified", "plumbing", "simplified/_stack.py", "service routing, job ids"),
    AuditedFile("simplified", "plumbing", "simplified/_job.py", "thread lifecycle"),
    AuditedFile("simplified", "plumbing", "simplified/_queue.py", "thread lifecycle"),
    AuditedFile("simplified", "plumbing", "simplified/_signals.py", "base worker, signals"),
    AuditedFile("simplified", "plumbing", "simplified/_token.py", "cancellation"),
    AuditedFile("simplified", "plumbing", "simplified/_throttle.py", "progress"),
    AuditedFile("simplified", "plumbing", "simplified/_fanout.py", "parallel map"),
    AuditedFile("simplified", "plumbing", "simplified/_executor.py", "asyncio on the pool"),
    AuditedFile("simplified", "plumbing", "simplified/_coroutine.py", "asyncio on the pool"),
    AuditedFile("simplified", "plumbing", "simplified/_batch.py", "bulk submission"),
    AuditedFile(
        "legacy",
        "workers",
        "workerkit/imagelib/legacy_workers/registration_worker.py",
        "registration",
    ),
    AuditedFile(
        "legacy", "workers", "workerkit/imagelib/legacy_workers/search_worker.py", "search"
    ),
    AuditedFile(
        "legacy", "workers", "workerkit/imagelib/legacy_workers/thumbnail_worker.py", "thumbnail"
    ),
    AuditedFile(
        "legacy", "workers", "workerkit/imagelib/legacy_workers/annotation_worker.py", "annotation"
    ),
    AuditedFile(
        "legacy", "workers", "workerkit/imagelib/legacy_workers/preview_worker.py", "preview"
    ),
    AuditedFile(
        "simplified", "workers", "workerkit/imagelib/pool_workers/registration.py", "registration"
    ),
    AuditedFile("simplified", "workers", "workerkit/imagelib/pool_workers/search.py", "search"),
    AuditedFile(
        "simplified", "workers", "workerkit/imagelib/pool_workers/thumbnails.py", "thumbnail"
    ),
    AuditedFile(
        "simplified", "workers", "workerkit/imagelib/pool_workers/annotation.py", "annotation"
    ),
    AuditedFile("simplified", "workers", "workerkit/imagelib/pool_workers/previews.py", "preview"),
)

# Used by both stacks unchanged (the original's progress value), so counted for neither.
SHARED_FILES: tuple[str, ...] = ("workerkit/_progress.py",)


@dataclass(frozen=True, slots=True)
class Piece:
    """One row of the audit: a file, or a named part of one, and its code lines."""

    stack: str
    part: str
    concern: str
    label: str
    lines: int
    present: bool = True


@dataclass(frozen=True, slots=True)
class LocAudit:
    """The audit of both stacks: one piece per row, plus files nobody classified."""

    pieces: tuple[Piece, ...]
    shared: tuple[Piece, ...] = ()
    unclassified: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        """Return True when at least one audited file exists (the project is workerkit)."""
        return any(piece.present for piece in self.pieces)

    def total(self, stack: str, part: str | None = None) -> int:
        """Return the code lines of ``stack``, or of one of its parts."""
        return sum(p.lines for p in self.pieces if p.stack == stack and part in (None, p.part))

    def reduction(self, part: str | None = None) -> float:
        """Return the fraction of legacy code lines the simplified stack does without."""
        legacy = self.total("legacy", part)
        return 1.0 - self.total("simplified", part) / legacy if legacy else 0.0

    def by_concern(self) -> dict[str, dict[str, int]]:
        """Return code lines per concern and stack, in table order."""
        table: dict[str, dict[str, int]] = {}
        for piece in self.pieces:
            row = table.setdefault(piece.concern, dict.fromkeys(_STACK_NAMES, 0))
            row[piece.stack] += piece.lines
        return table

    def lines(self) -> list[str]:
        """Return the audit as Markdown: the file table, the concern table and the verdict."""
        return [
            *self._file_table(),
            "",
            *self._concern_table(),
            "",
            *self.summary(),
        ]

    def _file_table(self) -> list[str]:
        rows = [
            "| stack | part | concern | file | code lines |",
            "| --- | --- | --- | --- | ---: |",
        ]
        for p in self.pieces:
            lines = str(p.lines) if p.present else "0 (file absent)"
            rows.append(f"| {p.stack} | {p.part} | {p.concern} | `{p.label}` | {lines} |")
        rows.extend(
            f"| both | shared, not counted | {p.concern} | `{p.label}` | {p.lines} |"
            for p in self.shared
        )
        return rows

    def _concern_table(self) -> list[str]:
        rows = ["| concern | legacy | simplified |", "| --- | ---: | ---: |"]
        rows.extend(
            f"| {concern} | {counts['legacy']} | {counts['simplified']} |"
            for concern, counts in self.by_concern().items()
        )
        return rows

    def summary(self) -> list[str]:
        """Return the verdict lines: each part's totals, the total, and what was not counted."""
        summary = [
            f"- {part}: legacy {self.total('legacy', part)}, simplified "
            f"{self.total('simplified', part)} code lines "
            f"({_change(self.reduction(part))})"
            for part in _PARTS
        ]
        summary.append(
            f"- total: legacy {self.total('legacy')}, simplified {self.total('simplified')} "
            f"code lines ({_change(self.reduction())}); the research note claimed "
            f"about {CLAIMED_LEGACY_LINES} -> {CLAIMED_SIMPLIFIED_LINES} "
            f"({_change(CLAIMED_REDUCTION)})"
        )
        if self.unclassified:
            names = ", ".join(f"`{name}`" for name in self.unclassified)
            summary.append(f"- not classified, so not counted: {names}")
        return summary


def audit_loc(root: Path, files: Iterable[AuditedFile] = AUDITED_FILES) -> LocAudit:
    """Count the code lines of every audited file under ``root`` (the project directory)."""
    files = tuple(files)
    pieces = tuple(piece for spec in files for piece in _pieces_of(root, spec))
    shared = tuple(
        Piece("both", "shared", "progress value", name, count_code_lines(_read(root / name)))
        for name in SHARED_FILES
        if (root / name).is_file()
    )
    return LocAudit(pieces, shared, _unclassified(root, files))


def count_code_lines(source: str) -> int:
    """Return the number of code lines in ``source`` (see the module docstring)."""
    return len(code_line_numbers(source))


def code_line_numbers(source: str) -> set[int]:
    """Return the 1-based numbers of the code lines in ``source``."""
    numbers: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in _NON_CODE_TOKENS:
            numbers.update(range(token.start[0], token.end[0] + 1))
    return numbers - _docstring_lines(ast.parse(source))


def _docstring_lines(tree: ast.Module) -> set[int]:
    numbers: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, _DOCSTRING_OWNERS) and node.body and _is_docstring(node.body[0]):
            first = node.body[0]
            numbers.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return numbers


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _pieces_of(root: Path, spec: AuditedFile) -> list[Piece]:
    path = root / spec.path
    if not path.is_file():
        return [Piece(spec.stack, spec.part, spec.concern, spec.path, 0, present=False)]
    source = _read(path)
    remaining = code_line_numbers(source)
    pieces: list[Piece] = []
    for name, span in _top_level_spans(source, dict(spec.split)).items():
        inside = remaining & span
        remaining -= inside
        concern = dict(spec.split)[name]
        pieces.append(Piece(spec.stack, spec.part, concern, f"{spec.path}::{name}", len(inside)))
    return [Piece(spec.stack, spec.part, spec.concern, spec.path, len(remaining)), *pieces]


def _top_level_spans(source: str, names: dict[str, str]) -> dict[str, set[int]]:
    spans: dict[str, set[int]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, _DEFINITIONS) and node.name in names:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            spans[node.name] = set(range(first, (node.end_lineno or node.lineno) + 1))
    return spans


def _unclassified(root: Path, files: tuple[AuditedFile, ...]) -> tuple[str, ...]:
    # Every .py file beside an audited one, or in a stack's folder, should be classified.
    known = {spec.path for spec in files}
    folders = {*_STACK_NAMES, *(Path(spec.path).parent.as_posix() for spec in files)} - {"."}
    found = {
        path.relative_to(root).as_posix()
        for folder in sorted(folders)
        if (root / folder).is_dir()
        for path in (root / folder).glob("*.py")
        if path.name != "__init__.py"
    }
    return tuple(sorted(found - known))


def _read(path: Path) -> str:
    with tokenize.open(path) as file:
        return file.read()


def _change(reduction: float) -> str:
    percent = round(abs(reduction) * 100)
    return f"{percent}% fewer" if reduction >= 0 else f"{percent}% more"
