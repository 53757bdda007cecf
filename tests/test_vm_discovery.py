"""Pod -> sandbox -> VM processes, on real captures (corpus) and crictl/ctr output shapes."""

from __future__ import annotations

import json

import pytest

from kataview.hosts import commands as cmd
from kataview.hosts.allowlist import is_allowed
from kataview.hosts.discovery import (ProcessTable, discovery_commands, first_container_id, locate, sandbox_from_crictl,
                                      sandbox_from_ctr, sandbox_from_processes, summaries)
from kataview.hosts.errors import SandboxAmbiguous, SandboxNotFound
from kataview.model.records import ContainerStatus, Pod

CLH_ID = "9e7c835d4868398b062d9735eb28115be58e5ab8ce7111f0e729f651b7a3c2c3"
QEMU_ID = "55e043c4c5eacb"


def pod(name="crashing-app-699c49b4ff-86wrh", namespace="default", uid="", **kw) -> Pod:
    return Pod(uid=uid, namespace=namespace, name=name, node_name="n", **kw)


def test_crictl_pods_json_from_a_real_node(corpus):
    text = (corpus / "crictl" / "ibm-iks-crictl-pods-json-runtimehandler-empty.json").read_text()
    found = sandbox_from_crictl(text, pod(uid="0c65ce05-bd3a-4db2-ad79-131186dc2086"))
    assert found.id == "51cd8bdaa13a65518e790d307359d33f9288fc82664879c609029b1a83862db6"
    assert found.found_by == "crictl" and found.state == "SANDBOX_READY"
    assert found.runtime_handler is None  # "" in the output: the default handler
    assert sandbox_from_crictl(text, pod(uid="another-uid")) is None


def test_crictl_name_is_a_regex_so_only_exact_names_count(corpus):
    items = [{"id": "a" * 64, "metadata": {"name": "web-1", "namespace": "default"}, "state": "SANDBOX_READY",
              "createdAt": "2"},
             {"id": "b" * 64, "metadata": {"name": "web", "namespace": "default"}, "state": "SANDBOX_NOTREADY",
              "createdAt": "1"},
             {"id": "c" * 64, "metadata": {"name": "web", "namespace": "default"}, "state": "SANDBOX_READY",
              "createdAt": "3"},
             {"id": "d" * 64, "metadata": {"name": "web", "namespace": "other"}, "state": "SANDBOX_READY",
              "createdAt": "4"}]
    found = sandbox_from_crictl(json.dumps({"items": items}), pod(name="web"))
    assert found.id == "c" * 64  # exact name and namespace, ready beats not ready
    assert "older sandbox" in found.notes[0]
    assert sandbox_from_crictl("crictl: not json", pod()) is None
    assert sandbox_from_crictl(json.dumps({"items": [{**items[0], "id": "$(reboot)"}]}), pod(name="web-1")) is None


def test_ctr_container_info_annotation():
    info = {"ID": "f" * 64, "Labels": {"io.cri-containerd.kind": "container"},
            "Spec": {"annotations": {"io.kubernetes.cri.sandbox-id": "e" * 64,
                                     "io.kubernetes.cri.container-type": "container"}}}
    assert sandbox_from_ctr(json.dumps(info), pod()).id == "e" * 64
    assert sandbox_from_ctr(json.dumps({"Spec": {}}), pod()) is None
    assert sandbox_from_ctr("ctr: container not found", pod()) is None


def test_discovery_asks_ps_and_crictl_in_one_round_trip():
    commands, root = discovery_commands(pod())
    assert [type(c).__name__ for c in commands] == ["Ps", "CrictlPods"] and root == [False, True]
    assert is_allowed(cmd.batch(commands, sudo=root))
    with_container = pod(containers=(ContainerStatus("c", container_id="cri-o://abc"),
                                     ContainerStatus("d", container_id="containerd://" + "f" * 64)))
    assert first_container_id(with_container) == "f" * 64
    assert first_container_id(pod(containers=(ContainerStatus("c", container_id="containerd://$(x)"),))) is None


@pytest.mark.parametrize("capture, kind, vmm_pid, shim_pid, virtiofsd", [
    ("kata2.4-ps-ef-grep-id-shim-virtiofsd-qemu.txt", "qemu", 28348, 28330, (28342, 28355)),
    ("k3s-kata-clh-ps-forest-empty-publish-binary.txt", "cloud-hypervisor", 6915, 6902, (6914, 6919)),
    ("kata-fc-vaccel-ps-fe.txt", "firecracker", 983900, 983888, ()),
])
def test_locate_vm_processes_in_real_ps_captures(corpus, capture, kind, vmm_pid, shim_pid, virtiofsd):
    table = ProcessTable.parse((corpus / "ps" / capture).read_text())
    [sandbox_id] = table.sandbox_ids()
    placement = locate(table, sandbox_id, "n")
    assert (placement.kind, placement.vmm.pid) == (kind, vmm_pid)
    assert placement.shim.pid == shim_pid
    assert tuple(p.pid for p in placement.virtiofsd) == virtiofsd


def test_firecracker_ids_cut_to_32_characters_still_match(corpus):
    table = ProcessTable.parse((corpus / "ps" / "fc-blog-k3s-ps-ef.txt").read_text())
    [summary] = summaries(table, "n")
    assert summary.kind == "firecracker" and summary.sandbox_id_truncated
    full = summary.sandbox_id + "0" * 32
    assert locate(table, full, "n").vmm.pid == summary.pid


def test_dragonball_vmm_lives_in_the_shim():
    ps = ("  100     1 90000  2.0  60 /opt/kata/runtime-rs/bin/containerd-shim-kata-v2 -namespace k8s.io "
          f"-address  -publish-binary /usr/bin/containerd -id {'d' * 64}\n")
    placement = locate(ProcessTable.parse(ps), "d" * 64, "n")
    assert placement.kind == "dragonball" and placement.vmm.pid == 100 == placement.shim.pid
    assert "inside the Kata shim" in placement.notes[0]


def test_no_vm_for_a_runc_sandbox():
    table = ProcessTable.parse("    1     0  1000  0.0  99 /sbin/init\n")
    with pytest.raises(SandboxNotFound, match="no VM on n"):
        locate(table, "a" * 64, "n")


def test_process_fallback_only_sandbox_then_ambiguous(corpus):
    table = ProcessTable.parse((corpus / "ps" / "kata2.4-ps-ef-grep-id-shim-virtiofsd-qemu.txt").read_text())
    found = sandbox_from_processes(table, pod(), "n", "crictl is not installed on the node")
    assert found.found_by == "only-sandbox" and found.id.startswith(QEMU_ID)
    assert found.notes[0] == "crictl is not installed on the node"
    two = ProcessTable.parse(
        f"  10 1 100 0.0 5 qemu-system-x86_64 -name sandbox-{'a' * 64} -kernel k\n"
        f"  11 1 100 0.0 5 qemu-system-x86_64 -name sandbox-{'b' * 64} -kernel k\n")
    with pytest.raises(SandboxAmbiguous) as caught:
        sandbox_from_processes(two, pod(), "n", "crictl is not installed on the node")
    assert caught.value.candidates == ("a" * 64, "b" * 64)
    with pytest.raises(SandboxNotFound):
        sandbox_from_processes(ProcessTable.parse(""), pod(), "n", "crictl is not installed")


def test_process_fallback_matches_the_pod_uid_on_a_command_line():
    uid = "0c65ce05-bd3a-4db2-ad79-131186dc2086"
    two = ProcessTable.parse(
        f"  10 1 100 0.0 5 qemu-system-x86_64 -name sandbox-{'a' * 64} -kernel k\n"
        f"  11 1 100 0.0 5 qemu-system-x86_64 -name sandbox-{'b' * 64} -drive "
        f"file=/var/lib/kubelet/pods/{uid}/volumes/x -kernel k\n")
    found = sandbox_from_processes(two, pod(uid=uid), "n", "why")
    assert found.id == "b" * 64 and found.found_by == "process-uid"
