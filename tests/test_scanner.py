"""Tests for workerkit.imagelib.domain.scanner: finding image files on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workerkit.imagelib.domain.scanner import IMAGE_EXTENSIONS, ScanError, display_path, scan_images


def _touch(*paths: Path) -> None:
    """Create empty files (the scanner never opens them)."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def _failing_scandir(monkeypatch: pytest.MonkeyPatch, target: Path, error: OSError) -> None:
    """Make os.scandir raise ``error`` for ``target`` only, as if it vanished or was locked."""
    real_scandir = os.scandir

    def scandir(path: object) -> object:
        if Path(os.fsdecode(path)) == target:  # type: ignore[arg-type]
            raise error
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)


def test_image_extensions_are_the_documented_set() -> None:
    expected = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
    assert expected == IMAGE_EXTENSIONS


def test_scan_images_finds_images_recursively_and_ignores_others(tmp_path: Path) -> None:
    _touch(
        tmp_path / "a.png",
        tmp_path / "deep" / "er" / "b.WEBP",
        tmp_path / "c.Jpeg",
        tmp_path / ".hidden" / "d.tiff",
        tmp_path / "notes.txt",
        tmp_path / "e.png.txt",
        tmp_path / "noext",
    )
    assert scan_images(tmp_path) == [
        tmp_path / ".hidden" / "d.tiff",
        tmp_path / "a.png",
        tmp_path / "c.Jpeg",
        tmp_path / "deep" / "er" / "b.WEBP",
    ]


def test_scan_images_sorts_by_path_bytes(tmp_path: Path) -> None:
    _touch(tmp_path / "é.png", tmp_path / "a.png", tmp_path / "B.png", tmp_path / "a" / "z.png")
    names = [path.relative_to(tmp_path).as_posix() for path in scan_images(tmp_path)]
    assert names == ["B.png", "a.png", "a/z.png", "é.png"]


def test_scan_images_keeps_non_utf8_names(tmp_path: Path) -> None:
    raw_path = os.path.join(os.fsencode(tmp_path), b"caf\xe9.png")
    with open(raw_path, "wb"):
        pass
    found = scan_images(tmp_path)
    assert [os.fsencode(path) for path in found] == [raw_path]


def test_scan_images_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    _touch(tmp_path / "a" / "one.png")
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "a" / "self").symlink_to(tmp_path / "a", target_is_directory=True)
    assert scan_images(tmp_path) == [tmp_path / "a" / "one.png"]


def test_scan_images_follows_symlinked_folder_outside_root(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    _touch(root / "a.png", elsewhere / "b.png")
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    assert scan_images(root) == [root / "a.png", root / "linked" / "b.png"]


def test_scan_images_prefers_real_path_over_symlinked_alias(tmp_path: Path) -> None:
    _touch(tmp_path / "z_real" / "a.png")
    (tmp_path / "a_alias").symlink_to(tmp_path / "z_real", target_is_directory=True)
    assert scan_images(tmp_path) == [tmp_path / "z_real" / "a.png"]


def test_scan_images_includes_symlinked_files_and_skips_broken_links(tmp_path: Path) -> None:
    _touch(tmp_path / "store" / "real.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "store" / "real.png")
    (tmp_path / "broken.png").symlink_to(tmp_path / "nowhere.png")
    assert scan_images(tmp_path) == [tmp_path / "link.png", tmp_path / "store" / "real.png"]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(FileNotFoundError(2, "No such file"), id="vanished_mid_scan"),
        # root ignores folder modes, so the refusal is injected into os.scandir.
        pytest.param(PermissionError(13, "Permission denied"), id="unreadable"),
    ],
)
def test_scan_images_skips_a_folder_it_cannot_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError
) -> None:
    _touch(tmp_path / "a.png", tmp_path / "failing" / "b.png")
    _failing_scandir(monkeypatch, tmp_path / "failing", error)
    assert scan_images(tmp_path) == [tmp_path / "a.png"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores folder modes")
def test_scan_images_skips_folder_without_read_permission(tmp_path: Path) -> None:
    _touch(tmp_path / "a.png", tmp_path / "locked" / "b.png")
    (tmp_path / "locked").chmod(0)
    try:
        assert scan_images(tmp_path) == [tmp_path / "a.png"]
    finally:
        (tmp_path / "locked").chmod(0o755)


def test_scan_images_missing_root_raises(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(ScanError, match=r"it does not exist\. Pass a folder of images\.") as caught:
        scan_images(missing)
    assert str(caught.value) == (
        f"Cannot scan '{missing}': it does not exist. Pass a folder of images."
    )


def test_scan_images_file_root_raises(tmp_path: Path) -> None:
    _touch(tmp_path / "a.png")
    with pytest.raises(ScanError, match=r"it is not a directory\. Pass a folder of images\."):
        scan_images(tmp_path / "a.png")


def test_scan_images_symlink_to_folder_as_root_is_scanned(tmp_path: Path) -> None:
    _touch(tmp_path / "real" / "a.png")
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    assert scan_images(tmp_path / "alias") == [tmp_path / "alias" / "a.png"]


def test_display_path_replaces_undecodable_bytes() -> None:
    path = Path(os.fsdecode(b"/tmp/caf\xe9.png"))
    assert display_path(path) == "/tmp/caf\ufffd.png"
