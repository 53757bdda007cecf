"""Issue 16.2 and 16.1 in a real terminal: kataview in tmux against `kataview demo --serve`
(its kubeconfig has a second context on the same double), driven with `/-l app=...` and
`:ctx` (Tab-completed), the screen read back with capture-pane."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from conftest import require_part
from test_cli_demo_serve import served_demo  # noqa: F401  (the fixture)
from test_tmux_demo import KATAVIEW, TmuxSession


@pytest.fixture
def tmux_on_served_demo(served_demo, tmp_path):  # noqa: F811
    kubeconfig, env, home = served_demo
    tmux = require_part("tmux")
    session = TmuxSession(tmux, f"kvcmd{os.getpid()}", tmp_path)
    shell_env = (f"env -u COLUMNS -u LINES -u KUBECONFIG HOME={home} XDG_STATE_HOME={home}/state "
                 f"XDG_CONFIG_HOME={home}/config TERM=xterm-256color COLORTERM=truecolor")
    session.run("new-session", "-d", "-s", session.name, "-x", "160", "-y", "48",
                f"{shell_env} {KATAVIEW} --kubeconfig {kubeconfig}; sleep 5")
    try:
        yield session
    finally:
        subprocess.run([tmux, "-S", session.socket, "kill-server"], capture_output=True, timeout=10)


def pods_pane(screen: str) -> str:
    """The screen from the pods pane's title down."""
    return screen[screen.index("Pods by runtime ("):]


def settle() -> None:
    time.sleep(0.5)  # a key right after Escape would arrive as Alt+key, as in any terminal


def test_label_filter_and_context_switch_in_tmux(tmux_on_served_demo):
    tmux = tmux_on_served_demo
    tmux.wait_for("● live", timeout=30)
    screen = tmux.wait_for("context kataview-demo ")
    assert "nginx-trusted-" in pods_pane(screen) and "kube-proxy" in pods_pane(screen)

    tmux.keys("/")
    tmux.run("send-keys", "-t", tmux.name, "--", "-l app=nginx-untrusted")  # "--": not a send-keys flag
    tmux.keys("Enter")
    screen = tmux.wait_for("app=nginx-untrusted")
    pane = pods_pane(screen)
    assert "nginx-untrusted-" in pane and "nginx-trusted-" not in pane and "kube-proxy" not in pane
    tmux.keys("Escape")  # clears the kept filter
    settle()
    assert "kube-proxy" in pods_pane(tmux.wait_for("kube-proxy"))

    tmux.keys(":")
    tmux.keys("ctx kataview-demo-")
    tmux.wait_for("ctx kataview-demo-")
    tmux.wait_for("ctx kataview-demo-sandboxed")  # the grey completion is on screen: Tab takes it
    tmux.keys("Tab")
    time.sleep(0.3)
    tmux.keys("Enter")
    screen = tmux.wait_for("context kataview-demo-sandboxed", timeout=20)
    screen = tmux.wait_for("● live", timeout=30)
    assert "kataview-demo-sandboxed" in screen and "kube-proxy" in pods_pane(screen)

    tmux.keys(":")
    tmux.keys("ctx nowhere")
    tmux.keys("Enter")
    screen = tmux.wait_for("context 'nowhere' not found")
    assert "known contexts: kataview-demo, kataview-demo-sandboxed" in screen
    assert "context kataview-demo-sandboxed" in screen  # nothing changed

    tmux.keys(":")
    tmux.keys("q")
    tmux.keys("Enter")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "kataview-demo" in tmux.screen():
        time.sleep(0.2)
    assert "kataview-demo" not in tmux.screen(), ":q did not quit"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
