"""Decode the real objects of tests/corpus (nodes, runtimeclasses, pods, events) into records
and check them against the answers in EXPECTED.md, which are loaded, not copied here.

Some corpus files are not objects (kubectl tables, describe output, logs); for those the test
says so, checks the model refuses them cleanly, and checks what can be checked from the text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from kataview.kube.decode import DecodeError, record_from_dict
from kataview.model import analysis, events
from kataview.model.records import ClusterSnapshot, Node, Pod, RuntimeClass

KATA_LABEL = "katacontainers.io/kata-runtime"


def expected_blocks(corpus: Path) -> dict[str, dict]:
    text = (corpus / "EXPECTED.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    return {block["file"]: block for block in blocks if isinstance(block, dict) and "file" in block}


@pytest.fixture(scope="module")
def expected(corpus: Path) -> dict[str, dict]:
    return expected_blocks(corpus)


def blocks_under(corpus: Path, folder: str) -> list[str]:
    return sorted(name for name in expected_blocks(corpus) if name.startswith(folder + "/"))


def corpus_dir() -> Path:
    return Path(__file__).resolve().parent / "corpus"


def params(folder: str) -> list[str]:
    directory = corpus_dir()
    if not directory.is_dir():
        return []
    return blocks_under(directory, folder)


# -- a tolerant loader, as kataview's "open a file" would be ---------------------------------


def load_objects(path: Path) -> list:
    """Parsed documents of a JSON/YAML file. Trailing commas in JSON and a YAML document-end
    marker ('...') followed by more content are recovered; text that is not YAML raises."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            return [json.loads(text)]
        except json.JSONDecodeError:
            return [json.loads(re.sub(r",(\s*[}\]])", r"\1", text))]
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError:
        repaired = re.sub(r"(?m)^\.\.\.\s*$", "", text)
        return [doc for doc in yaml.safe_load_all(repaired) if doc is not None]


def pod_like(obj: dict) -> dict | None:
    """The pod (or pod template, or bare pod spec) inside a manifest or fragment."""
    kind = obj.get("kind")
    if kind == "Pod" or (kind is None and isinstance(obj.get("spec"), dict)):
        return obj
    template = (obj.get("spec") or {}).get("template") if isinstance(obj.get("spec"), dict) else None
    if isinstance(template, dict):
        return template
    for value in obj.values():  # a podSpec nested in some other resource
        if isinstance(value, dict) and ("runtimeClassName" in value or "containers" in value):
            return {"spec": value}
    return None


# -- nodes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", params("nodes"))
def test_node_files(corpus: Path, expected: dict, name: str) -> None:
    want = expected[name]
    path = corpus / name
    if "format" in want:
        # kubectl table output, not an object: the model must refuse it cleanly.
        with pytest.raises(DecodeError):
            record_from_dict("nodes", path.read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
        for node in want["nodes"]:
            assert node["name"] in text
        if want["kata_label"] is True:
            assert f"{KATA_LABEL}=true" in text
        return
    if want.get("valid_json") is False:
        with pytest.raises(json.JSONDecodeError):
            json.loads(path.read_text(encoding="utf-8"))
    (obj,) = load_objects(path)
    node = record_from_dict("nodes", obj)
    assert isinstance(node, Node)
    assert node.name == want["name"]
    assert node.container_runtime_version == want["containerRuntimeVersion"]
    if "runtime" in want:
        assert node.container_runtime == (want["runtime"]["name"], want["runtime"]["version"])
    elif want["containerRuntimeVersion"] is not None:
        assert node.container_runtime == (None, None)  # no '<runtime>://' prefix
    for key, field in (("kubeletVersion", "kubelet_version"), ("osImage", "os_image")):
        if key in want:
            assert getattr(node, field) == want[key]
    if "runtimeHandlers" in want:
        if want["runtimeHandlers"] is None:
            assert node.runtime_handlers is None
        else:
            got = [(h.name, h.recursive_read_only_mounts, h.user_namespaces) for h in node.runtime_handlers]
            assert got == [
                (h["name"], h["features"].get("recursiveReadOnlyMounts"), h["features"].get("userNamespaces"))
                for h in want["runtimeHandlers"]
            ]
    if "labels" in want:
        assert dict(node.labels) == want["labels"]
    if "cri_socket_annotation" in want:
        assert node.annotations["kubeadm.alpha.kubernetes.io/cri-socket"] == want["cri_socket_annotation"]
    if want.get("capacity"):  # 2014 v1beta1 minion: cpu in millicores, memory in bytes
        assert node.cpu_capacity_millis == want["capacity"]["cpu"]
        assert node.memory_capacity_bytes == want["capacity"]["memory"]
    assert (node.labels.get(KATA_LABEL) == "true") is bool(want["kata_label"])
    # a node alone in a snapshot: the analysis must cope with whatever it holds
    snapshot = ClusterSnapshot(nodes={node.name: node})
    handlers = analysis.node_handlers(node, snapshot)
    assert handlers.inferred is (node.runtime_handlers is None)
    analysis.find_findings(snapshot)


def test_worker_node_details(corpus: Path) -> None:
    (obj,) = load_objects(corpus / "nodes/k8s-docs-kube-worker-1-containerd1.5.yaml")
    node = record_from_dict("nodes", obj)
    assert node.ready is True
    assert node.address() == "192.168.0.113"
    assert node.cpu_capacity_millis == 2000
    assert node.memory_capacity_bytes == 2025188 * 1024
    assert node.created is not None and node.created.tzinfo is not None


def test_fixture_node_taints_and_conditions(corpus: Path) -> None:
    (obj,) = load_objects(corpus / "nodes/k8s-api-roundtrip-node-fixture.json")
    node = record_from_dict("nodes", obj)
    assert node.unschedulable is True
    assert [str(t) for t in node.taints] == ["keyValue=valueValue:effectValue"]
    assert node.ready is None  # the only condition is "typeValue"
    assert node.cpu_capacity_millis is None  # capacity has only "capacityKey"


# -- runtimeclasses --------------------------------------------------------------------------


def _classes(path: Path) -> list[RuntimeClass]:
    docs = load_objects(path)
    return [record_from_dict("runtimeclasses", doc) for doc in docs if isinstance(doc, dict) and doc.get("kind") == "RuntimeClass"]


@pytest.mark.parametrize("name", params("runtimeclasses"))
def test_runtimeclass_files(corpus: Path, expected: dict, name: str) -> None:
    want = expected[name]
    path = corpus / name
    if want.get("valid_yaml") is False:
        with pytest.raises(yaml.YAMLError):
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    classes = _classes(path)
    if "documents" in want:
        assert len(load_objects(path)) == want["documents"]
    if "classes" in want:
        assert len(classes) == len(want["classes"])
        for rc, spec in zip(classes, want["classes"]):
            assert (rc.api_version, rc.name, rc.handler) == (spec["apiVersion"], spec["name"], spec["handler"])
            if "overhead" in spec:
                assert dict(rc.overhead) == (spec["overhead"] or {})
            if "scheduling" in spec:
                scheduling = spec["scheduling"]
                if scheduling is None:
                    assert rc.node_selector is None and rc.tolerations == ()
                else:
                    assert dict(rc.node_selector) == scheduling.get("nodeSelector", {})
                    want_tols = [(t.get("key", ""), t.get("value", ""), t.get("effect", "")) for t in scheduling.get("tolerations", [])]
                    assert [(t.key, t.value, t.effect) for t in rc.tolerations] == want_tols
    if "classes_name_equals_handler_overhead_memory_cpu" in want:
        table = want["classes_name_equals_handler_overhead_memory_cpu"]
        assert sorted(rc.name for rc in classes) == sorted(table)
        for rc in classes:
            memory, cpu = table[rc.name]
            assert rc.handler == rc.name
            assert rc.api_version == want["apiVersion_all"]
            assert dict(rc.node_selector) == want["scheduling_all"]["nodeSelector"]
            assert rc.overhead == {"memory": memory, "cpu": cpu}
            assert rc.overhead_cpu_millis == {"250m": 250, "1": 1000, "1.0": 1000}[cpu]
            assert rc.overhead_memory_bytes == int(memory[:-2]) * 2**20
    # every class in a snapshot with one labelled node: analysis and findings must not crash
    node = Node(name="n1", labels={KATA_LABEL: "true"})
    snapshot = ClusterSnapshot(nodes={"n1": node}, runtime_classes={rc.name: rc for rc in classes})
    for rc in classes:
        assert len(analysis.runtime_class_nodes(rc, snapshot)) == 1
        assert analysis.runtime_family(rc.handler) in analysis.FAMILIES
    analysis.find_findings(snapshot)


def test_v1alpha1_fuzzed_fixture(corpus: Path) -> None:
    (rc,) = _classes(corpus / "runtimeclasses/k8s-api-fuzzed-v1alpha1-fixture.yaml")
    assert rc.handler == "18"  # from spec.runtimeHandler
    assert rc.overhead_cpu_millis is None and rc.overhead_memory_bytes is None  # no cpu/memory keys
    assert rc.created is None  # creationTimestamp: null


def test_kata_qemu_overhead_normalised(corpus: Path) -> None:
    (rc,) = _classes(corpus / "runtimeclasses/kata-ci-runtimeclass-kata-overhead.yaml")
    assert (rc.overhead_cpu_millis, rc.overhead_memory_bytes) == (250, 160 * 2**20)


# -- pods ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", params("pods"))
def test_pod_files(corpus: Path, expected: dict, name: str) -> None:
    want = expected[name]
    path = corpus / name
    if "format" in want:
        # kubectl describe output, not an object: refused cleanly; only the text can be checked.
        text = path.read_text(encoding="utf-8")
        with pytest.raises(DecodeError):
            record_from_dict("pods", text)
        assert want["pod"]["name"] in text
        for key, value in (want["pod"].get("node_selectors") or {}).items():
            assert f"{key}={value}" in text
        return
    docs = [doc for doc in load_objects(path) if isinstance(doc, dict)]
    assert len(docs) == len(want["objects"])
    for doc, spec in zip(docs, want["objects"]):
        assert doc.get("kind") == spec["kind"]
        inner = pod_like(doc)
        if inner is None:
            assert spec.get("runtimeClassName") is None  # a Service
            continue
        pod = record_from_dict("pods", inner)
        assert isinstance(pod, Pod)
        rc_name = spec["runtimeClassName"]
        if isinstance(rc_name, str):
            rc_name = rc_name.split(" (")[0]  # "kata-fc (in spec.template.spec)"
        assert pod.runtime_class_name == rc_name
        if spec["kind"] == "Pod":
            assert pod.name == (spec["name"] or "")
        if "nodeSelector" in spec:
            assert dict(pod.node_selector) == spec["nodeSelector"]
        runtime = analysis.pod_runtime(pod, ClusterSnapshot())
        if "kata_selector" in spec:  # legacy annotations select the untrusted runtime
            assert runtime.label == analysis.LEGACY_LABEL
        elif rc_name is None:
            assert runtime.label == analysis.DEFAULT_LABEL
        else:  # no RuntimeClass objects in this snapshot
            assert runtime.label == f"{rc_name} (missing RuntimeClass)"
        analysis.find_findings(ClusterSnapshot(pods={pod.uid or pod.key: pod}))


def test_corpus_pods_against_corpus_runtimeclasses(corpus: Path) -> None:
    classes = {}
    for path in sorted((corpus / "runtimeclasses").glob("*.yaml")):
        for rc in _classes(path):
            classes.setdefault(rc.name, rc)
    pods = {}
    for path in sorted((corpus / "pods").glob("*.yaml")):
        for doc in load_objects(path):
            inner = pod_like(doc) if isinstance(doc, dict) else None
            if inner is not None:
                pod = record_from_dict("pods", inner)
                pods[f"{path.name}/{pod.key}"] = pod
    snapshot = ClusterSnapshot(runtime_classes=classes, pods=pods)
    groups = {group.label: group for group in analysis.group_pods_by_runtime(snapshot)}
    assert "kata-qemu" in groups and "kata-fc" in groups and "kata-clh" in groups
    assert "crun" in groups and groups["crun"].family == "runc"  # crun RuntimeClass exists; runc-like
    assert "myclass (missing RuntimeClass)" not in groups  # k8s-docs defines myclass (handler myconfiguration)
    assert "myconfiguration" in groups
    assert groups[analysis.LEGACY_LABEL].count == 2  # untrusted-workload + CRI-O TrustedSandbox=false
    assert sum(group.count for group in groups.values()) == len(pods)
    codes = {f.code for f in analysis.find_findings(snapshot)}
    assert "KV008" in codes  # legacy annotation
    assert "KV001" not in codes  # no nodes: nothing to say about handlers


# -- events ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", params("events"))
def test_event_files(corpus: Path, expected: dict, name: str) -> None:
    want = expected[name]
    text = (corpus / name).read_text(encoding="utf-8")
    # none of these is an Event object (journald log, a message, a describe table, a kubectl error)
    with pytest.raises(DecodeError):
        record_from_dict("events", text)
    if "events" in want:  # kubectl describe Events table: classify each row's message
        rows = [line.strip() for line in text.splitlines()[3:] if line.strip()]
        assert len(rows) == len(want["events"])
        for row, spec in zip(rows, want["events"]):
            type_, reason, _age, source, message = re.split(r"\s{2,}", row, maxsplit=4)
            assert (type_, reason, source) == (spec["type"], spec["reason"], spec["from"])
            got = events.event_sandbox_failure(message)
            assert got.class_ == spec.get("class", "other")
            if "vsock_cid" in spec:
                assert f"vsock {spec['vsock_cid']}:{spec['vsock_port']}" in message
        return
    got = events.event_sandbox_failure(text)
    assert got.class_ == want["class"]
    if "handler" in want:
        assert got.handler == want["handler"]
    if "runtime_class" in want:
        assert got.runtime_class == want["runtime_class"]
    if "message" in want:
        assert text.strip() == want["message"]
    if "error_lines" in want:
        failing = [line for line in text.splitlines() if events.event_sandbox_failure(line).class_ == want["class"]]
        assert len(failing) == want["error_lines"]
        assert all(want["pod"]["uid"] in line for line in failing)
