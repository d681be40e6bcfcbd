"""The code-size audit: what counts as a code line, and the table over a small fixture tree."""

from __future__ import annotations

import textwrap
from pathlib import Path

from workerkit.tools.loc_audit import (
    AUDITED_FILES,
    AuditedFile,
    audit_loc,
    code_line_numbers,
    count_code_lines,
)

REPO = Path(__file__).resolve().parents[1]

SOURCE = textwrap.dedent(
    '''\
    """Module docstring,
    on two lines."""

    # a comment
    import os  # a trailing comment


    def f(a,
          b):
        """Function docstring."""
        text = "not # a comment"
        return """a multi-line
    string that is code"""


    class C:
        """Class docstring."""

        x = 1
    '''
)


def write(root: Path, relative: str, text: str) -> None:
    """Write ``text`` to ``root / relative``, creating folders."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_code_lines_skip_blanks_comments_and_docstrings() -> None:
    assert code_line_numbers(SOURCE) == {5, 8, 9, 11, 12, 13, 16, 19}
    assert count_code_lines(SOURCE) == 8


def test_code_lines_keep_a_string_that_is_not_first_in_its_body() -> None:
    source = 'def f():\n    x = 1\n    "not a docstring"\n'

    assert count_code_lines(source) == 3


def test_loc_audit_fixture_tree_splits_pieces_and_totals(tmp_path: Path) -> None:
    write(
        tmp_path,
        "legacy/base_worker.py",
        '''
        """Base."""
        import os


        class ProgressReporter:
            """Report."""

            def report(self):
                return 1


        class Base:
            x = 1
        ''',
    )
    write(
        tmp_path,
        "workerkit/imagelib/legacy_workers/search_worker.py",
        "a = 1\nb = 2\nc = 3\nd = 4\n",
    )
    write(tmp_path, "workerkit/imagelib/pool_workers/search.py", "a = 1\n")
    write(tmp_path, "simplified/extra.py", "a = 1\n")
    write(tmp_path, "simplified/__init__.py", "")
    files = (
        AuditedFile(
            "legacy",
            "plumbing",
            "legacy/base_worker.py",
            "base",
            (("ProgressReporter", "progress"),),
        ),
        AuditedFile("simplified", "plumbing", "simplified/_job.py", "lifecycle"),
        AuditedFile(
            "legacy", "workers", "workerkit/imagelib/legacy_workers/search_worker.py", "search"
        ),
        AuditedFile("simplified", "workers", "workerkit/imagelib/pool_workers/search.py", "search"),
    )

    audit = audit_loc(tmp_path, files)

    rows = {p.label: (p.concern, p.lines, p.present) for p in audit.pieces}
    assert rows == {
        "legacy/base_worker.py": ("base", 3, True),
        "legacy/base_worker.py::ProgressReporter": ("progress", 3, True),
        "simplified/_job.py": ("lifecycle", 0, False),
        "workerkit/imagelib/legacy_workers/search_worker.py": ("search", 4, True),
        "workerkit/imagelib/pool_workers/search.py": ("search", 1, True),
    }
    assert audit.total("legacy") == 10
    assert audit.total("legacy", "workers") == 4
    assert audit.reduction() == 0.9
    assert audit.reduction("workers") == 0.75
    assert audit.unclassified == ("simplified/extra.py",)
    assert audit.by_concern()["progress"] == {"legacy": 3, "simplified": 0}
    text = "\n".join(audit.lines())
    assert "| simplified | plumbing | lifecycle | `simplified/_job.py` | 0 (file absent) |" in text
    assert (
        "- total: legacy 10, simplified 1 code lines (90% fewer); "
        "the research note claimed about 800 -> 200 (75% fewer)"
    ) in text
    assert "- not classified, so not counted: `simplified/extra.py`" in text


def test_loc_audit_says_more_when_simplified_is_larger(tmp_path: Path) -> None:
    write(tmp_path, "legacy/a.py", "a = 1\n")
    write(tmp_path, "simplified/a.py", "a = 1\nb = 2\n")
    files = (
        AuditedFile("legacy", "workers", "legacy/a.py", "a"),
        AuditedFile("simplified", "workers", "simplified/a.py", "a"),
    )

    audit = audit_loc(tmp_path, files)

    assert audit.reduction() == -1.0
    assert "- workers: legacy 1, simplified 2 code lines (100% more)" in audit.lines()


def test_loc_audit_lists_the_files_of_the_new_layout() -> None:
    audit = audit_loc(REPO)

    missing = [spec.path for spec in AUDITED_FILES if not (REPO / spec.path).is_file()]
    assert missing == []
    assert audit.found
    plumbing = {spec.path for spec in AUDITED_FILES if spec.part == "plumbing"}
    legacy = "workerkit/imagelib/legacy_workers/"
    assert {p.removeprefix(legacy) for p in plumbing if p.startswith(legacy)} == {
        "manager.py",
        "base_worker.py",
        "stack.py",
    }
    assert "simplified/_coroutine.py" in plumbing
    # legacy/ is workerkit's careful QThread stack, not the image library's "before".
    stacks = ("simplified/", "workerkit/imagelib/legacy_workers/")
    assert [name for name in audit.unclassified if name.startswith(stacks)] == []


def test_loc_audit_lists_unclassified_files_beside_audited_ones(tmp_path: Path) -> None:
    write(tmp_path, "app/pool/search.py", "a = 1\n")
    write(tmp_path, "app/pool/extra.py", "a = 1\n")
    write(tmp_path, "app/other.py", "a = 1\n")
    files = (AuditedFile("simplified", "workers", "app/pool/search.py", "search"),)

    audit = audit_loc(tmp_path, files)

    assert audit.unclassified == ("app/pool/extra.py",)
    assert audit.summary()[-1] == "- not classified, so not counted: `app/pool/extra.py`"


def test_loc_audit_without_any_audited_file_is_not_found(tmp_path: Path) -> None:
    assert not audit_loc(tmp_path).found
