"""workerkit.toml and pyproject.toml: one reader, one schema, errors that name file, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from workerkit._app import AppError, app_spec
from workerkit._config import ConfigError, project_configs, read_config
from workerkit.flags import FlagError, resolve_flags
from workerkit.imagelib.kinds import app as image_library

SCHEMA = (
    'workerkit.toml holds only [tool.workerkit] with app = "module:attribute", and '
    '[workers] with kind = "simplified" lines: rename or remove it'
)


def write(path: Path, body: str) -> Path:
    """Write ``body`` to ``path``; return the path."""
    path.write_text(body, encoding="utf-8")
    return path


def error(path: Path, **options: str) -> str:
    """Return the message of the ConfigError that reading ``path`` raises."""
    with pytest.raises(ConfigError) as raised:
        read_config(path, **options)
    return str(raised.value)


def test_config_reads_the_app_and_the_workers_table(tmp_path: Path) -> None:
    path = write(
        tmp_path / "workerkit.toml",
        '[tool.workerkit]\napp = "pkg.workers:app"\n\n[workers]\nsearch = "shadow"\n',
    )
    config = read_config(path, label="workerkit.toml")
    assert (config.app, dict(config.workers)) == ("pkg.workers:app", {"search": "shadow"})
    assert config.app_source == "workerkit.toml [tool.workerkit] app"
    assert config.worker_source("search") == "workerkit.toml [workers] search"


def test_config_workerkit_toml_comes_before_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.workerkit]\napp = "b:app"\n')
    assert [c.app for c in project_configs(tmp_path)] == ["b:app"]
    write(tmp_path / "workerkit.toml", '[tool.workerkit]\napp = "a:app"\n')
    assert [c.app for c in project_configs(tmp_path)] == ["a:app", "b:app"]
    assert app_spec(tmp_path) == ("a:app", "workerkit.toml [tool.workerkit] app")


def test_config_pyproject_other_tables_are_not_checked(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", "[tool.ruff]\nline-length = 100\n[workers]\nx = 1\n")
    assert read_config(path).app is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[worker]\nsearch = "shadow"\n', "unknown table [worker] (did you mean [workers]?); "),
        ("wokers = 1\n", "unknown top-level key 'wokers' (did you mean [workers]?); "),
        ("[tool.black]\nx = 1\n", "unknown table [tool.black]; "),
        ("[workerkit]\nx = 1\n", "unknown table [workerkit] (did you mean [tool.workerkit]?); "),
    ],
)
def test_config_unknown_table_names_the_file_the_table_and_the_schema(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = write(tmp_path / "workerkit.toml", body)
    assert error(path, label="workerkit.toml") == f"workerkit.toml: {expected}{SCHEMA}."


def test_config_unknown_key_of_the_tool_table_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[tool.workerkit]\nap = "x:app"\n')
    assert error(path) == (
        f"{path}: unknown key 'ap' in [tool.workerkit] (did you mean app?); "
        '[tool.workerkit] holds only app = "module:attribute": rename or remove it.'
    )


def test_config_invalid_toml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "workerkit.toml", '[workers]\nsearch = "legacy"\nthumbnail = = 1\n')
    assert error(path) == (
        f"{path}, line 3, column 13: invalid TOML (Invalid value); fix the file."
    )


def test_config_other_file_is_offered_in_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path / "flags.toml", "[flags]\n")
    assert error(path, other="pass another with --config").endswith(
        ": rename or remove it, or pass another with --config."
    )


def test_config_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "workerkit.toml"
    path.write_bytes(b"[workers]\nsearch = '\xff'\n")
    assert error(path) == f"{path}: not UTF-8 text (byte 20); save it as UTF-8."


def test_config_errors_are_app_errors_to_the_app_lookup(tmp_path: Path) -> None:
    write(tmp_path / "workerkit.toml", "[tool.workerkit]\napp = 3\n")
    with pytest.raises(AppError, match=r"\[tool.workerkit\] app must be a string"):
        app_spec(tmp_path)


def test_config_errors_are_flag_errors_to_the_flags(tmp_path: Path) -> None:
    write(tmp_path / "workerkit.toml", '[worker]\nsearch = "simplified"\n')
    with pytest.raises(FlagError, match=r"^workerkit.toml: unknown table \[worker\] "):
        resolve_flags(image_library, env={}, cwd=tmp_path)


def test_config_file_is_parsed_once_per_content(tmp_path: Path) -> None:
    path = write(tmp_path / "workerkit.toml", '[workers]\nsearch = "legacy"\n')
    first = read_config(path)
    assert read_config(path) is first
    write(path, '[workers]\nsearch = "shadow"\n')
    assert read_config(path).workers == {"search": "shadow"}
