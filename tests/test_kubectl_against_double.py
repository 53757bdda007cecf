"""The real kubectl (1.32) against the API server double: discovery, Tables, paging, -w."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import require_part
from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    kubectl = require_part("kubectl", "/usr/bin/kubectl", "kubectl")
    tmp = tmp_path_factory.mktemp("kubectl")
    with serve_in_thread(classic_objects()) as api:
        kubeconfig = api.write_kubeconfig(tmp / "kubeconfig")
        yield api, [kubectl, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp / "cache")]


def run(base: list[str], *args: str) -> list[list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return [line.split() for line in done.stdout.splitlines()]


def test_get_nodes_wide(cluster):
    api, base = cluster
    rows = run(base, "get", "nodes", "-o", "wide")
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
                       "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"k8s-control-plane", "k8s-worker", "k8s-worker-untrusted", "k8s-worker-kata"}
    assert by_name["k8s-control-plane"][1:3] == ["Ready", "control-plane"]
    assert by_name["k8s-worker-untrusted"][5] == "192.168.122.12"
    assert by_name["k8s-worker-kata"][-1] == "containerd://1.7.22"


def test_get_runtimeclasses(cluster):
    api, base = cluster
    rows = run(base, "get", "runtimeclass")
    assert rows[0] == ["NAME", "HANDLER", "AGE"]
    assert {(r[0], r[1]) for r in rows[1:]} == {("kata", "kata"), ("kata-qemu", "kata-qemu"),
                                                ("kata-clh", "kata-clh"), ("kata-fc", "kata-fc"),
                                                ("gvisor", "runsc")}


def test_get_pods_all_namespaces(cluster):
    api, base = cluster
    rows = run(base, "get", "pods", "-A")
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    pods = {r[1]: r for r in rows[1:]}
    assert len(pods) == 14
    trusted = [r for n, r in pods.items() if n.startswith("nginx-trusted-")]
    assert len(trusted) == 2 and all(r[0] == "default" and r[2:4] == ["2/2", "Running"] for r in trusted)
    stuck = next(r for n, r in pods.items() if n.startswith("nginx-kata-fc-"))
    assert stuck[2:4] == ["0/2", "ContainerCreating"]
    table_requests = [r for r in api.requests if r.path == "/api/v1/pods" and r.verb == "list"]
    assert table_requests[-1].query == {"limit": "500"}


def test_get_pods_in_chunks(cluster):
    api, base = cluster
    before = len(api.requests)
    rows = run(base, "get", "pods", "-A", "--chunk-size=2")
    assert len(rows) == 15
    pages = [r for r in api.requests[before:] if r.path == "/api/v1/pods"]
    assert len(pages) == 7 and all(r.query["limit"] == "2" for r in pages)
    assert all("continue" in r.query for r in pages[1:])


def test_get_pods_watch_sees_a_change(cluster):
    api, base = cluster
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    proc = subprocess.Popen([*base, "get", "pods", "-A", "-w"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
    reader.start()
    try:
        seen = _collect(lines, until=lambda ls: len(ls) >= 15)
        assert seen[0].split()[:2] == ["NAMESPACE", "NAME"]
        _wait_for_watch(api)
        pod = next(p for p in api.store.list("Pod", "untrusted"))
        pod["status"]["containerStatuses"][1]["restartCount"] = 7
        api.store.apply(pod)
        name = pod["metadata"]["name"]
        more = _collect(lines, until=lambda ls: any(name in line for line in ls))
        changed = [line.split() for line in more if name in line]
        assert changed[-1][:5] == ["untrusted", name, "2/2", "Running", "7"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)


def _wait_for_watch(api, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(r.verb == "watch" and r.status == 200 for r in api.requests):
            return
        time.sleep(0.05)
    raise AssertionError("kubectl never opened a watch")


def _collect(lines: queue.Queue, until, seconds: float = 20) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + seconds
    while not until(got) and time.monotonic() < deadline:
        try:
            got.append(lines.get(timeout=0.2).rstrip("\n"))
        except queue.Empty:
            continue
    assert until(got), f"kubectl printed {got!r}"
    return got


def test_kubeconfig_is_private_and_self_contained(cluster, tmp_path):
    api, _ = cluster
    path = api.write_kubeconfig(tmp_path / "kc")
    assert (path.stat().st_mode & 0o777) == 0o600
    text = Path(path).read_text()
    assert "certificate-authority-data" in text and api.url in text and api.token in text
