"""y, d and l in a real terminal: kataview (--read-only) in tmux against `kataview demo --serve`,
a separate process; the YAML, describe and the container log come from the double's GETs
(pods/NAME and pods/NAME/log) over HTTPS, through kataview's read-only transport."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import require_part
from kataview.demo.scenario import classic_objects
from test_tmux_demo import KATAVIEW, TmuxSession


@pytest.fixture
def served_demo(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
           "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "kataview", "demo", "--serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kubeconfig = None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and kubeconfig is None:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("kubeconfig: "):
                kubeconfig = line.split(": ", 1)[1].strip()
        assert kubeconfig, "demo --serve printed no kubeconfig"
        yield kubeconfig
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()


@pytest.fixture
def tmux_kataview(tmp_path, served_demo):
    tmux = require_part("tmux")
    session = TmuxSession(tmux, f"kvread{os.getpid()}", tmp_path)
    env = (f"env -u COLUMNS -u LINES XDG_STATE_HOME={tmp_path}/state XDG_CONFIG_HOME={tmp_path}/config "
           f"HOME={tmp_path} TERM=xterm-256color COLORTERM=truecolor")
    session.run("new-session", "-d", "-s", session.name, "-x", "160", "-y", "48",
                f"{env} {KATAVIEW} --kubeconfig {served_demo} --read-only; sleep 5")
    try:
        yield session
    finally:
        subprocess.run([tmux, "-S", session.socket, "kill-server"], capture_output=True, timeout=10)


def restarted_pod_name() -> str:
    for obj in classic_objects():
        if obj.get("kind") == "Pod" and any(s.get("restartCount") for s in obj["status"].get("containerStatuses") or ()):
            return obj["metadata"]["name"]
    raise AssertionError("the demo scenario has no restarted pod")


def lines_shown(screen: str) -> int:
    found = re.search(r"([\d,]+) lines?\b", screen)
    return int(found.group(1).replace(",", "")) if found else -1


def field_closed(session: TmuxSession, timeout: float = 30.0) -> None:
    """Wait until the filter or search field (a tall border at the bottom) has taken its Enter:
    a key sent before that would be typed into it (seen on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while "▁▁▁▁▁" in session.screen() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "▁▁▁▁▁" not in session.screen(), session.screen()
    time.sleep(0.2)


def back_to_main(session: TmuxSession) -> None:
    session.keys("Escape")
    session.wait_for("Pods by runtime (")
    time.sleep(0.3)  # a key right after Escape would arrive as Alt+key


def test_y_d_l_against_demo_serve(tmux_kataview):
    session = tmux_kataview
    name = restarted_pod_name()
    session.wait_for("live", 60)
    session.wait_for("Pods by runtime (", 30)
    session.keys("/")
    time.sleep(0.3)
    session.keys(name, "Enter")
    session.wait_for("(1 of ", 30)
    field_closed(session)

    session.keys("y")
    screen = session.wait_for("kind: Pod", 30)
    assert f"name: {name}" in screen and "managedFields hidden" in screen
    session.keys("/")
    time.sleep(0.3)
    session.keys("runtimeClassName", "Enter")
    screen = session.wait_for("runtimeClassName: kata-qemu")
    field_closed(session)
    assert "/runtimeclassname: 1 of 1" in screen
    back_to_main(session)

    session.keys("d")
    screen = session.wait_for("Restart Reason:")
    # demo --serve restarts this container once more within its first seconds: 3, then 4
    assert re.search(r"Restart Count:\s+[34]\b", screen) and re.search(r"Restart Reason:\s+Error", screen)
    assert "Last State: Terminated" in screen
    back_to_main(session)

    session.keys("l")
    screen = session.wait_for("f follow on, streaming", 30)
    session.wait_for("sidecar: probing http://localhost:80/")  # the double's made-up curl log
    first = lines_shown(session.screen())
    deadline = time.monotonic() + 30
    while lines_shown(session.screen()) <= first and time.monotonic() < deadline:
        time.sleep(0.3)
    assert lines_shown(session.screen()) > first, "no followed line arrived"
    session.keys("p")
    screen = session.wait_for("exiting with status 1")
    assert "previous run" in screen and "p previous on" in screen
    session.keys("c")
    session.wait_for("Enter picks")
    session.keys("Down", "Enter")  # nginx never terminated: the kubelet's 400, in place
    session.wait_for('previous terminated container "nginx"')
    back_to_main(session)
    session.keys("q")
