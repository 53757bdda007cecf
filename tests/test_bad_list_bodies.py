"""Nothing silent (issue 13.6): objects the server sent that cannot be decoded are counted
and shown (report JSON and text, --fail-on warning, the TUI header); a LIST answered with an
HTML page, JSON cut short or bytes that are no JSON gives one clear line and the API-error
exit code in `report` (no traceback), and a clear state in the TUI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kataview.cli.report import failing
from kataview.demo.apiserver import ApiServerDouble, serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.kube.cluster import ClusterWatcher, fetch_once
from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.informer import Backoff
from kataview.model.exit_codes import Exit

from test_kube_informer import until


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)


def run(kubeconfig: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "XDG_STATE_HOME": str(home / "state"),
           "XDG_CONFIG_HOME": str(home / "config")}
    return subprocess.run([sys.executable, "-m", "kataview", "report", "--kubeconfig",
                           str(kubeconfig), *args], capture_output=True, text=True, timeout=60,
                          env=env)


def test_undecodable_items_are_counted_shown_and_fail_a_warning(tmp_path):
    objects = classic_objects()
    nodes = sum(1 for o in objects if o["kind"] == "Node")
    classes = sum(1 for o in objects if o["kind"] == "RuntimeClass")
    with serve_in_thread(objects) as server:
        server.faults.list_body("nodes", "bad-item")
        server.faults.list_body("runtimeclasses", "bad-item")
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        as_json = run(kubeconfig, tmp_path, "--json")
        text = run(kubeconfig, tmp_path)
    report = json.loads(as_json.stdout)
    assert report["counts"]["nodes"] == nodes and report["counts"]["runtimeClasses"] == classes
    assert report["skipped"] == {"nodes": 1, "runtimeclasses": 1}
    assert as_json.returncode == Exit.OK
    assert "could not decode 1 of the nodes the server sent" in text.stdout


def test_undecodable_items_fail_a_warning_only():
    report = {"findings": [], "unreadable": {}, "skipped": {"nodes": 1}}
    assert failing(report, "warning") == ["1 nodes undecodable"]
    assert failing(report, "error") == []


@pytest.mark.parametrize("body, says", [
    ("html", "answered with an HTML page"),
    ("truncated", "answered with JSON cut short"),
    ("garbage", "answered with a body that is not JSON"),
])
def test_a_list_body_that_is_no_list_is_one_line_and_an_api_error(tmp_path, body, says):
    with serve_in_thread(classic_objects()) as server:
        server.faults.list_body("pods", body)
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        result = run(kubeconfig, tmp_path)
    assert result.returncode == Exit.API_ERROR
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert says in lines[0] and "not a list of pods" in lines[0] and "GET /api/v1/pods" in lines[0]


async def test_the_watcher_reports_a_bad_body_and_counts_bad_items(tmp_path):
    async with ApiServerDouble(classic_objects()) as api:
        api.faults.list_body("pods", "html")
        api.faults.list_body("nodes", "bad-item")
        path = api.write_kubeconfig(tmp_path / "kubeconfig")
        async with await connect(ConnectionSettings(str(path), None)) as connection:
            watcher = ClusterWatcher(connection, informer_options={  # bad LIST bodies: by pages
                "backoff": Backoff(initial=0.1, cap=0.2), "watch_list": False})
            async with watcher:
                await until(lambda: watcher.informers["pods"].failures
                            and watcher.informers["nodes"].synced, what="the faults")
                state, snapshot = watcher.state(), watcher.build_snapshot()
            assert state.phase in ("reconnecting", "stale")
            assert "answered with an HTML page" in state.errors["pods"]
            assert snapshot.skipped == {"nodes": 1}
            # fetch_once (the report's path) counts the same way
            api.faults.list_body("pods", None)
            once = await fetch_once(connection)
            assert once.skipped == {"nodes": 1}
