"""One scenario, two servers (issue 14.3): the demo scenario as loaded into the real kube-apiserver
(nodes on 127.0.1.N) and the same objects served by kataview's API double. kataview's report and
kubectl must print the same thing against both, once server-made fields are normalised away:
uid, resourceVersion, creationTimestamp, generation, managedFields, ages, the server URL and the
kubeconfig's context name (the two kubeconfigs are written by different helpers)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_part

pytestmark = pytest.mark.integration

SERVER_MADE_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")
REPORT_RUN_FIELDS = ("generatedAt", "server", "context")
CELL_GAP = re.compile(r" {3,}")  # kubectl's tabwriter pads cells with at least 3 spaces
KUBECTL_TABLES = [("get", "nodes", "-o", "wide"), ("get", "runtimeclass"), ("get", "pods", "-A")]
KATAVIEW = [sys.executable, "-m", "kataview"]
KUBECTL_JSON = [("get", "nodes", "-o", "json"), ("get", "runtimeclass", "-o", "json"),
                ("get", "pods", "-A", "-o", "json")]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}


def kubectl(kubeconfig: Path, cache: Path, *args: str) -> str:
    binary = require_part("kubectl", "/usr/bin/kubectl", "kubectl")
    done = subprocess.run([binary, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
                          capture_output=True, text=True, timeout=60, env=clean_env())
    assert done.returncode == 0, done.stderr
    return done.stdout


def report_json(kubeconfig: Path, home: Path) -> dict:
    """`kataview report -o json` (or --json, the older spelling, where -o has not landed)."""
    flag = ["-o", "json"] if " -o " in _report_help() else ["--json"]
    env = {**clean_env(), "HOME": str(home), "XDG_STATE_HOME": str(home / "state"),
           "XDG_CONFIG_HOME": str(home / "config")}
    done = subprocess.run([*KATAVIEW, "report", *flag, "--kubeconfig", str(kubeconfig)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def _report_help() -> str:
    return subprocess.run([*KATAVIEW, "report", "--help"], capture_output=True, text=True,
                          timeout=60, env=clean_env()).stdout


def table_cells(text: str) -> list[list[str]]:
    """kubectl's table as cells, the AGE column (server-made: creation time) blanked."""
    rows = [CELL_GAP.split(line.rstrip()) for line in text.splitlines()]
    header = rows[0]
    ages = [i for i, name in enumerate(header) if name == "AGE"]
    return [[("<age>" if i in ages and row is not header else cell) for i, cell in enumerate(row)]
            for row in rows]


def without_server_made(obj):
    """A copy of a kubectl -o json document without what the server makes."""
    if isinstance(obj, list):
        return [without_server_made(item) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in SERVER_MADE_META}
        out[key] = without_server_made(value)
    return out


@pytest.fixture(scope="module")
def two_servers(demo_cluster, control_plane, tmp_path_factory):
    """(real kubeconfig, double kubeconfig, tmp): the double serves exactly the loaded objects."""
    from kataview.demo.apiserver import serve_in_thread

    tmp = tmp_path_factory.mktemp("two-servers")
    with serve_in_thread(demo_cluster.objects) as double:
        yield control_plane.kubeconfig, double.write_kubeconfig(tmp / "double.kubeconfig"), tmp


def test_the_report_is_the_same_on_both(two_servers):
    real, double, tmp = two_servers
    got = {name: report_json(kc, tmp / f"home-{name}") for name, kc in (("real", real), ("double", double))}
    for report in got.values():
        assert report["nodes"] and report["podsByRuntime"]  # something was read
        for key in REPORT_RUN_FIELDS:
            report.pop(key, None)
    assert without_server_made(got["double"]) == without_server_made(got["real"])


@pytest.mark.parametrize("args", KUBECTL_TABLES, ids=lambda a: " ".join(a))
def test_kubectl_tables_are_the_same_on_both(two_servers, args):
    real, double, tmp = two_servers
    tables = {name: table_cells(kubectl(kc, tmp / f"cache-{name}", *args))
              for name, kc in (("real", real), ("double", double))}
    assert len(tables["real"]) > 1
    assert tables["double"] == tables["real"]


@pytest.mark.parametrize("args", KUBECTL_JSON, ids=lambda a: " ".join(a))
def test_kubectl_json_is_the_same_on_both(two_servers, args):
    real, double, tmp = two_servers
    docs = {name: json.loads(kubectl(kc, tmp / f"cache-{name}", *args))
            for name, kc in (("real", real), ("double", double))}
    assert docs["real"]["items"]
    assert without_server_made(docs["double"]) == without_server_made(docs["real"])
