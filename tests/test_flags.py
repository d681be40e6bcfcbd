"""Per-worker flags: five sources in order, checked values, and the `workerkit flags` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workerkit.flags import (
    ENV_VARS,
    FLAG_VALUES,
    Flag,
    FlagError,
    resolve_flags,
)
from workerkit.imagelib.domain.store import ImageStore
from workerkit.imagelib.kinds import Kind
from workerkit.imagelib.service import WorkerService
from workerkit.tools.cli import build_parser, flags_from_args

ALLOWED = "expected one of legacy, simplified, shadow."
KINDS = "expected one of registration, search, thumbnail, annotation, preview."


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run every test in an empty directory with no WORKERKIT_<KIND> variable set."""
    for name in ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def write_toml(path: Path, body: str) -> Path:
    """Write ``body`` to ``path`` and return the path."""
    path.write_text(body, encoding="utf-8")
    return path


def values(flags: dict[Kind, Flag]) -> dict[str, tuple[str, str]]:
    """Return {kind name: (value, source)} for short assertions."""
    return {kind.value: (flag.value, flag.source) for kind, flag in flags.items()}


def test_flags_public_constants_name_values_and_variables() -> None:
    assert FLAG_VALUES == ("legacy", "simplified", "shadow")
    assert ENV_VARS == {
        Kind.SEARCH: "WORKERKIT_SEARCH",
        Kind.THUMBNAIL: "WORKERKIT_THUMBNAIL",
        Kind.REGISTRATION: "WORKERKIT_REGISTRATION",
        Kind.ANNOTATION: "WORKERKIT_ANNOTATION",
        Kind.PREVIEW: "WORKERKIT_PREVIEW",
    }
    assert issubclass(FlagError, ValueError)


def test_flags_default_to_legacy_without_any_source(tmp_path: Path) -> None:
    flags = resolve_flags(env={}, cwd=tmp_path)
    assert values(flags) == {kind.value: ("legacy", "default") for kind in Kind}


def test_flags_precedence_cli_over_env_over_toml_over_default(tmp_path: Path) -> None:
    write_toml(
        tmp_path / "workerkit.toml",
        '[workers]\nsearch = "shadow"\nthumbnail = "shadow"\nregistration = "simplified"\n',
    )
    env = {"WORKERKIT_SEARCH": "simplified", "WORKERKIT_THUMBNAIL": "simplified"}
    flags = resolve_flags(cli={"search": "shadow"}, env=env, cwd=tmp_path)
    assert values(flags) == {
        "search": ("shadow", "command line --search"),
        "thumbnail": ("simplified", "environment WORKERKIT_THUMBNAIL"),
        "registration": ("simplified", "workerkit.toml [workers] registration"),
        "annotation": ("legacy", "default"),
        "preview": ("legacy", "default"),
    }


def test_flags_runtime_set_stack_wins_over_every_other_source(
    qtbot, store: ImageStore, tmp_path: Path
) -> None:
    write_toml(tmp_path / "workerkit.toml", '[workers]\nsearch = "simplified"\n')
    flags = resolve_flags(
        cli={"search": "simplified"}, env={"WORKERKIT_SEARCH": "simplified"}, cwd=tmp_path
    )
    service = WorkerService(store, flags=flags)
    try:
        assert service.flag_sources()["search"] == "command line --search"
        service.set_stack("search", "shadow")
        assert service.stack_for(Kind.SEARCH) == "shadow"
        assert service.flag_sources()["search"] == "runtime set_stack"
    finally:
        service.shutdown()


def test_flags_read_workerkit_toml_from_the_working_directory(tmp_path: Path) -> None:
    write_toml(tmp_path / "workerkit.toml", '[workers]\nthumbnail = "simplified"\n')
    flags = resolve_flags(env={})
    assert values(flags)["thumbnail"] == ("simplified", "workerkit.toml [workers] thumbnail")


def test_flags_explicit_toml_path_replaces_the_working_directory_file(tmp_path: Path) -> None:
    write_toml(tmp_path / "workerkit.toml", '[workers]\nsearch = "shadow"\n')
    other = write_toml(tmp_path / "other.toml", '[workers]\nannotation = "simplified"\n')
    flags = resolve_flags(env={}, toml_path=other)
    assert values(flags)["annotation"] == ("simplified", f"{other} [workers] annotation")
    assert values(flags)["search"] == ("legacy", "default")


def test_flags_toml_without_workers_table_sets_nothing(tmp_path: Path) -> None:
    write_toml(tmp_path / "workerkit.toml", "[tool.workerkit]\n")
    assert values(resolve_flags(env={}))["search"] == ("legacy", "default")


def test_flags_values_are_trimmed_and_case_insensitive() -> None:
    flags = resolve_flags(env={"WORKERKIT_SEARCH": " Simplified "}, cli={"Thumbnail": "SHADOW"})
    assert flags[Kind.SEARCH].value == "simplified"
    assert flags[Kind.THUMBNAIL] == Flag(Kind.THUMBNAIL, "shadow", "command line --thumbnail")


def test_flags_empty_environment_variable_counts_as_unset() -> None:
    flags = resolve_flags(env={"WORKERKIT_SEARCH": "  "})
    assert flags[Kind.SEARCH] == Flag(Kind.SEARCH, "legacy", "default")


def test_flags_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKERKIT_ANNOTATION", "simplified")
    assert resolve_flags()[Kind.ANNOTATION].source == "environment WORKERKIT_ANNOTATION"


# --- errors -------------------------------------------------------------------------------


def test_flags_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(FlagError) as raised:
        resolve_flags(env={"WORKERKIT_SEARCH": "fast"})
    assert str(raised.value) == (
        f"Invalid value 'fast' for the search flag (environment WORKERKIT_SEARCH): {ALLOWED}"
    )


def test_flags_bad_toml_value_names_the_file_and_key(tmp_path: Path) -> None:
    write_toml(tmp_path / "workerkit.toml", '[workers]\nthumbnail = "quick"\n')
    with pytest.raises(FlagError) as raised:
        resolve_flags(env={})
    assert str(raised.value) == (
        f"Invalid value 'quick' for the thumbnail flag (workerkit.toml [workers] thumbnail): "
        f"{ALLOWED}"
    )


def test_flags_non_string_toml_value_names_the_file_and_key(tmp_path: Path) -> None:
    write_toml(tmp_path / "workerkit.toml", "[workers]\nsearch = 1\n")
    with pytest.raises(FlagError) as raised:
        resolve_flags(env={})
    assert str(raised.value) == (
        "Invalid value 1 for the search flag (workerkit.toml [workers] search): "
        "expected a string, one of legacy, simplified, shadow."
    )


def test_flags_bad_cli_value_names_the_option() -> None:
    with pytest.raises(FlagError) as raised:
        resolve_flags(env={}, cli={"annotation": "new"})
    assert str(raised.value) == (
        f"Invalid value 'new' for the annotation flag (command line --annotation): {ALLOWED}"
    )


def test_flags_unknown_kind_in_toml_names_the_file_and_key(tmp_path: Path) -> None:
    write_toml(tmp_path / "workerkit.toml", '[workers]\nupload = "legacy"\n')
    with pytest.raises(FlagError) as raised:
        resolve_flags(env={})
    assert str(raised.value) == (
        f"Unknown worker kind 'upload' (workerkit.toml [workers] upload): {KINDS}"
    )


def test_flags_unknown_kind_on_the_command_line_names_the_option() -> None:
    with pytest.raises(FlagError) as raised:
        resolve_flags(env={}, cli={"upload": "legacy"})
    assert str(raised.value) == f"Unknown worker kind 'upload' (command line --upload): {KINDS}"


@pytest.mark.parametrize("kind", ["registration", "annotation"])
@pytest.mark.parametrize("where", ["toml", "env", "cli"])
def test_flags_shadow_on_a_writing_kind_is_refused(tmp_path: Path, kind: str, where: str) -> None:
    sources = {
        "toml": f"workerkit.toml [workers] {kind}",
        "env": f"environment WORKERKIT_{kind.upper()}",
        "cli": f"command line --{kind}",
    }
    write_toml(tmp_path / "workerkit.toml", f'[workers]\n{kind} = "shadow"\n' * (where == "toml"))
    env = {f"WORKERKIT_{kind.upper()}": "shadow"} if where == "env" else {}
    cli = {kind: "shadow"} if where == "cli" else {}
    with pytest.raises(FlagError) as raised:
        resolve_flags(env=env, cli=cli)
    assert str(raised.value) == (
        f"The {kind} flag ({sources[where]}) is 'shadow', but shadow mode runs every job twice "
        f"and {kind} writes to the database; use legacy or simplified "
        "(shadow is allowed for search, thumbnail, preview)."
    )


def test_flags_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "bad.toml", '[workers]\nsearch = "legacy"\nthumbnail = = 1\n')
    with pytest.raises(FlagError) as raised:
        resolve_flags(env={}, toml_path=path)
    message = str(raised.value)
    assert message.startswith(f"{path}, line 3, column 13: invalid TOML (")
    assert message.endswith("); fix the file or pass another with --config.")


def test_flags_missing_explicit_toml_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(FlagError) as raised:
        resolve_flags(env={}, toml_path=path)
    assert str(raised.value) == (
        f"The flag file {path} does not exist; create it with a [workers] table "
        "or pass another path."
    )


def test_flags_workers_key_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    write_toml(tmp_path / "workerkit.toml", 'workers = "simplified"\n')
    with pytest.raises(FlagError) as raised:
        resolve_flags(env={})
    assert str(raised.value) == (
        "workerkit.toml: 'workers' must be a table ([workers] with kind = \"value\" lines), "
        "not a str."
    )


# --- command line -------------------------------------------------------------------------


def run_flags_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `workerkit flags <argv>` through the CLI's parser; return (status, stdout, stderr)."""
    args = build_parser().parse_args(["flags", *argv])
    status = args.handler(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_flags_command_prints_each_value_and_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_toml(tmp_path / "workerkit.toml", '[workers]\nregistration = "simplified"\n')
    monkeypatch.setenv("WORKERKIT_THUMBNAIL", "shadow")
    status, out, err = run_flags_command(["--search", "simplified"], capsys)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "app: the image library (workerkit.imagelib.kinds:app; the default: no app configured)",
        "registration  simplified  (workerkit.toml [workers] registration)",
        "search        simplified  (command line --search)",
        "thumbnail     shadow      (environment WORKERKIT_THUMBNAIL)",
        "annotation    legacy      (default)",
        "preview       legacy      (default)",
    ]


def test_flags_command_reads_the_config_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_toml(tmp_path / "flags.toml", '[workers]\nannotation = "simplified"\n')
    status, out, _ = run_flags_command(["--config", str(path)], capsys)
    assert status == 0
    assert f"annotation    simplified  ({path} [workers] annotation)" in out.splitlines()


def test_flags_command_exits_2_with_the_error_on_a_bad_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_flags_command(["--registration", "shadow"], capsys)
    assert (status, out) == (2, "")
    assert err.startswith(
        "workerkit flags: error: The registration flag (command line --registration) is 'shadow'"
    )


def test_flags_options_can_be_added_to_another_command() -> None:
    args = build_parser().parse_args(["demo", "--thumbnail", "shadow", "--config", "x.toml"])
    assert flags_from_args(args) == {"thumbnail": "shadow"}
    assert args.config == Path("x.toml")
    assert flags_from_args(build_parser().parse_args(["demo"])) == {}


def test_flags_module_imports_no_qt() -> None:
    code = (
        "import sys, workerkit.flags; "
        "print(sorted(m for m in sys.modules if m.startswith('PySide6')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
