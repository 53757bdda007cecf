"""`kataview demo --serve` (serve_main) as a real process: prints a kubeconfig, serves, moves,
exits 0 on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import ssl
import base64

import yaml

from kataview.demo.serve import serve_main


def _start(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    code = "import sys; from kataview.demo.serve import serve_main; sys.exit(serve_main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, "--serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C"):
            return proc, lines
    proc.kill()
    raise AssertionError(f"serve_main did not come up: {lines} {proc.stderr.read()}")


def _get(kubeconfig: str, path: str) -> dict:
    config = yaml.safe_load(open(kubeconfig))
    cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
    ctx = None
    if "certificate-authority-data" in cluster:
        ctx = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    req = urllib.request.Request(cluster["server"] + path, headers={"Authorization": f"Bearer {user['token']}"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.load(resp)


def test_serve_classic_until_sigterm(tmp_path):
    out = tmp_path / "kc.yaml"
    proc, lines = _start(tmp_path, "--kubeconfig-out", str(out))
    try:
        assert any(line.strip() == f"export KUBECONFIG={out}" for line in lines)
        assert "4 nodes" in lines[0] and lines[0].split()[5].startswith("https://127.0.0.1:")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # DemoMotion adds a pod within ~3 s
            names = [p["metadata"]["name"] for p in _get(str(out), "/api/v1/namespaces/untrusted/pods")["items"]]
            if "nginx-untrusted-5b7c9f8d6c-demo1" in names:
                break
            time.sleep(0.2)
        assert "nginx-untrusted-5b7c9f8d6c-demo1" in names
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_serve_generated_plain_http(tmp_path):
    out = tmp_path / "kc.yaml"
    proc, lines = _start(tmp_path, "--nodes", "20", "--pods", "300", "--plain-http", "--kubeconfig-out", str(out))
    try:
        assert "20 nodes, 300 pods" in lines[0] and "http://127.0.0.1:" in lines[0]
        assert len(_get(str(out), "/api/v1/pods?limit=500")["items"]) == 300
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130  # Ctrl-C, as a shell reports it (README exit codes)


def test_serve_refuses_dot_kube():
    assert serve_main(["--serve", "--kubeconfig-out", os.path.expanduser("~/.kube/config")]) == 2
