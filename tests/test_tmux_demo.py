"""The terminal as a person meets it: `kataview --demo` in a real tmux, keys sent, screen read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import require_part

KATAVIEW = str(Path(sys.executable).with_name("kataview"))


class TmuxSession:
    def __init__(self, tmux: str, name: str, tmp: Path) -> None:
        self.tmux, self.name = tmux, name
        self.socket = str(tmp / "tmux.sock")  # our own server: never touches the user's tmux

    def run(self, *args: str) -> str:
        return subprocess.run([self.tmux, "-S", self.socket, *args], check=True,
                              capture_output=True, text=True, timeout=10).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; screen was:\n{screen}")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)


@pytest.fixture
def tmux_demo(tmp_path):
    tmux = require_part("tmux")
    session = TmuxSession(tmux, f"kvdemo{os.getpid()}", tmp_path)
    (tmp_path / "tmp").mkdir()
    env = (f"env -u COLUMNS -u LINES XDG_STATE_HOME={tmp_path}/state XDG_CONFIG_HOME={tmp_path}/config "
           f"HOME={tmp_path} TMPDIR={tmp_path}/tmp TERM=xterm-256color COLORTERM=truecolor")
    session.run("new-session", "-d", "-s", session.name, "-x", "160", "-y", "48",
                f"{env} {KATAVIEW} --demo; sleep 5")
    try:
        yield session
    finally:
        subprocess.run([tmux, "-S", session.socket, "kill-server"], capture_output=True, timeout=10)


def test_demo_shows_runtimes_and_opens_a_pod(tmux_demo):
    tmux_demo.wait_for("live")
    # At 160x48 every pane is on screen at once (at 80x24 only the focused one is).
    screen = tmux_demo.wait_for("Pods by runtime (")
    assert "kataview-demo" in screen
    for pane in ("Nodes", "RuntimeClasses", "Findings", "Pods by runtime"):
        assert pane in screen
    assert "runc (default)" in screen and "k8s-worker-untrusted" in screen
    # The demo moves: the pod DemoMotion adds shows up as Running within seconds.
    tmux_demo.wait_for("nginx-untrusted-5b7c9f8d6c-demo1")
    # Findings pane, first finding (the stuck kata-fc pod): Enter opens the finding, whose first
    # object is the pod; Enter there opens the pod with its event.
    tmux_demo.keys("3")
    time.sleep(0.5)  # the focus moves on the next refresh: Enter before it would open a pod
    tmux_demo.keys("Enter")
    tmux_demo.wait_for("Objects involved")
    tmux_demo.keys("Enter")
    detail = tmux_demo.wait_for("Recent events")
    assert "FailedCreatePodSandBox" in detail and 'no runtime for "k' in detail
    assert "nginx-kata-fc" in detail
    tmux_demo.keys("Escape")
    tmux_demo.wait_for("Objects involved")
    time.sleep(0.3)
    tmux_demo.keys("Escape")
    tmux_demo.wait_for("Pods by runtime")
    tmux_demo.keys("?")
    help_screen = tmux_demo.wait_for("filter")
    assert "quit" in help_screen.lower()
    tmux_demo.keys("Escape")
    # A key right after Escape would arrive as Alt+key, as in any terminal: wait for the screen.
    tmux_demo.wait_for("Pods by runtime (")
    time.sleep(0.3)
    tmux_demo.keys("q")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "kataview-demo" in tmux_demo.screen():
        time.sleep(0.2)
    assert "kataview-demo" not in tmux_demo.screen(), "q did not quit the app"


def kataview_pid(session: TmuxSession) -> int:
    """The pane runs `sh -c "env ... kataview --demo; sleep 5"`: kataview is the shell's child
    (env execs it)."""
    shell = int(session.run("display-message", "-p", "-t", session.name, "#{pane_pid}").strip())
    children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def running(pid: int) -> bool:
    """Not ended and not a zombie waiting for its parent (an orphan's parent here may be a
    PID 1 that does not reap)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("how", ["SIGTERM", "terminal closed"])
def test_a_signal_ends_the_demo_and_removes_its_temp_files(tmux_demo, tmp_path, how):
    tmux_demo.wait_for("Pods by runtime (")
    temp = tmp_path / "tmp"
    assert any(entry.name.startswith("kataview-demo-") for entry in temp.iterdir())
    pid = kataview_pid(tmux_demo)
    if how == "SIGTERM":
        os.kill(pid, signal.SIGTERM)
    else:  # the tmux server goes away: the pane's processes get SIGHUP, as when a terminal closes
        tmux_demo.run("kill-server")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and running(pid):
        time.sleep(0.1)
    if running(pid):
        os.kill(pid, signal.SIGKILL)  # ours: never leave it behind, even when the test fails
        raise AssertionError(f"kataview ({pid}) still ran 15 s after {how}")
    left = [entry.name for entry in temp.iterdir()]
    assert left == [], f"left behind in TMPDIR: {left}"
