"""What `setup containerd|crio` refuses to replace, and what replacing keeps (issue 13,
findings 9 and 10): `--output` never follows a symlink nor writes over a non-regular file."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from kataview.model.exit_codes import Exit
from kataview.setup import containerd_command
from kataview.setup.containerd_command import main as containerd_main

V2_CONFIG = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
             '  runtime_type = "io.containerd.runc.v2"\n')


@pytest.fixture(autouse=True)
def no_real_containerd(monkeypatch):
    """containerd's own check of the result is exercised in test_setup_containerd_real.py."""
    monkeypatch.setattr(containerd_command, "containerd_check", lambda *a, **k: None)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return containerd_main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(V2_CONFIG)
    return path


def test_output_refuses_a_symlink_and_leaves_its_target_alone(config: Path, tmp_path: Path):
    secret = tmp_path / "unrelated"
    secret.write_text("private\n")
    secret.chmod(0o600)
    link = tmp_path / "out.toml"
    link.symlink_to(secret)
    code, out, err = run("--config", str(config), "--output", str(link))
    assert code == Exit.CONFIG and out == ""
    assert f"refused: {link}: --output is a symbolic link (to {secret})" in err
    assert "what to do:" in err and "Traceback" not in err
    assert secret.read_text() == "private\n" and secret.stat().st_mode & 0o777 == 0o600
    assert link.is_symlink() and not list(tmp_path.glob("*.bak")) and config.read_text() == V2_CONFIG


def test_output_refuses_a_dangling_symlink(config: Path, tmp_path: Path):
    link = tmp_path / "out.toml"
    link.symlink_to(tmp_path / "not-there")
    code, _, err = run("--config", str(config), "--output", str(link))
    assert code == Exit.CONFIG and "is a symbolic link" in err and not (tmp_path / "not-there").exists()


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_output_refuses_a_non_regular_file(config: Path, tmp_path: Path, kind: str):
    if kind == "directory":
        target = tmp_path / "out.d"
        target.mkdir()
    elif kind == "fifo":
        target = tmp_path / "out.fifo"
        os.mkfifo(target)
    else:
        target = Path("/dev/null")
    code, _, err = run("--config", str(config), "--output", str(target))
    assert code == Exit.CONFIG and f"refused: {target}: --output is not a regular file ({kind}" in err
    assert "Traceback" not in err and config.read_text() == V2_CONFIG
    if kind == "device":
        assert Path("/dev/null").is_char_device()


def test_output_to_a_new_or_regular_file_still_works(config: Path, tmp_path: Path):
    target = tmp_path / "new.toml"
    assert run("--config", str(config), "--output", str(target))[0] == 0
    assert "runtimes.kata" in target.read_text() and not target.is_symlink()
    assert run("--config", str(config), "--output", str(target), "--handler", "kata-2")[0] == 0
    assert "runtimes.kata-2" in target.read_text()


def test_a_symlink_planted_after_the_check_is_replaced_not_followed(tmp_path: Path):
    """--output renames onto the name itself: a link that appears between the check and the
    rename is replaced as a link, its target is never written."""
    from kataview.setup.filewrite import atomic_write

    secret = tmp_path / "unrelated"
    secret.write_text("private\n")
    link = tmp_path / "out.toml"
    link.symlink_to(secret)
    atomic_write(link, b"new\n", follow_symlinks=False)
    assert not link.is_symlink() and link.read_text() == "new\n" and secret.read_text() == "private\n"
