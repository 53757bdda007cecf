"""`kataview report`: the pods array, `-o json|yaml|wide`, server-side selectors, and the
JSON key style it shares with `vm --json`; through the real CLI against the API double."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.model.exit_codes import Exit
from kataview.model.vm import GuestMetrics, Sandbox, VMDetail, vm_detail_json

README = Path(__file__).resolve().parents[1] / "README.md"
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
# maps keyed by data (labels, quantities, group labels, resources), not by field names
DATA_KEYED = {"podsByRuntime", "overhead", "nodeSelector", "unreadable", "skipped", "sources"}


def run(kubeconfig: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "XDG_STATE_HOME": str(home / "state"),
           "XDG_CONFIG_HOME": str(home / "config")}
    return subprocess.run([sys.executable, "-m", "kataview", "report", "--kubeconfig", str(kubeconfig), *args],
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with serve_in_thread(classic_objects()) as server:
        yield server, server.write_kubeconfig(home / "kubeconfig"), home


def report_json(served, *args: str) -> dict:
    _, kubeconfig, home = served
    result = run(kubeconfig, home, *args)
    assert result.returncode == Exit.OK, result.stderr
    return json.loads(result.stdout)


def field_names(value, inside: str = "") -> set[str]:
    if isinstance(value, list):
        return set().union(*(field_names(item, inside) for item in value))
    if not isinstance(value, dict) or inside in DATA_KEYED:
        return set()
    return set(value) | set().union(*(field_names(item, key) for key, item in value.items()))


def test_pods_array_one_entry_per_pod_as_the_tui_shows_it(served):
    report = report_json(served, "-o", "json")
    pods = {(p["namespace"], p["name"]): p for p in report["pods"]}
    objects = [o for o in classic_objects() if o["kind"] == "Pod"]
    assert len(report["pods"]) == len(pods) == len(objects) == report["counts"]["pods"]
    assert list(pods) == sorted(pods)
    for obj in objects:
        pod = pods[(obj["metadata"]["namespace"], obj["metadata"]["name"])]
        assert pod["node"] == obj["spec"].get("nodeName")
        assert pod["runtimeClassName"] == obj["spec"].get("runtimeClassName")
        assert pod["phase"] == obj["status"]["phase"]
    trusted = pods[("default", "nginx-trusted-6d8f7c9b5d-qlb9g")]
    assert (trusted["handler"], trusted["family"], trusted["runtime"], trusted["overhead"]) == \
        (None, "runc", "runc (default)", None)
    stuck = pods[("sandboxed", "nginx-kata-fc-5c4b8d7f96-w5l2g")]
    assert (stuck["status"], stuck["phase"]) == ("ContainerCreating", "Pending")  # STATUS, not the phase
    assert (stuck["handler"], stuck["family"]) == ("kata-fc", "kata")
    gvisor = pods[("sandboxed", "gvisor-sandbox")]
    assert (gvisor["runtimeClassName"], gvisor["handler"], gvisor["family"]) == ("gvisor", "runsc", "gvisor")
    kata = pods[("untrusted", "nginx-untrusted-5b7c9f8d6c-hqkq2")]
    assert kata["overhead"] == {"cpu": "250m", "memory": "160Mi"}
    missing = pods[("legacy", "legacy-sandbox")]
    assert (missing["handler"], missing["runtimeSource"]) == (None, "missing-runtimeclass")
    assert next(g for g in report["podsByRuntime"] if g["runtime"] == "runc (default)")["handler"] is None
    assert (report["apiVersion"], report["kind"]) == ("kataview.report/v1", "Report")


def test_json_alias_and_yaml_say_the_same(served):
    as_json = report_json(served, "--json")
    _, kubeconfig, home = served
    result = run(kubeconfig, home, "-o", "yaml")
    assert result.returncode == Exit.OK, result.stderr
    as_yaml = yaml.safe_load(result.stdout)
    assert as_yaml == {**as_json, "generatedAt": as_yaml["generatedAt"], "server": as_json["server"]}
    assert run(kubeconfig, home, "-o", "json", "--json").returncode == Exit.USAGE


def test_selectors_go_to_the_server(served):
    server = served[0]
    server.requests.clear()
    report = report_json(served, "--json", "-l", "app in (nginx-kata-qemu,gvisor-sandbox)",
                         "--field-selector", "spec.nodeName=k8s-worker-kata")
    assert sorted(p["name"] for p in report["pods"]) == \
        ["gvisor-sandbox", "nginx-kata-qemu-79c5d8b6f4-672sg", "nginx-kata-qemu-79c5d8b6f4-k92l2"]
    assert report["counts"]["nodes"] == 4  # selectors choose pods; the rest is listed whole
    pod_lists = [r for r in server.requests if r.path.endswith("/pods")]
    assert pod_lists and all(r.query.get("labelSelector") == "app in (nginx-kata-qemu,gvisor-sandbox)"
                             and r.query.get("fieldSelector") == "spec.nodeName=k8s-worker-kata"
                             for r in pod_lists)
    _, kubeconfig, home = served
    refused = run(kubeconfig, home, "--field-selector", "spec.nope=x")
    assert refused.returncode == Exit.API_ERROR and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_wide_prints_one_line_per_pod(served):
    _, kubeconfig, home = served
    result = run(kubeconfig, home, "-o", "wide")
    assert result.returncode == Exit.OK, result.stderr
    lines = result.stdout.split("\nPods\n", 1)[1].splitlines()
    header, rows = lines[0].split(), lines[1:1 + 14]
    assert header == ["NAMESPACE", "NAME", "NODE", "STATUS", "RUNTIMECLASS", "HANDLER", "FAMILY", "OVERHEAD"]
    by_name = {row.split()[1]: row.split() for row in rows}
    assert len(by_name) == 14 and all(len(fields) == len(header) for fields in by_name.values())
    assert by_name["nginx-kata-fc-5c4b8d7f96-w5l2g"][3:7] == ["ContainerCreating", "kata-fc", "kata-fc", "kata"]
    assert by_name["kube-proxy-khkj5"][4:6] == ["<none>", "<default>"]
    assert "\nPods\n" not in run(kubeconfig, home).stdout  # only with -o wide


def test_vm_json_has_the_report_key_style():
    detail = VMDetail(node="n", address="10.0.0.5", sandbox=Sandbox("a" * 64, "ns", "p"), kind="qemu", pid=42,
                      vcpus_boot=1.0, host_rss_kib=2048, guest=GuestMetrics(mem_total_bytes=2**31),
                      sources={"vcpus_boot": "cmdline", "kind": "ps"})
    document = json.loads(json.dumps(vm_detail_json(detail)))
    assert (document["apiVersion"], document["kind"], document["hypervisor"]) == ("kataview.vm/v2", "VMDetail", "qemu")
    assert document["sandbox"]["podNamespace"] == "ns" and document["guest"]["memTotalBytes"] == 2**31
    assert document["hostRssMib"] == 2.0
    assert document["sources"] == {"vcpusBoot": "cmdline", "hypervisor": "ps"}  # named by their keys
    assert all(CAMEL.match(name) for name in field_names(document)), field_names(document)


def test_report_keys_are_camel_case_too(served):
    names = field_names(report_json(served, "--json"))
    assert names and all(CAMEL.match(name) for name in names), sorted(n for n in names if not CAMEL.match(n))


def test_the_readme_documents_every_key(served):
    text = README.read_text()
    for name in field_names(report_json(served, "--json")) | field_names(vm_detail_json(VMDetail(
            node="n", address="a", sandbox=Sandbox("x", "ns", "p"), kind="qemu", pid=1, guest=GuestMetrics()))):
        assert f'"{name}"' in text, name
