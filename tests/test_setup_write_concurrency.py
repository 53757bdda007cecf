"""Concurrent `kataview setup containerd|crio` runs on one config serialise: none loses another's
handler, each keeps its own backup (issue 13, finding 5). Real processes, real flock."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

RUNS = 20
V2_CONFIG = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  default_runtime_name = "runc"\n'
             '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
             '    runtime_type = "io.containerd.runc.v2"\n')


def start(target: str, *argv: str) -> subprocess.Popen:
    """`kataview setup TARGET ...` as its own process (the command module's entry point: the
    same main as through kataview.cli, without loading the rest of the CLI 20 times)."""
    return subprocess.Popen([sys.executable, "-m", f"kataview.cli.setup_{target}", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "LC_ALL": "C"})


def finish_all(processes: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        results.append((process.returncode, out, err))
    return results


def test_twenty_parallel_containerd_runs_keep_twenty_handlers_and_twenty_backups(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(V2_CONFIG)
    handlers = [f"kata-{n}" for n in range(RUNS)]
    results = finish_all([start("containerd", "--config", str(config), "--handler", name)
                          for name in handlers])
    for code, out, err in results:
        assert code == 0, err
        assert "wrote" in out
    runtimes = tomllib.loads(config.read_text())["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
    assert sorted(runtimes) == sorted(handlers + ["runc"])
    backups = sorted(tmp_path.glob("config.toml.kataview-*.bak"))
    assert len(backups) == RUNS
    contents = {p.read_text() for p in backups}
    assert len(contents) == RUNS  # each run saved the file as the run before it left it
    assert V2_CONFIG in contents
    assert not list(tmp_path.glob(".*.tmp"))


def test_parallel_crio_force_runs_each_back_up_what_the_last_one_wrote(tmp_path: Path):
    confd = tmp_path / "crio.conf.d"
    confd.mkdir()
    runs = 6
    results = finish_all([start("crio", "--config-dir", str(confd), "--runtime-path", f"/opt/kata/shim-{n}",
                                "--force") for n in range(runs)])
    for code, _, err in results:
        assert code == 0, err
    backups = sorted((tmp_path / "crio.conf.d.kataview-backup").glob("*.bak"))
    assert len(backups) == runs - 1  # the first run created the drop-in, each later one saved it
    shims = {tomllib.loads(p.read_text())["crio"]["runtime"]["runtimes"]["kata"]["runtime_path"] for p in backups}
    assert len(shims) == runs - 1


def test_backup_names_are_claimed_without_clobbering(tmp_path: Path):
    """Backups taken at once in the same second get distinct names, also outside the lock
    (the guided setup's local executor): a name is claimed by a hard link, never overwritten."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime, timezone
    from threading import Barrier

    from kataview.setup.filewrite import backup

    config = tmp_path / "config.toml"
    config.write_bytes(b"x" * 200_000)
    now = datetime(2026, 11, 22, 4, 15, tzinfo=timezone.utc)
    barrier = Barrier(RUNS)

    def one(_: int) -> Path:
        barrier.wait()
        return backup(config, now)
    with ThreadPoolExecutor(RUNS) as pool:
        saved = list(pool.map(one, range(RUNS)))
    assert len(set(saved)) == RUNS
    assert len(list(tmp_path.glob("config.toml.kataview-*.bak"))) == RUNS


def test_a_run_waits_for_the_lock_and_gives_up_with_a_clear_message(tmp_path: Path, monkeypatch):
    import io

    from kataview.cli.setup_containerd import main
    from kataview.model.exit_codes import Exit
    from kataview.setup import config_write

    config = tmp_path / "config.toml"
    config.write_text(V2_CONFIG)
    monkeypatch.setattr(config_write, "LOCK_TIMEOUT", 0.3)
    err = io.StringIO()
    with config_write.config_lock(config) as lock:  # another open file: flock conflicts in-process too
        assert lock == tmp_path / ".config.toml.kataview.lock" and lock.stat().st_mode & 0o777 == 0o600
        code = main(["--config", str(config), "--handler", "kata"], out=io.StringIO(), err=err)
    assert code == Exit.WRITE_FAILED and config.read_text() == V2_CONFIG
    assert f"writing failed: {lock}: another kataview setup (pid {os.getpid()}) holds this lock; gave up after waiting 0.3 s" in err.getvalue()
    assert "what to do: wait for the other run" in err.getvalue()
    assert lock.read_bytes() == b""  # no stale pid once released
    assert main(["--config", str(config), "--dry-run"], out=io.StringIO(), err=io.StringIO()) == 0


def test_a_config_in_a_missing_directory_is_refused_not_a_lock_failure(tmp_path: Path):
    import io

    from kataview.cli.setup_containerd import main
    from kataview.model.exit_codes import Exit

    err = io.StringIO()
    config = tmp_path / "no-such-dir" / "config.toml"
    assert main(["--config", str(config)], out=io.StringIO(), err=err) == Exit.CONFIG
    assert f"refused: {config}: directory {config.parent} not found" in err.getvalue()
