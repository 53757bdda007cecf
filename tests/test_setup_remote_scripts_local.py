"""The node-side setup scripts (kataview.setup.remote_commands), run here with sh as they run on
a node: a backup on a full disk leaves nothing with a backup's name, two backups in one second
get two names, and a replace keeps the file's ACL, SELinux label and user xattrs (issue 13,
findings 5, 8 and 10 on the SSH path)."""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import require_root
from kataview.setup.remote_commands import SetupCommand

STAMP = "20261203T084500Z"


def run(command: SetupCommand, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command.argv(), input=stdin, capture_output=True, timeout=60)


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):
    require_root("mounting a tmpfs")
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "kv-s13-node", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_node_backup_on_a_full_disk_leaves_no_partial_backup(tiny_tmpfs: Path):
    config = tiny_tmpfs / "config.toml"
    config.write_bytes(b"# x\n" * 10_500)  # 42 KB: a second copy does not fit in 64 KiB
    for _ in range(2):
        result = run(SetupCommand("backup", (str(config), "", STAMP)))
        assert result.returncode != 0 and b"No space left on device" in result.stderr
        assert [p.name for p in tiny_tmpfs.iterdir()] == ["config.toml"]


def test_node_backups_in_one_second_get_distinct_names(tmp_path: Path):
    config = tmp_path / "config.toml"
    names = []
    for n in range(3):
        config.write_text(f"v{n}\n")
        result = run(SetupCommand("backup", (str(config), "", STAMP)))
        assert result.returncode == 0, result.stderr
        names.append(result.stdout.decode().strip())
    assert names == [str(tmp_path / f"config.toml.kataview-{STAMP}{suffix}.bak") for suffix in ("", "-1", "-2")]
    assert [Path(n).read_text() for n in names] == ["v0\n", "v1\n", "v2\n"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_node_write_keeps_acl_selinux_label_and_user_xattrs(tmp_path: Path):
    require_root("setting security.selinux")
    config = tmp_path / "config.toml"
    config.write_text("old\n")
    config.chmod(0o640)
    acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *entry) for entry in [
        (0x01, 6, 0xFFFFFFFF), (0x02, 4, 4242), (0x04, 4, 0xFFFFFFFF), (0x10, 4, 0xFFFFFFFF), (0x20, 0, 0xFFFFFFFF)])
    os.setxattr(config, "system.posix_acl_access", acl)
    os.setxattr(config, "security.selinux", b"system_u:object_r:container_config_t:s0\x00")
    os.setxattr(config, "user.managed-by", b"ansible")
    before = {name: os.getxattr(config, name) for name in os.listxattr(config)}
    mode = config.stat().st_mode
    result = run(SetupCommand("write", (str(config),)), stdin=b"new\n")
    assert result.returncode == 0, result.stderr
    assert config.read_text() == "new\n" and config.stat().st_mode == mode
    assert {name: os.getxattr(config, name) for name in os.listxattr(config)} == before
