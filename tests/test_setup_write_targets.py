"""What `setup containerd|crio` refuses to replace, and what replacing keeps (issue 13,
findings 9 and 10): `--output` never follows a symlink nor writes over a non-regular file."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from kataview.cli import setup_containerd
from kataview.cli.setup_containerd import main as containerd_main
from kataview.model.exit_codes import Exit

V2_CONFIG = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
             '  runtime_type = "io.containerd.runc.v2"\n')


@pytest.fixture(autouse=True)
def no_real_containerd(monkeypatch):
    """containerd's own check of the result is exercised in test_setup_containerd_real.py."""
    monkeypatch.setattr(setup_containerd, "containerd_check", lambda *a, **k: None)


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


def test_a_config_over_the_size_limit_is_refused_before_parsing(config: Path):
    from kataview.setup.toml_edit import MAX_CONFIG_BYTES

    big = V2_CONFIG + "#" * (MAX_CONFIG_BYTES - len(V2_CONFIG)) + "\n"  # one byte over
    config.write_text(big)
    code, out, err = run("--config", str(config))
    assert code == Exit.CONFIG and out == ""
    assert f"refused: {config}: {len(big):,} bytes is more than kataview reads (256 KiB)" in err
    assert "what to do:" in err and config.read_text() == big


def test_a_huge_sparse_config_is_refused_without_reading_it(config: Path):
    with open(config, "r+b") as handle:
        handle.truncate(25 * 1024 * 1024)  # 25 MB, as in the finding (sparse: nothing to read)
    code, _, err = run("--config", str(config), "--dry-run")
    assert code == Exit.CONFIG and "26,214,400 bytes is more than kataview reads" in err


def test_a_crio_dropin_over_the_limit_is_refused_naming_it(tmp_path: Path):
    from kataview.cli.setup_crio import main as crio_main

    confd = tmp_path / "crio.conf.d"
    confd.mkdir()
    huge = confd / "10-huge.conf"
    huge.write_text("#" * 300_000 + "\n")
    err = io.StringIO()
    assert crio_main(["--config-dir", str(confd)], out=io.StringIO(), err=err) == Exit.CONFIG
    assert f"refused: {huge}: 300,001 bytes is more than kataview reads" in err.getvalue()
    assert sorted(p.name for p in confd.iterdir()) == ["10-huge.conf"]


def test_text_over_the_limit_is_refused_by_the_parser_too():
    """The guided setup reads configs over SSH: the same limit applies before parsing."""
    from kataview.setup.containerd.patch import plan_containerd_patch
    from kataview.setup.toml_edit import ConfigError

    with pytest.raises(ConfigError) as caught:
        plan_containerd_patch(V2_CONFIG + "#" * 300_000)
    assert "is more than kataview reads" in caught.value.problem


def test_a_config_that_is_not_a_regular_file_is_refused_unopened(tmp_path: Path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)  # opening it would wait for a writer forever
    code, _, err = run("--config", str(fifo), "--dry-run")
    assert code == Exit.CONFIG and f"refused: {fifo}: not a regular file (fifo)" in err


SELINUX_LABEL = b"system_u:object_r:container_config_t:s0\x00"


def posix_acl(*entries: tuple[int, int, int]) -> bytes:
    """The kernel's system.posix_acl_access value: version 2, then (tag, perm, id) entries."""
    import struct

    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *entry) for entry in entries)


# owner rw, user 4242 r, group r, mask r, other none (what `setfacl -m u:4242:r` leaves)
ACL = posix_acl((0x01, 6, 0xFFFFFFFF), (0x02, 4, 4242), (0x04, 4, 0xFFFFFFFF), (0x10, 4, 0xFFFFFFFF),
                (0x20, 0, 0xFFFFFFFF))


def test_replacing_keeps_selinux_label_acl_and_user_xattrs(config: Path):
    from conftest import require_root

    require_root("setting security.* extended attributes")
    os.setxattr(config, "security.selinux", SELINUX_LABEL)
    os.setxattr(config, "system.posix_acl_access", ACL)
    os.setxattr(config, "user.managed-by", b"puppet")
    before = {name: os.getxattr(config, name) for name in os.listxattr(config)}
    mode = config.stat().st_mode
    code, _, err = run("--config", str(config))
    assert code == 0, err
    assert "runtimes.kata" in config.read_text()
    assert {name: os.getxattr(config, name) for name in os.listxattr(config)} == before
    assert config.stat().st_mode == mode
    backup = next(config.parent.glob("config.toml.kataview-*.bak"))
    assert os.getxattr(backup, "security.selinux") == SELINUX_LABEL  # the backup keeps them too


def test_an_attribute_that_cannot_be_kept_refuses_the_write(config: Path):
    """security.capability can be set only with CAP_SETFCAP: a run without it (setpriv drops it
    from root's bounding set) cannot give the new file that attribute, so it refuses rather
    than drop it, and leaves the config as it was."""
    import struct
    import subprocess
    import sys

    from conftest import require_part, require_root

    require_root("setting security.capability, then writing without CAP_SETFCAP")
    setpriv = require_part("setpriv", "/usr/bin/setpriv")
    capability = struct.pack("<IIIII", 0x02000000, 1 << 10, 0, 0, 0)  # v2: cap_net_bind_service
    os.setxattr(config, "security.capability", capability)
    result = subprocess.run([setpriv, "--bounding-set=-setfcap", "--inh-caps=-setfcap", sys.executable,
                             "-m", "kataview.cli.setup_containerd", "--config", str(config)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/nonexistent"})
    assert result.returncode == Exit.WRITE_FAILED, result.stderr
    assert f"writing failed: {config}: cannot keep extended attribute security.capability" in result.stderr
    assert "what to do:" in result.stderr and "Traceback" not in result.stderr
    assert config.read_text() == V2_CONFIG and os.getxattr(config, "security.capability") == capability
    assert not list(config.parent.glob(".config.toml.kataview-*.tmp"))


def test_a_hard_linked_config_is_refused_unless_forced(config: Path, tmp_path: Path):
    other = tmp_path / "managed-copy.toml"
    os.link(config, other)
    code, out, err = run("--config", str(config))
    assert code == Exit.CONFIG and "wrote" not in out
    assert f"refused: {config}: it has 2 hard links" in err and "--force" in err
    assert config.read_text() == V2_CONFIG and os.path.samefile(config, other)
    dry = run("--config", str(config), "--dry-run")
    assert dry[0] == 0 and "it has 2 hard links" in dry[2]
    code, out, err = run("--config", str(config), "--force")
    assert code == 0, err
    assert "runtimes.kata" in config.read_text() and other.read_text() == V2_CONFIG
    assert f"note: {config}: it had 2 hard links" in err and "keep the old content" in err


def test_a_read_only_config_is_not_rewritten_unless_forced(config: Path):
    config.chmod(0o444)
    code, out, err = run("--config", str(config))
    assert code == Exit.CONFIG and "wrote" not in out
    assert f"refused: {config}: it is read-only (mode 0444)" in err and "--force" in err
    assert config.read_text() == V2_CONFIG and not list(config.parent.glob("*.bak"))
    code, _, err = run("--config", str(config), "--force")
    assert code == 0, err
    assert "runtimes.kata" in config.read_text() and config.stat().st_mode & 0o777 == 0o444


def test_read_only_output_and_crio_dropin_are_refused_too(config: Path, tmp_path: Path):
    from kataview.cli.setup_crio import main as crio_main

    output = tmp_path / "out.toml"
    output.write_text("old\n")
    output.chmod(0o400)
    code, _, err = run("--config", str(config), "--output", str(output))
    assert code == Exit.CONFIG and f"{output}: it is read-only (mode 0400)" in err and output.read_text() == "old\n"
    confd = tmp_path / "crio.conf.d"
    confd.mkdir()
    assert crio_main(["--config-dir", str(confd)], out=io.StringIO(), err=io.StringIO()) == 0
    dropin = confd / "50-kataview-kata.conf"
    before = dropin.read_text()
    os.link(dropin, tmp_path / "elsewhere.conf")
    err = io.StringIO()
    code = crio_main(["--config-dir", str(confd), "--runtime-path", "/opt/kata/x"], out=io.StringIO(), err=err)
    assert code == Exit.CONFLICT  # the handler differs: --force is needed anyway
    err = io.StringIO()
    code = crio_main(["--config-dir", str(confd), "--runtime-path", "/opt/kata/x", "--force"],
                     out=io.StringIO(), err=err)
    assert code == 0 and "it had 2 hard links" in err.getvalue() and dropin.read_text() != before
