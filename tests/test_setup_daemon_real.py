"""The real containerd 1.6 daemon, with its own root, state, socket and opt path, proves that a
config patched by `plan_containerd_patch` makes containerd load `kata` (asked through kataview's
own CRI Status client), keeps runc, and that restoring the backup removes `kata` again.

The daemon is started and stopped by a small restart program (also the restart command of the
guided-setup end-to-end test): it ends only the PID it wrote, after checking that PID's command
line names this test's config, and the fixture always stops it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from kataview.setup.containerd.patch import plan_containerd_patch
from kataview.setup.cri_status import CriStatus, CriStatusError, cri_status_sync
from kataview.setup.filewrite import atomic_write, backup
from tests.conftest import require_part, require_root

pytestmark = pytest.mark.integration

CONTROL = r'''
import os, signal, subprocess, sys, time
mode, pidfile, binary, config, log = sys.argv[1:6]

def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            ours = config.encode() in f.read()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and ours

def wait_gone(pid, seconds):
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)

if os.path.exists(pidfile):
    pid = int(open(pidfile).read() or 0)
    if pid and alive(pid):
        os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, 15):
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid, 5)
    os.unlink(pidfile)
if mode == "restart":
    with open(log, "ab") as out:
        child = subprocess.Popen([binary, "--config", config], stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    with open(pidfile, "w") as f:
        f.write(str(child.pid))
'''


def daemon_config(base: Path) -> str:
    return (f'version = 2\nroot = "{base}/root"\nstate = "{base}/state"\n\n'
            f'[grpc]\n  address = "{base}/containerd.sock"\n\n'
            f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{base}/opt"\n\n'
            '# the CRI stream server on a random loopback port\n'
            '[plugins."io.containerd.grpc.v1.cri"]\n  stream_server_port = "0"\n\n'
            '# the CRI plugin creates its CNI conf dir: keep it off the machine\'s /etc/cni\n'
            f'[plugins."io.containerd.grpc.v1.cri".cni]\n  bin_dir = "{base}/cni/bin"\n'
            f'  conf_dir = "{base}/cni/net.d"\n')


@dataclass
class Daemon:
    binary: str
    base: Path
    config: Path

    @property
    def socket(self) -> str:
        return str(self.base / "containerd.sock")

    @property
    def log(self) -> Path:
        return self.base / "containerd.log"

    def command(self, mode: str) -> tuple[str, ...]:
        return (sys.executable, "-c", CONTROL, mode, str(self.base / "containerd.pid"), self.binary,
                str(self.config), str(self.log))

    def restart(self) -> CriStatus:
        subprocess.run(self.command("restart"), check=True, timeout=60)
        return self.wait_ready()

    def stop(self) -> None:
        subprocess.run(self.command("stop"), check=True, timeout=60)

    def wait_ready(self, seconds: float = 20.0) -> CriStatus:
        deadline, last = time.monotonic() + seconds, None
        while time.monotonic() < deadline:
            try:
                status = cri_status_sync(self.socket, timeout=2)
                if status.runtime_ready:
                    return status
            except CriStatusError as exc:
                last = exc
            time.sleep(0.05)
        raise AssertionError(f"containerd not ready: {last}\n{self.log.read_text()[-3000:]}")


@pytest.fixture
def containerd_daemon(tmp_path_factory):
    binary = require_part("containerd", "/usr/bin/containerd")
    require_root("containerd needs root for its root/state directories and mounts")
    base = tmp_path_factory.mktemp("ctrd")  # short path: unix socket paths are limited to 107 bytes
    config = base / "config.toml"
    config.write_text(daemon_config(base))
    daemon = Daemon(binary, base, config)
    try:
        yield daemon
    finally:
        daemon.stop()


def test_patched_config_loads_kata_and_undo_removes_it(containerd_daemon):
    daemon = containerd_daemon
    original = daemon.config.read_bytes()
    before = daemon.restart()
    assert sorted(before.runtime_handlers) == ["runc"]  # containerd's built-in default
    plan = plan_containerd_patch(original.decode(), handler="kata", kata_config="/opt/kata/configuration.toml")
    saved = backup(daemon.config)
    atomic_write(daemon.config, plan.new_text.encode())
    status = daemon.restart()
    handlers = status.runtime_handlers
    assert sorted(handlers) == ["kata", "runc"]
    assert handlers["kata"]["runtimeType"] == "io.containerd.kata.v2"
    assert handlers["kata"]["privileged_without_host_devices"] is True
    assert handlers["kata"]["PodAnnotations"] == ["io.katacontainers.*"]
    assert handlers["kata"]["options"]["ConfigPath"] == "/opt/kata/configuration.toml"
    assert handlers["runc"]["runtimeType"] == "io.containerd.runc.v2"
    assert status.runtime_ready  # NetworkReady is false without CNI config: fine here
    plugins = subprocess.run(["ctr", "--address", daemon.socket, "plugins", "ls"], capture_output=True,
                             text=True, timeout=30)
    assert any(line.split()[:2] == ["io.containerd.grpc.v1", "cri"] and line.split()[-1] == "ok"
               for line in plugins.stdout.splitlines()), plugins.stdout
    atomic_write(daemon.config, saved.read_bytes())  # the undo: restore the backup
    assert daemon.config.read_bytes() == original
    assert sorted(daemon.restart().runtime_handlers) == ["runc"]


def test_daemon_is_gone_after_stop(containerd_daemon):
    daemon = containerd_daemon
    daemon.restart()
    pid = int((daemon.base / "containerd.pid").read_text())
    daemon.stop()
    with pytest.raises(CriStatusError):
        cri_status_sync(daemon.socket, timeout=1)
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    assert not os.path.exists(daemon.base / "containerd.pid")
