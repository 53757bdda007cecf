"""`kataview setup containerd` on files in a temp dir: backups, atomic writes, refusals, exit codes."""

from __future__ import annotations

import io
import os
import re
import tomllib
from pathlib import Path

import pytest

from kataview.cli import setup_containerd
from kataview.cli.setup_containerd import main
from kataview.model.exit_codes import Exit
from kataview.setup.filewrite import atomic_write, backup_name

V2_CONFIG = '''version = 2
# keep me
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
'''
BROKEN = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"\n'
DOCKER = '#   Copyright 2018-2022 Docker Inc.\n\ndisabled_plugins = ["cri"]\n'


@pytest.fixture(autouse=True)
def no_real_containerd(monkeypatch):
    """The CLI's own containerd check is exercised in test_setup_containerd_real.py."""
    monkeypatch.setattr(setup_containerd, "containerd_check", lambda *a, **k: None)


def run(*argv: str, **kwargs) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(V2_CONFIG)
    path.chmod(0o640)
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    """The files, without the (empty, kept) lock file a writing run leaves beside the config."""
    return {p.name: p.read_bytes() for p in directory.iterdir() if not p.name.endswith(".kataview.lock")}


def test_patch_writes_backup_and_keeps_mode(config: Path):
    code, out, _ = run("--config", str(config), "--kata-config", "/opt/kata/q.toml")
    assert code == 0
    backups = list(config.parent.glob("config.toml.kataview-*.bak"))
    assert len(backups) == 1 and re.fullmatch(r"config\.toml\.kataview-\d{8}T\d{6}Z\.bak", backups[0].name)
    assert backups[0].read_text() == V2_CONFIG
    assert config.stat().st_mode & 0o777 == 0o640
    data = tomllib.loads(config.read_text())
    kata = data["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["kata"]
    assert kata["options"]["ConfigPath"] == "/opt/kata/q.toml"
    assert "# keep me" in config.read_text() and f"backup: {backups[0]}" in out
    assert sorted(p.name for p in config.parent.iterdir()) == sorted(
        ["config.toml", backups[0].name, ".config.toml.kataview.lock"])


def test_second_run_says_already_configured_and_writes_nothing(config: Path):
    assert run("--config", str(config))[0] == 0
    before = snapshot(config.parent)
    code, out, _ = run("--config", str(config))
    assert code == 0 and "already configured" in out
    assert snapshot(config.parent) == before


def test_dry_run_prints_diff_and_writes_nothing(config: Path):
    before, mtime = snapshot(config.parent), config.stat().st_mtime_ns
    code, out, _ = run("--config", str(config), "--dry-run")
    assert code == 0 and "dry run: nothing was written" in out
    assert '+  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]' in out
    assert snapshot(config.parent) == before and config.stat().st_mtime_ns == mtime


def test_output_writes_elsewhere(config: Path, tmp_path: Path):
    target = tmp_path / "out" / "new.toml"
    target.parent.mkdir()
    code, _, _ = run("--config", str(config), "--output", str(target))
    assert code == 0 and config.read_text() == V2_CONFIG
    assert "kata" in tomllib.loads(target.read_text())["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]


def test_failure_between_write_and_rename_leaves_original_intact(config: Path):
    def explode(tmp: Path) -> None:
        assert tmp.exists() and tmp.parent == config.parent
        raise OSError(28, "No space left on device", str(tmp))

    code, _, err = run("--config", str(config), before_rename=explode)
    assert code == Exit.WRITE_FAILED and "original file is unchanged" in err and "Traceback" not in err
    assert config.read_text() == V2_CONFIG
    assert not list(config.parent.glob(".config.toml.kataview-*"))  # temp file removed


def test_atomic_write_failure_in_rename_keeps_original(tmp_path: Path, monkeypatch):
    target = tmp_path / "c.toml"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(5, "I/O error")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["c.toml"]


def test_symlinked_config_stays_a_symlink(tmp_path: Path):
    real = tmp_path / "real.toml"
    real.write_text(V2_CONFIG)
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    assert run("--config", str(link))[0] == 0
    assert link.is_symlink() and "kata" in real.read_text()


@pytest.mark.parametrize("content, needle", [
    (BROKEN, ":2:"),
    (DOCKER, ":3:21: the CRI plugin is disabled"),
    ('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.x]\n  runtime_type = "a"\n', "no `version` key"),
])
def test_refusals_leave_file_byte_identical(tmp_path: Path, content: str, needle: str):
    path = tmp_path / "config.toml"
    path.write_text(content)
    before = snapshot(tmp_path)
    code, out, err = run("--config", str(path))
    assert code == Exit.CONFIG and "Traceback" not in err and out == ""
    assert err.startswith(f"kataview setup containerd: refused: {path}") and needle in err
    assert "what to do:" in err
    assert snapshot(tmp_path) == before


def test_invalid_handler_refused(config: Path):
    code, _, err = run("--config", str(config), "--handler", "Kata_QEMU")
    assert code == Exit.CONFIG and "refused: --handler: 'Kata_QEMU' is not a DNS label" in err


def test_missing_file_refused(tmp_path: Path):
    code, _, err = run("--config", str(tmp_path / "nope.toml"))
    assert code == Exit.CONFIG and "file not found" in err and "containerd config default" in err


def test_conflict_needs_force(config: Path):
    assert run("--config", str(config), "--kata-config", "/a")[0] == 0
    before = snapshot(config.parent)
    code, _, err = run("--config", str(config), "--kata-config", "/b")
    assert code == 3 and "options.ConfigPath: '/a' -> '/b'" in err and "--force" in err
    assert snapshot(config.parent) == before
    code, _, _ = run("--config", str(config), "--kata-config", "/b", "--force")
    assert code == 0 and '"/b"' in config.read_text() and '"/a"' not in config.read_text()


def test_dropin_refused_on_containerd_1x(config: Path, tmp_path: Path):
    before = snapshot(tmp_path)
    code, _, err = run("--config", str(config), "--drop-in", str(tmp_path / "kata.toml"),
                       "--containerd-version", "1.7")
    assert code == Exit.CONFIG and "drop-in mode needs containerd >= 2.2" in err
    assert snapshot(tmp_path) == before


def test_dropin_assumes_1x_without_containerd(config: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    code, _, err = run("--config", str(config), "--drop-in", str(tmp_path / "kata.toml"))
    assert code == Exit.CONFIG and "assuming 1.x" in err


def test_dropin_on_2_2_with_glob(tmp_path: Path):
    main_file = tmp_path / "config.toml"
    main_file.write_text('version = 3\nimports = ["conf.d/*.toml"]\n')
    (tmp_path / "conf.d").mkdir()
    dropin = tmp_path / "conf.d" / "kata.toml"
    code, out, _ = run("--config", str(main_file), "--drop-in", str(dropin), "--containerd-version", "2.2")
    assert code == 0 and "already imports" in out
    assert main_file.read_text() == 'version = 3\nimports = ["conf.d/*.toml"]\n'
    assert not list(tmp_path.glob("config.toml.kataview-*"))
    data = tomllib.loads(dropin.read_text())
    assert data["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]["kata"]["runtime_type"]
    assert run("--config", str(main_file), "--drop-in", str(dropin), "--containerd-version", "2.2")[1].startswith(
        "already configured")


def test_dropin_on_2_2_adds_import(tmp_path: Path):
    main_file = tmp_path / "config.toml"
    main_file.write_text('version = 3\n\n[grpc]\n  address = "/run/x.sock"\n')
    dropin = tmp_path / "kata.toml"
    code, _, _ = run("--config", str(main_file), "--drop-in", str(dropin), "--containerd-version", "2.2")
    assert code == 0
    assert tomllib.loads(main_file.read_text())["imports"] == [str(dropin)]
    assert len(list(tmp_path.glob("config.toml.kataview-*.bak"))) == 1


def test_backup_names_never_collide(tmp_path: Path):
    from datetime import datetime, timezone
    now = datetime(2026, 11, 22, 4, 15, tzinfo=timezone.utc)
    path = tmp_path / "config.toml"
    first = backup_name(path, now)
    assert first.name == "config.toml.kataview-20261122T041500Z.bak"
    first.write_text("x")
    assert backup_name(path, now).name == "config.toml.kataview-20261122T041500Z-1.bak"
