"""`make cluster`: the real control plane with the demo scenario, until a signal (Ctrl-C,
SIGTERM, SIGHUP) or the end of make; then both processes are gone and the directory removed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import require_part
from realbuilds import require_built

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]


def wait_for(path: Path, text: str, process: subprocess.Popen, seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        out = path.read_text() if path.exists() else ""
        if text in out:
            return out
        assert process.poll() is None, out
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} after {seconds} s:\n{path.read_text()}")


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state == "Z"


def start(command: list[str], tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    require_built("kube-apiserver"), require_built("etcd")
    out = tmp_path / "cluster.out"
    with open(out, "w") as handle:
        # SIGINT ignored, as a background job of a plain shell starts (cluster.py must undo it)
        process = subprocess.Popen(["sh", "-c", "trap '' INT; exec \"$@\"", "sh", *command], cwd=ROOT,
                                   stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    return process, out


def running(process: subprocess.Popen, out: Path) -> tuple[str, list[int]]:
    """The admin kubeconfig and the etcd and kube-apiserver PIDs, once the cluster is up."""
    text = wait_for(out, "Ctrl-C stops the cluster", process)
    kubeconfig = re.search(r"kubeconfig \(admin\): (\S+)", text)[1]
    return kubeconfig, [int(p) for p in re.findall(r"(?:etcd|kube-apiserver) (\d+)",
                                                   text.split("pids:")[1].splitlines()[0])]


def check_and_stop(process: subprocess.Popen, out: Path, tmp_path: Path, signum: int, target: int) -> None:
    kubeconfig, pids = running(process, out)
    nodes = subprocess.run([require_part("kubectl"), "--kubeconfig", kubeconfig, "--cache-dir",
                            str(tmp_path / "cache"), "get", "nodes", "-o", "name"],
                           capture_output=True, text=True, timeout=60)
    assert nodes.stdout.split() == ["node/k8s-control-plane", "node/k8s-worker", "node/k8s-worker-kata",
                                    "node/k8s-worker-untrusted"], nodes.stderr
    os.kill(target, signum)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.terminate()  # the cluster's own clean-up, then ours by PID
        for pid in [process.pid, *pids]:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        raise
    deadline = time.monotonic() + 30  # after make, the cluster notices within a second
    while "directory removed" not in out.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "kube-apiserver and etcd ended, directory removed" in out.read_text()
    assert not Path(kubeconfig).parent.exists()
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(gone(pid) for pid in pids)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "sighup"])
def test_cluster_serves_the_scenario_until_a_signal(signum, tmp_path):
    process, out = start([sys.executable, "-m", "realparts.cluster"], tmp_path)
    check_and_stop(process, out, tmp_path, signum, process.pid)
    assert process.returncode == 0


def test_make_cluster_stops_when_make_is_terminated(tmp_path):
    """SIGTERM to make alone (make does not pass it on): the cluster sees its parent go."""
    # -o: never re-bootstrap the venv from here (a stale stamp would make the test pip-install)
    process, out = start([require_part("make"), "--no-print-directory", "-o", ".venv/.installed-stamp",
                          "cluster"], tmp_path)
    check_and_stop(process, out, tmp_path, signal.SIGTERM, process.pid)
    # make itself was the one terminated; the cluster's own end is in its output (checked above)


def test_a_killed_cluster_takes_etcd_and_the_apiserver_with_it(tmp_path):
    """SIGKILL leaves no clean-up to the cluster: the parent-death signal ends both anyway."""
    import shutil
    process, out = start([sys.executable, "-m", "realparts.cluster"], tmp_path)
    kubeconfig, pids = running(process, out)
    try:
        process.kill()
        process.wait(10)
        deadline = time.monotonic() + 30
        while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(gone(pid) for pid in pids)
    finally:
        for pid in pids:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(Path(kubeconfig).parent, ignore_errors=True)
