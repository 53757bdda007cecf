"""`kataview setup` in a real tmux against `kataview demo --serve` (its kubeconfig and the ssh
config it prints): the node list, the preflight over SSH to the demo's node on loopback, and
the first step's plan with its diff, at 80x24 and 160x48."""

from __future__ import annotations

import os
import subprocess

import pytest
from test_demo_serve_ssh import Served
from test_tmux_demo import KATAVIEW, TmuxSession

from conftest import require_part


@pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
def test_setup_against_demo_serve_reaches_the_first_steps_diff(tmp_path, size):
    tmux = require_part("tmux")
    served = Served(tmp_path)
    session = TmuxSession(tmux, f"kvsetup{os.getpid()}", tmp_path)
    env = (f"env -u COLUMNS -u LINES XDG_STATE_HOME={tmp_path}/state XDG_CONFIG_HOME={tmp_path}/config "
           f"HOME={tmp_path} TERM=xterm-256color")
    try:
        session.run("new-session", "-d", "-s", session.name, "-x", str(size[0]), "-y", str(size[1]),
                    f"{env} {KATAVIEW} --kubeconfig {served.kubeconfig} --ssh-config {served.ssh_config} "
                    "setup; sleep 5")
        nodes = session.wait_for("k8s-worker-untrusted")
        assert "pick the node" in nodes and "k8s-control-plane" in nodes and "k8s-worker-kata" in nodes
        session.keys("Down", "Enter")  # k8s-worker: containerd 2.0.1, runc only
        preflight = session.wait_for("Continue")
        assert "preflight of k8s-worker" in preflight and "containerd v2.0.1" in preflight
        assert "Debian GNU/Linux 12" in preflight
        session.keys("Enter")
        step = session.wait_for("write /etc/containerd/config.toml")
        assert "step 1 of 7" in step and "--- a/config.toml" in step and "Apply" in step
        if size == (160, 48):
            assert "runtimes.kata]" in step and 'runtime_type = "io.containerd.kata.v2"' in step
        session.keys("q")
    finally:
        subprocess.run([tmux, "-S", session.socket, "kill-server"], capture_output=True, timeout=10)
        code, stderr = served.stop()
    assert code == 0 and "Traceback" not in stderr, stderr
