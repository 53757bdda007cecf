"""`kataview report` end to end: the real CLI process against the API server double."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.model.exit_codes import Exit
from kataview.sources.live import LiveSource
from kataview.sources.settings import Settings

KATAVIEW = [sys.executable, "-m", "kataview"]


def run_kataview(*args: str, env_home: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {"HOME": str(env_home), "PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(env_home / "config"),
           "XDG_STATE_HOME": str(env_home / "state")}
    return subprocess.run([*KATAVIEW, *args], capture_output=True, text=True, timeout=timeout, env=env)


def pods_by_class(objects: list[dict]) -> dict[str | None, int]:
    counts: dict[str | None, int] = {}
    for obj in objects:
        if obj.get("kind") == "Pod":
            name = obj["spec"].get("runtimeClassName")
            counts[name] = counts.get(name, 0) + 1
    return counts


@pytest.fixture
def served(tmp_path):
    objects = classic_objects()
    with serve_in_thread(objects) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        yield server, kubeconfig, objects


def test_report_json_matches_the_cluster(served, tmp_path):
    server, kubeconfig, objects = served
    result = run_kataview("report", "--kubeconfig", str(kubeconfig), "--json", env_home=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["apiVersion"] == "kataview.report/v1"
    assert report["context"] == "kataview-demo"
    assert report["server"] == server.url
    node_names = {o["metadata"]["name"] for o in objects if o["kind"] == "Node"}
    assert {n["name"] for n in report["nodes"]} == node_names
    assert report["counts"]["pods"] == sum(pods_by_class(objects).values())
    runtimes = {g["runtime"]: g["pods"] for g in report["podsByRuntime"]}
    assert runtimes["runc (default)"] == pods_by_class(objects).get(None, 0) - sum(
        1 for o in objects if o["kind"] == "Pod" and not o["spec"].get("runtimeClassName")
        and o["metadata"].get("annotations", {}).get("io.kubernetes.cri.untrusted-workload") == "true")
    kata = next(rc for rc in report["runtimeClasses"] if rc["name"] == "kata")
    assert kata["handler"] == "kata" and kata["pods"] == pods_by_class(objects)["kata"]
    able = {n["name"] for n in kata["nodes"] if n["canRun"]}
    assert "k8s-worker-untrusted" in able and "k8s-worker" not in able
    untrusted = next(n for n in report["nodes"] if n["name"] == "k8s-worker-untrusted")
    assert "kata" in untrusted["handlers"]
    assert any(t.startswith("example.org/workload=untrusted:NoSchedule") for t in untrusted["taints"])
    assert report["findings"], "the demo cluster has a stuck pod; a finding must say so"
    assert report["unreadable"] == {}


def test_report_sends_only_reads(served, tmp_path):
    server, kubeconfig, _ = served
    server.requests.clear()
    result = run_kataview("report", "--kubeconfig", str(kubeconfig), env_home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "k8s-worker-untrusted" in result.stdout
    methods = {request.method for request in server.requests}
    assert methods == {"GET"}
    assert any("limit=500" in f"{r.path}?{'&'.join(f'{k}={v}' for k, v in r.query.items())}"
               for r in server.requests), "lists must be paginated"


def test_watch_session_sends_only_reads(served):
    server, kubeconfig, _ = served
    server.requests.clear()
    snapshots = []

    async def watch_a_while():
        source = LiveSource(Settings(read_only=True), str(kubeconfig))
        task = asyncio.create_task(source.run(lambda snapshot, state: snapshots.append(state)))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(s.phase == "live" for s in snapshots):
            await asyncio.sleep(0.05)
        server.store.delete("Pod", "default", next(
            o["metadata"]["name"] for o in classic_objects() if o["kind"] == "Pod"
            and o["metadata"]["namespace"] == "default"))
        await asyncio.sleep(0.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(watch_a_while())
    assert any(s.phase == "live" for s in snapshots)
    assert any(r.query.get("watch") in ("1", "true") for r in server.requests)
    assert {r.method for r in server.requests} == {"GET"}


def test_report_names_what_rbac_denies(served, tmp_path):
    server, kubeconfig, _ = served
    server.rbac.deny("events")
    result = run_kataview("report", "--kubeconfig", str(kubeconfig), "--json", env_home=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["unreadable"]) == {"events"}
    assert "forbidden" in report["unreadable"]["events"]
    assert report["nodes"] and report["runtimeClasses"]


def test_missing_kubeconfig_is_one_line_exit_4(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = run_kataview("report", "--kubeconfig", str(missing), env_home=tmp_path)
    assert result.returncode == Exit.CONFIG
    assert str(missing) in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_context_is_one_line_exit_4(served, tmp_path):
    _, kubeconfig, _ = served
    result = run_kataview("report", "--kubeconfig", str(kubeconfig), "--context", "prod-eu", env_home=tmp_path)
    assert result.returncode == Exit.CONFIG
    assert "prod-eu" in result.stderr and "kataview-demo" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_kubeconfig_names_the_file(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nclusters: [\n  - name: x\n")
    result = run_kataview("report", "--kubeconfig", str(broken), env_home=tmp_path)
    assert result.returncode == Exit.CONFIG
    assert str(broken) in result.stderr and "Traceback" not in result.stderr


def test_unreachable_server_names_the_url_within_the_timeout(served, tmp_path):
    server, kubeconfig, _ = served
    closed_port = server.url.rsplit(":", 1)[1]
    text = kubeconfig.read_text().replace(f":{closed_port}", ":9")  # discard port: nothing listens
    dead = tmp_path / "dead.yaml"
    dead.write_text(text)
    started = time.monotonic()
    result = run_kataview("report", "--kubeconfig", str(dead), "--request-timeout", "2", env_home=tmp_path)
    assert result.returncode == Exit.UNREACHABLE
    assert "https://127.0.0.1:9" in result.stderr
    assert time.monotonic() - started < 15
    assert "Traceback" not in result.stderr


def test_report_on_the_embedded_demo(tmp_path):
    result = run_kataview("report", "--demo", "--json", env_home=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["context"] == "kataview-demo"
    assert {g["runtime"] for g in report["podsByRuntime"]} >= {"runc (default)", "kata"}
