"""`kataview vm NAMESPACE/POD --demo [--json]` as a real process: the embedded demo cluster
says where the pod runs, and the demo's SSH node (an in-process asyncssh server on loopback,
reached through a throw-away ssh config, client key and known_hosts) answers for its node.
No cluster, no ~/.ssh, no network beyond loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kataview.demo.scenario import classic_objects
from kataview.model.exit_codes import Exit

KATAVIEW = [sys.executable, "-m", "kataview"]


def run_kataview(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_STATE_HOME": str(home / "state")}  # no SSH_AUTH_SOCK, no KUBECONFIG
    return subprocess.run([*KATAVIEW, *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=str(home))


def demo_pod(runtime_class: str, namespace: str | None = None) -> dict:
    return next(o for o in classic_objects() if o["kind"] == "Pod"
                and o["spec"].get("runtimeClassName") == runtime_class
                and (namespace is None or o["metadata"]["namespace"] == namespace))


@pytest.fixture
def home(tmp_path) -> Path:
    (tmp_path / ".ssh").mkdir()
    return tmp_path


def test_vm_demo_json_is_the_untrusted_pods_qemu(home):
    pod = demo_pod("kata", "untrusted")
    meta = pod["metadata"]
    done = run_kataview("vm", f"untrusted/{meta['name']}", "--demo", "--json", home=home)
    assert done.returncode == 0, done.stderr
    detail = json.loads(done.stdout)
    assert detail["node"] == pod["spec"]["nodeName"] == "k8s-worker-untrusted"
    sandbox = detail["sandbox"]
    assert (sandbox["podNamespace"], sandbox["podName"], sandbox["podUid"]) == \
        ("untrusted", meta["name"], meta["uid"])
    assert sandbox["foundBy"] == "crictl" and len(sandbox["id"]) == 64
    assert (detail["hypervisor"], detail["vcpusBoot"], detail["vcpusMax"], detail["memoryMib"]) == ("qemu", 1, 8, 2048)
    assert detail["binary"].endswith("/qemu-system-x86_64") and detail["machine"] == "q35"
    assert detail["sharedFs"] == "virtio-fs" and len(detail["virtiofsdPids"]) == 2
    assert detail["pid"] and detail["shimPid"] and detail["hostRssKib"] > 0
    assert detail["guest"]["memTotalBytes"] > 0 and detail["guestError"] is None
    assert not list((home / ".ssh").iterdir())  # nothing written to the (fake) home's ~/.ssh


def test_vm_demo_text_for_cloud_hypervisor_and_the_global_flag(home):
    name = demo_pod("kata-clh")["metadata"]["name"]
    done = run_kataview("--demo", "vm", f"sandboxed/{name}", home=home)
    assert done.returncode == 0, done.stderr
    assert "Hypervisor: cloud-hypervisor" in done.stdout and "found by crictl" in done.stdout


def test_vm_demo_errors_are_one_line(home):
    missing = run_kataview("vm", "untrusted/no-such-pod", "--demo", home=home)
    assert missing.returncode == Exit.NOT_FOUND and missing.stderr.strip() == "kataview vm: pod untrusted/no-such-pod not found"
    gvisor = run_kataview("vm", "sandboxed/gvisor-sandbox", "--demo", home=home)
    assert gvisor.returncode == Exit.NODE_FAILED and "no hypervisor or Kata shim" in gvisor.stderr
    assert "Traceback" not in gvisor.stderr
