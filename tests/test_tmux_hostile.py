"""Hostile cluster data in a real terminal (issue 13, finding 1): `kataview --demo` whose
objects a tenant and a kubelet poisoned (tests/hostile_demo.py: OSC 52 clipboard writes,
title changes, screen clears in images, labels, messages, nodeInfo, and in the Kata kernel
path the demo's node shows over SSH), then `kataview vm` on it, in tmux with the clipboard
enabled. Everything the app writes is recorded (pipe-pane): no clipboard write, no title
change, no screen clear arrives from the main screen, a pod's detail (with its VM panel), a
node's detail (with its VM list) or `vm`; the hostile strings are on screen, made visible."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import require_part

DRIVER = [sys.executable, str(Path(__file__).with_name("hostile_demo.py"))]
ATTACKS = {b"\x1b]52;": "clipboard write (OSC 52)", b"\x1b]0;": "title change (OSC 0)",
           b"\x1b]2;": "title change (OSC 2)", b"\x1b[2J": "screen clear"}


class Terminal:
    def __init__(self, tmux: str, tmp: Path) -> None:
        self.tmux, self.tmp, self.name = tmux, tmp, f"kvhostile{os.getpid()}"
        self.socket, self.raw = str(tmp / "tmux.sock"), tmp / "raw.log"

    def run(self, *args: str) -> str:
        return subprocess.run([self.tmux, "-S", self.socket, *args], check=True, capture_output=True,
                              text=True, timeout=10).stdout

    def start(self, command: list[str]) -> None:
        home = self.tmp / "home"
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        env = (f"env -u COLUMNS -u LINES HOME={home} XDG_STATE_HOME={home}/state XDG_CONFIG_HOME={home}/config "
               f"TMPDIR={home}/tmp TERM=xterm-256color")
        self.run("new-session", "-d", "-s", self.name, "-x", "160", "-y", "100", f"{env} {' '.join(command)}; sleep 30")
        self.run("set-option", "-g", "set-clipboard", "on")  # OSC 52 would fill a paste buffer
        self.run("pipe-pane", "-o", "-t", self.name, f"cat >> {self.raw}")

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; screen was:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", self.name, key)
            time.sleep(0.3)

    def title(self) -> str:
        return self.run("display-message", "-p", "-t", self.name, "#{pane_title}").strip()

    def attacks_seen(self) -> list[str]:
        data = self.raw.read_bytes() if self.raw.exists() else b""
        return [what for sequence, what in ATTACKS.items() if sequence in data]

    def stop(self) -> None:
        subprocess.run([self.tmux, "-S", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(require_part("tmux"), tmp_path)
    try:
        yield term
    finally:
        term.stop()


def test_hostile_cluster_reaches_the_terminal_only_as_visible_text(terminal):
    terminal.start(DRIVER)
    title = terminal.title()
    main = terminal.wait_for("Pods by runtime (")
    terminal.wait_for("live")
    assert "␛]52;c;" in terminal.wait_for("␛]52;c;")  # the nodes pane shows a taint's value
    terminal.keys("/", "nginx-kata-qemu", "Enter", "Enter")
    pod = terminal.wait_for("vmlinux␛]52;c;")  # the VM panel: the kernel path read over SSH
    assert "docker.io/library/nginx:1.27.3␛]52;c;" in pod
    terminal.keys("Escape")
    terminal.wait_for("Pods by runtime (")
    terminal.keys("1", "/", "k8s-worker-kata", "Enter", "Enter")
    node = terminal.wait_for("Node k8s-worker-kata")
    assert "containerd 1.7.22␛]52;c;" in node
    terminal.wait_for("Kata VMs on this node (")  # listed over SSH
    assert terminal.attacks_seen() == [] and terminal.title() == title, main
    assert terminal.run("list-buffers") == ""  # no clipboard write reached tmux
    terminal.keys("q")


def test_vm_text_of_a_hostile_node_is_visible_only(terminal):
    terminal.start([*DRIVER, "vm"])
    title = terminal.title()
    out = terminal.wait_for("Kernel:")
    assert "vmlinux␛]52;c;" in out
    assert terminal.attacks_seen() == [] and terminal.title() == title
    assert terminal.run("list-buffers") == ""
