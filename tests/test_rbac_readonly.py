"""Least privilege: exactly the rules of deploy/rbac-readonly.yaml are enough for every view and
for `kataview report`; with less granted kataview keeps running and names what is missing."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.demo.sshnode import DemoSSHNode
from kataview.sources.live import LiveSource
from kataview.sources.settings import Settings
from kataview.ui.app import make_app
from kataview.ui.screens.main import MainScreen

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
USER = "system:serviceaccount:kataview:kataview-monitor"
READ_VERBS = {"get", "list", "watch"}


def documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]


def rules_of(name: str, role: str) -> list[dict]:
    return next(doc for doc in documents(name)
                if doc["kind"] == "ClusterRole" and doc["metadata"]["name"] == role)["rules"]


READONLY_RULES = rules_of("rbac-readonly.yaml", "kataview-readonly")


@pytest.fixture(autouse=True)
def isolated_state(isolated_home):
    return isolated_home


@pytest.fixture
def cluster(tmp_path):
    """(server, kubeconfig of the monitor ServiceAccount); the caller loads its rules."""
    with serve_in_thread(classic_objects(), users={"tok-admin-0001": "admin",
                                                   "tok-monitor-0001": USER}) as server:
        yield server, server.write_kubeconfig(tmp_path / "kubeconfig", user_token="tok-monitor-0001")


def test_the_readonly_role_only_reads_and_is_bound_to_the_service_account():
    docs = {(doc["kind"], doc["metadata"]["name"]): doc for doc in documents("rbac-readonly.yaml")}
    assert ("ServiceAccount", "kataview-monitor") in docs
    binding = docs[("ClusterRoleBinding", "kataview-readonly")]
    assert binding["roleRef"]["name"] == "kataview-readonly"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kataview-monitor",
                                    "namespace": "kataview"}]
    granted = {(group, resource) for rule in READONLY_RULES for group in rule["apiGroups"]
               for resource in rule["resources"]}
    assert granted == {("", "nodes"), ("", "pods"), ("", "events"), ("", "namespaces"),
                       ("node.k8s.io", "runtimeclasses"), ("networking.k8s.io", "networkpolicies")}
    assert all(set(rule["verbs"]) == READ_VERBS for rule in READONLY_RULES)
    # the setup role holds the write verbs and is bound by nobody in either file
    setup = rules_of("rbac-setup.yaml", "kataview-setup")
    writes = {(resource, verb) for rule in setup for resource in rule["resources"]
              for verb in rule["verbs"] if verb not in READ_VERBS}
    assert writes == {("runtimeclasses", "create"), ("runtimeclasses", "delete"), ("nodes", "patch"),
                      ("pods", "create"), ("pods", "delete"), ("networkpolicies", "create"),
                      ("networkpolicies", "delete")}
    assert not [doc for name in ("rbac-readonly.yaml", "rbac-setup.yaml") for doc in documents(name)
                if doc["kind"].endswith("Binding") and doc["roleRef"]["name"] == "kataview-setup"]


def run_report(kubeconfig: Path, home: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "XDG_STATE_HOME": str(home / "state"),
           "XDG_CONFIG_HOME": str(home / "config")}
    return subprocess.run([sys.executable, "-m", "kataview", "report", "--kubeconfig", str(kubeconfig),
                           *extra], capture_output=True, text=True, timeout=60, env=env)


async def until(pilot, condition, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
    await pilot.pause()


def screen_text(app) -> str:
    """Every visible line of the current screen, as the terminal would show it."""
    from textual.widgets import Static

    from kataview.ui.widgets.virtual_table import VirtualTable

    lines = [str(widget.render()) for widget in app.screen.query(Static)]
    for table in app.screen.query(VirtualTable):
        lines += [table.render_line(y).text for y in range(table.size.height)]
    return "\n".join(lines)


async def visit_every_view(app, pilot) -> dict[str, str]:
    """Main panes, the three detail screens and the log screen; returns their text."""
    seen = {}
    await until(pilot, lambda: app.view is not None and app.view.state.phase == "live"
                and isinstance(app.screen, MainScreen), what="live")
    for key, pane in (("4", "pods"), ("1", "nodes"), ("2", "runtime-classes"), ("3", "findings")):
        await pilot.press(key)
        await pilot.pause(0.1)
        seen[pane] = screen_text(app)
    snapshot = app.view.snapshot
    kata_pod = next(pod for pod in snapshot.pods.values() if pod.runtime_class_name == "kata")
    for kind, key in (("Pod", kata_pod.uid), ("Node", "k8s-worker-untrusted"), ("RuntimeClass", "kata")):
        app.open_object(kind, key)
        await until(pilot, lambda: not isinstance(app.screen, MainScreen), what=f"{kind} screen")
        await pilot.pause(0.3)
        seen[kind] = screen_text(app)
        app.pop_screen()
        await until(pilot, lambda: isinstance(app.screen, MainScreen), what="main again")
    await pilot.press("L")
    await pilot.pause(0.3)
    seen["log"] = screen_text(app)
    await pilot.press("escape")
    return seen


@pytest.fixture
async def node_ssh_config(cluster, tmp_path):
    """The demo's SSH node answering for the cluster's nodes on loopback: the pod view's VM
    panel reaches it through this ssh config, never the nodes' InternalIPs (192.168.122.x)."""
    server, _ = cluster
    node = DemoSSHNode(server.store.list)
    await node.start()
    try:
        yield node.write_client_files(tmp_path / "ssh")["config_files"][0]
    finally:
        await node.stop()


async def test_exactly_the_readonly_rules_are_enough(cluster, tmp_path, node_ssh_config):
    server, kubeconfig = cluster
    server.rbac.load_rules(USER, copy.deepcopy(READONLY_RULES))
    settings = Settings(kubeconfig=str(kubeconfig), read_only=True, ssh_config=node_ssh_config)
    app = make_app(settings, LiveSource(settings, str(kubeconfig)))
    async with app.run_test(size=(200, 50)) as pilot:
        seen = await visit_every_view(app, pilot)
        assert app.view.snapshot.unreadable == {}
    assert "k8s-worker-untrusted" in seen["nodes"] and "kata-qemu" in seen["runtime-classes"]
    assert "kata" in seen["Pod"] and "k8s-worker-untrusted" in seen["Node"]
    assert "unreadable" not in "".join(seen.values())
    result = run_report(kubeconfig, tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["unreadable"] == {} and report["counts"]["nodes"] == 4
    requests = list(server.requests)
    assert requests and {r.user for r in requests if r.verb} == {USER}
    assert [r for r in requests if r.status == 403] == []
    assert {r.verb for r in requests if r.verb} <= READ_VERBS


def without(rules: list[dict], resource: str, verb: str | None = None) -> list[dict]:
    """The rules with `resource` removed (or only its `verb`)."""
    out = []
    for rule in copy.deepcopy(rules):
        if resource in rule["resources"]:
            rest = [r for r in rule["resources"] if r != resource]
            if rest:
                out.append({**rule, "resources": rest})
            if verb is not None:
                out.append({**rule, "resources": [resource],
                            "verbs": [v for v in rule["verbs"] if v != verb]})
        else:
            out.append(rule)
    return out


@pytest.mark.parametrize("resource,verb,missing", [
    ("events", None, "list"),
    ("networkpolicies", None, "list"),
    ("pods", "watch", "watch"),
])
async def test_less_granted_still_runs_and_names_the_missing_permission(cluster, tmp_path, resource,
                                                                        verb, missing):
    server, kubeconfig = cluster
    server.rbac.load_rules(USER, without(READONLY_RULES, resource, verb))
    sentence = (f'cannot {missing} {resource}: RBAC denies "{missing}" on "{resource}" for user '
                f'"{USER}"; grant it with deploy/rbac-readonly.yaml')
    settings = Settings(kubeconfig=str(kubeconfig), read_only=True)
    app = make_app(settings, LiveSource(settings, str(kubeconfig)))
    async with app.run_test(size=(240, 50)) as pilot:
        await until(pilot, lambda: app.view is not None and resource in app.view.snapshot.unreadable,
                    what=f"{resource} unreadable")
        await until(pilot, lambda: app.view.state.synced >= 4, what="the others synced")
        assert sentence in app.view.snapshot.unreadable[resource]
        header = screen_text(app)
        assert f"⚠ 1 kind denied: {resource}" in header.splitlines()[0]  # a state, line 1
        await pilot.press("L")
        await until(pilot, lambda: sentence in screen_text(app), what="the sentence on the log screen")
        if resource == "pods":  # list allowed, watch denied: the listed pods stay on screen
            assert len(app.view.snapshot.pods) == len([o for o in classic_objects() if o["kind"] == "Pod"])
    result = run_report(kubeconfig, tmp_path)
    assert result.returncode == 0, result.stderr
    if missing == "list":
        assert sentence in result.stdout.replace("\n", " ") or sentence in " ".join(result.stdout.split())
        as_json = json.loads(run_report(kubeconfig, tmp_path, "--json").stdout)
        assert sentence in as_json["unreadable"][resource]
        failed = run_report(kubeconfig, tmp_path, "--json", "--fail-on", "warning")
        assert failed.returncode == 1 and f"{resource} unreadable" in failed.stderr
    else:  # the report only lists: it needs no watch
        assert "could not read" not in result.stdout
