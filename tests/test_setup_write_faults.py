"""A backup that cannot be written completely leaves nothing with a backup's name (issue 13,
finding 8). Real faults: a full tmpfs (ENOSPC) and RLIMIT_FSIZE (EFBIG) in a subprocess."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_root
from kataview.model.exit_codes import Exit

# about 42 KB, as in the finding: larger than what is left on the disk for the backup
BIG_CONFIG = ('version = 2\n' + "".join(f"# padding line {n:05d} {'x' * 60}\n" for n in range(560))
              + '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
                '  runtime_type = "io.containerd.runc.v2"\n')


def run_setup(config: Path, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:  # in the child only: writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "kataview", "setup", "containerd", "--config", str(config)],
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=limit if limit_bytes else None,
                          env={**os.environ, "LC_ALL": "C", "PYTHONDONTWRITEBYTECODE": "1"})


def assert_nothing_left_but(directory: Path, config: Path) -> None:
    assert sorted(p.name for p in directory.iterdir() if not p.name.endswith(".lock")) == [config.name]
    assert config.read_text() == BIG_CONFIG


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):
    """A 64 KiB tmpfs: the 42 KB config fits, a second copy of it does not."""
    require_root("mounting a tmpfs")
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "kv-s13-tiny", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs as root: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_backup_on_a_full_disk_leaves_no_truncated_backup(tiny_tmpfs: Path):
    config = tiny_tmpfs / "config.toml"
    config.write_text(BIG_CONFIG)
    for attempt in range(3):  # a retry must not leave one more
        result = run_setup(config)
        assert result.returncode == Exit.WRITE_FAILED, result.stderr
        assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
        assert f"writing failed: {tiny_tmpfs}/config.toml.kataview-" in result.stderr
        assert "what to do: free space on that file system" in result.stderr
        assert_nothing_left_but(tiny_tmpfs, config)


def test_backup_past_the_file_size_limit_leaves_no_truncated_backup(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(BIG_CONFIG)
    result = run_setup(config, limit_bytes=20_480)
    assert result.returncode == Exit.WRITE_FAILED, result.stderr
    assert "File too large" in result.stderr and "Traceback" not in result.stderr
    assert_nothing_left_but(tmp_path, config)
