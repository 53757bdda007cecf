"""`kataview demo --serve` through the real CLI entry point, used by kubectl and by kataview itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import require_part


@pytest.fixture
def served_demo(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
           "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "kataview", "demo", "--serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kubeconfig = None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("kubeconfig: "):
                kubeconfig = line.split(": ", 1)[1].strip()
            if line.startswith("Ctrl-C"):
                break
        assert kubeconfig, f"no kubeconfig line; stderr: {process.stderr.read() if process.poll() is not None else ''}"
        yield kubeconfig, env, tmp_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()


def kubectl(kubeconfig: str, tmp_path, *args: str) -> str:
    binary = require_part("kubectl")
    result = subprocess.run([binary, "--kubeconfig", kubeconfig, "--cache-dir", str(tmp_path / "cache"), *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_kubectl_and_report_against_demo_serve(served_demo):
    kubeconfig, env, tmp_path = served_demo
    nodes = kubectl(kubeconfig, tmp_path, "get", "nodes", "-o", "wide")
    assert "k8s-worker-untrusted" in nodes and "containerd://" in nodes and "INTERNAL-IP" in nodes
    classes = kubectl(kubeconfig, tmp_path, "get", "runtimeclass")
    assert "HANDLER" in classes and "kata-qemu" in classes
    pods = kubectl(kubeconfig, tmp_path, "get", "pods", "-A")
    assert "nginx-untrusted" in pods and "ContainerCreating" in pods

    report = subprocess.run([sys.executable, "-m", "kataview", "--kubeconfig", kubeconfig, "report", "--json"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    pod_names = {line.split()[1] for line in pods.splitlines()[1:] if line.strip()}
    assert data["counts"]["pods"] == len(pod_names)


def test_kubectl_watch_against_demo_serve(served_demo):
    """DemoMotion changes pods in the first seconds: `kubectl get pods -A -w` must print them."""
    kubeconfig, _env, tmp_path = served_demo
    binary = require_part("kubectl")
    watcher = subprocess.Popen([binary, "--kubeconfig", kubeconfig, "--cache-dir", str(tmp_path / "cache"),
                                "get", "pods", "-A", "-w", "--output-watch-events"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = watcher.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("MODIFIED"):
                break
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
    assert any(line.startswith("ADDED") for line in lines)
    assert any(line.startswith("MODIFIED") for line in lines), "".join(lines)
