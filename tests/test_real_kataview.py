"""kataview on the real kube-apiserver (issue 14.5): the TUI in tmux follows kubectl's changes,
RBAC as deploy/rbac-readonly.yaml grants it (a ServiceAccount token from TokenRequest), and
--read-only proven by the server's audit log. These share the session's control plane; the
outage tests (apiserver restart, etcd compaction) are in test_real_outage.py."""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import require_part
from test_rbac_readonly import READONLY_RULES, USER, screen_text, until, visit_every_view, without
from test_tmux_demo import KATAVIEW, TmuxSession

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
READ_VERBS = {"get", "list", "watch"}


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return {**env, "HOME": str(home), "XDG_STATE_HOME": str(home / "state"),
            "XDG_CONFIG_HOME": str(home / "config")}


def kubectl(kubeconfig: Path, tmp: Path, *args: str, stdin: str | None = None) -> str:
    binary = require_part("kubectl", "/usr/bin/kubectl", "kubectl")
    done = subprocess.run([binary, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp / "kubectl-cache"),
                           *args], input=stdin, capture_output=True, text=True, timeout=60,
                          env=clean_env(tmp))
    assert done.returncode == 0, done.stderr
    return done.stdout


def report(kubeconfig: Path, home: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kataview", "report", "--kubeconfig", str(kubeconfig),
                           *flags], capture_output=True, text=True, timeout=120, env=clean_env(home))


@contextlib.contextmanager
def tmux_kataview(tmp: Path, kubeconfig: Path, *flags: str, size=(200, 60)):
    tmux = require_part("tmux")
    session = TmuxSession(tmux, f"kvreal{os.getpid()}", tmp)
    (tmp / "tmp").mkdir(exist_ok=True)
    env = (f"env -u COLUMNS -u LINES -u KUBECONFIG XDG_STATE_HOME={tmp}/state "
           f"XDG_CONFIG_HOME={tmp}/config HOME={tmp} TMPDIR={tmp}/tmp TERM=xterm-256color")
    session.run("new-session", "-d", "-s", session.name, "-x", str(size[0]), "-y", str(size[1]),
                f"{env} {KATAVIEW} {' '.join(flags)} --kubeconfig {kubeconfig}; sleep 5")
    try:
        yield session
    finally:
        subprocess.run([tmux, "-S", session.socket, "kill-server"], capture_output=True, timeout=10)


def wait_gone(session: TmuxSession, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and text in session.screen():
        time.sleep(0.2)
    assert text not in session.screen(), session.screen()


def wait_changed(session: TmuxSession, before: str, what: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = session.screen()
        if screen != before and "─ 1 Nodes (" not in screen:  # the main screen is gone
            return screen
        time.sleep(0.2)
    raise AssertionError(f"no detail screen opened from pane {what}; before:\n{before}\n"
                         f"now:\n{session.screen()}")


def test_nodes_of_the_real_server_are_on_loopback(demo_cluster, control_plane):
    """The apiserver dials nodes' InternalIPs (logs, exec, proxy): only loopback may be there."""
    nodes = control_plane.request("GET", "/api/v1/nodes")["items"]
    addresses = [a["address"] for n in nodes for a in n["status"]["addresses"]
                 if a["type"] in ("InternalIP", "ExternalIP")]
    assert addresses and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def peers_of(pid: int) -> set[str]:
    """Remote IPv4/IPv6 addresses of every TCP socket the process holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    peers = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] not in inodes:
                continue
            raw = bytes.fromhex(fields[2].split(":")[0])
            # /proc prints each 32-bit word in host (little-endian) order
            packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            address = ipaddress.ip_address(packed)
            if not address.is_unspecified:
                peers.add(str(getattr(address, "ipv4_mapped", None) or address))
    return peers


PROBE_POD = """apiVersion: v1
kind: Pod
metadata: {name: tui-probe, namespace: default}
spec:
  nodeName: k8s-worker
  containers: [{name: c, image: busybox}]
"""


def test_the_tui_shows_the_scenario_and_follows_kubectl(demo_cluster, control_plane, tmp_path):
    kubeconfig = control_plane.kubeconfig
    with tmux_kataview(tmp_path, kubeconfig) as session:
        session.wait_for("live", 40)
        screen = session.wait_for("Pods by runtime (")
        for text in ("k8s-worker-untrusted", "kata-qemu", "gvisor-sandbox", "kataview-real"):
            assert text in screen, text
        assert "tui-probe" not in screen
        kubectl(kubeconfig, tmp_path, "apply", "-f", "-", stdin=PROBE_POD)
        session.wait_for("tui-probe")
        kubectl(kubeconfig, tmp_path, "delete", "pod", "tui-probe", "-n", "default",
                "--grace-period=0", "--force")
        wait_gone(session, "tui-probe")
        assert "live" in session.screen()


# -- RBAC and read-only -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def monitor(demo_cluster, control_plane, tmp_path_factory):
    """deploy/rbac-readonly.yaml applied with kubectl; the ServiceAccount's kubeconfig (a
    TokenRequest token). The role is put back as the file has it at the end."""
    tmp = tmp_path_factory.mktemp("monitor")
    kubectl(control_plane.kubeconfig, tmp, "apply", "-f", str(DEPLOY / "rbac-readonly.yaml"))
    kubeconfig = control_plane.service_account_kubeconfig("kataview", "kataview-monitor")
    yield kubeconfig, tmp
    kubectl(control_plane.kubeconfig, tmp, "apply", "-f", str(DEPLOY / "rbac-readonly.yaml"))


def set_readonly_rules(control_plane, tmp: Path, rules: list[dict]) -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "kataview-readonly"}, "rules": rules}
    kubectl(control_plane.kubeconfig, tmp, "apply", "-f", "-", stdin=yaml.safe_dump(role))


def monitor_events(control_plane) -> list[dict]:
    return [e for e in control_plane.audit_events() if e["user"]["username"] == USER]


async def test_the_monitor_role_is_enough_on_the_real_server(monitor, control_plane, tmp_path,
                                                            isolated_home):
    from kataview.sources.live import LiveSource
    from kataview.sources.settings import Settings
    from kataview.ui.app import make_app

    kubeconfig, _ = monitor
    settings = Settings(kubeconfig=str(kubeconfig), read_only=True)
    app = make_app(settings, LiveSource(settings, str(kubeconfig)))
    async with app.run_test(size=(200, 50)) as pilot:
        seen = await visit_every_view(app, pilot)
        assert app.view.snapshot.unreadable == {}
    assert "k8s-worker-untrusted" in seen["nodes"] and "kata-qemu" in seen["runtime-classes"]
    result = report(kubeconfig, tmp_path, "--json")
    assert result.returncode in (0, 1), result.stderr
    assert json.loads(result.stdout)["unreadable"] == {}
    denied = [e for e in monitor_events(control_plane) if e["responseStatus"]["code"] == 403]
    assert denied == []


async def test_without_watch_on_pods_the_real_403_is_named(monitor, control_plane, tmp_path,
                                                           isolated_home):
    from kataview.sources.live import LiveSource
    from kataview.sources.settings import Settings
    from kataview.ui.app import make_app

    kubeconfig, tmp = monitor
    set_readonly_rules(control_plane, tmp, without(copy.deepcopy(READONLY_RULES), "pods", "watch"))
    sentence = ('cannot watch pods: RBAC denies "watch" on "pods" for user '
                f'"{USER}"; grant it with deploy/rbac-readonly.yaml')
    try:
        settings = Settings(kubeconfig=str(kubeconfig), read_only=True)
        app = make_app(settings, LiveSource(settings, str(kubeconfig)))
        async with app.run_test(size=(240, 50)) as pilot:
            await until(pilot, lambda: app.view is not None and "pods" in app.view.snapshot.unreadable,
                        timeout=30, what="pods unreadable")
            assert sentence in app.view.snapshot.unreadable["pods"]
            assert "1 kind denied: pods" in screen_text(app)  # the header, as the README says
            assert len(app.view.snapshot.pods) >= 14  # listed, still shown
        refused = [e for e in monitor_events(control_plane)
                   if e["responseStatus"]["code"] == 403 and e["verb"] == "watch"]
        assert refused and all(e["objectRef"]["resource"] == "pods" for e in refused)
    finally:
        set_readonly_rules(control_plane, tmp, copy.deepcopy(READONLY_RULES))


def test_read_only_is_proven_by_the_audit_log(monitor, control_plane, tmp_path):
    """Every pane, every detail screen, the filter and the log screen of `kataview
    --read-only` in tmux, then `report`: the server saw only get, list and watch from it."""
    kubeconfig, _ = monitor
    before = len(monitor_events(control_plane))
    with tmux_kataview(tmp_path, kubeconfig, "--read-only") as session:
        session.wait_for("live", 40)
        session.wait_for("Pods by runtime (")
        for pane in ("1", "2", "3", "4"):
            session.keys(pane)
            time.sleep(0.5)
            main = session.screen()
            session.keys("Enter")  # the detail screen of the pane's first row
            wait_changed(session, main, pane)
            session.keys("Escape")
            session.wait_for("Pods by runtime (")
            time.sleep(0.3)
        session.keys("/")
        time.sleep(0.3)
        session.keys("kata")
        time.sleep(0.5)
        session.keys("Enter")
        time.sleep(0.5)
        session.keys("Escape")
        time.sleep(0.3)
        session.keys("L")
        session.wait_for("kataview", 10)
        session.keys("Escape")
        time.sleep(0.3)
        session.keys("q")
    done = report(kubeconfig, tmp_path, "--read-only")
    assert done.returncode in (0, 1), done.stderr
    events = monitor_events(control_plane)[before:]
    verbs = {e["verb"] for e in events}
    assert {"list", "watch"} <= verbs, verbs
    writes = [(e["verb"], e["requestURI"]) for e in events if e["verb"] not in READ_VERBS]
    assert writes == []


def test_the_control_plane_talks_to_loopback_only(demo_cluster, control_plane):
    """The Go binaries are outside the Python egress fence: what they are connected to, after
    the scenario was loaded and other tests ran, is on loopback."""
    for name, process in control_plane.processes.items():
        peers = peers_of(process.pid)
        assert peers, name  # at least the apiserver <-> etcd connection
        assert all(ipaddress.ip_address(p).is_loopback for p in peers), (name, peers)
