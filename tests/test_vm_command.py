"""`kataview vm NAMESPACE/POD --json` end to end: the API server double says where the pod
runs, SSH (an OpenSSH config file, known_hosts on) reaches a test host with its QEMU."""

from __future__ import annotations

import json

import pytest
from testhosts import testnet  # noqa: F401

from kataview.cli import entry as cli
from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.model.demo_node import DEMO_NODE_ANNOTATION
from kataview.model.exit_codes import Exit

NODE = "k8s-worker-kata"


def cluster_with_node_at(address: str | None) -> tuple[list[dict], dict]:
    objects = classic_objects()
    for obj in objects:
        if obj["kind"] == "Node" and obj["metadata"]["name"] == NODE:
            # a real node now (a test host), not one of the demo's loopback-only ones
            del obj["metadata"]["annotations"][DEMO_NODE_ANNOTATION]
            if address:
                obj["status"]["addresses"][0]["address"] = address
    pod = next(o for o in objects if o["kind"] == "Pod" and o["spec"].get("runtimeClassName") == "kata-qemu"
               and o["spec"].get("nodeName") == NODE)
    return objects, pod


@pytest.fixture
def home(tmp_path, monkeypatch):
    """HOME, XDG dirs and the agent point at tmp: the machine's ~/.ssh is never read."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    (tmp_path / ".ssh").mkdir()
    return tmp_path


@pytest.mark.parametrize("override", [False, True], ids=["internal-ip", "config-file-address"])
def test_vm_json_facts_equal_the_qemu_command_line(testnet, home, capsys, override):
    host = testnet.add_host()
    objects, pod = cluster_with_node_at(None if override else host.address)
    meta = pod["metadata"]
    vm = host.start_qemu(vcpus=2, maxcpus=5, memory_mib=1280, maxmem_mib=2560, pod_name=meta["name"],
                         pod_namespace=meta["namespace"], pod_uid=meta["uid"])
    host.start_qemu(pod_name="someone-else")  # a second VM on the node: crictl must decide
    host.install_crictl()
    (home / ".ssh" / "known_hosts").write_text(testnet.known_hosts.read_text())
    if override:
        (home / "config" / "kataview").mkdir(parents=True)
        (home / "config" / "kataview" / "config.toml").write_text(
            f'[nodes.{NODE}]\naddress = "{host.address}"\n')
    with serve_in_thread(objects) as api:
        kubeconfig = api.write_kubeconfig(home / "kubeconfig")
        code = cli.main(["vm", f"{meta['namespace']}/{meta['name']}", "--json", "--kubeconfig",
                         str(kubeconfig), "--ssh-config", str(testnet.ssh_config())])
    out, err = capsys.readouterr()
    assert code == 0, err
    facts = json.loads(out)
    assert (facts["apiVersion"], facts["kind"]) == ("kataview.vm/v2", "VMDetail")
    assert facts["sandbox"]["id"] == vm.sandbox_id and facts["sandbox"]["foundBy"] == "crictl"
    assert (facts["hypervisor"], facts["pid"]) == ("qemu", vm.pid)
    assert (facts["vcpusBoot"], facts["vcpusMax"]) == (2, 5)
    assert (facts["memoryMib"], facts["memoryMaxMib"]) == (1280, 2560)
    assert facts["node"] == NODE and facts["address"] == host.address
    assert facts["overheadSource"] == "pod" or facts["overheadSource"].startswith("runtimeclass/")
    assert facts["overheadMemoryBytes"] == 160 * 2**20


def test_vm_unknown_host_key_is_refused_with_what_to_do(testnet, home, capsys):
    host = testnet.add_host(trust=False)
    objects, pod = cluster_with_node_at(host.address)
    with serve_in_thread(objects) as api:
        kubeconfig = api.write_kubeconfig(home / "kubeconfig")
        code = cli.main(["vm", f"{pod['metadata']['namespace']}/{pod['metadata']['name']}",
                         "--kubeconfig", str(kubeconfig), "--ssh-config", str(testnet.ssh_config())])
    _, err = capsys.readouterr()
    assert code == Exit.NODE_FAILED
    assert f"unknown host key for {NODE} ({host.address}): SHA256:" in err
    assert f"ssh-keyscan {host.address} >> {home}/.ssh/known_hosts" in err
    assert not (home / ".ssh" / "known_hosts").exists()


def test_vm_bad_target_and_missing_pod(home, capsys):
    assert cli.main(["vm", "no-slash"]) == Exit.USAGE
    assert "expected NAMESPACE/POD" in capsys.readouterr().err
    objects, _ = cluster_with_node_at(None)
    with serve_in_thread(objects) as api:
        kubeconfig = api.write_kubeconfig(home / "kubeconfig")
        assert cli.main(["vm", "default/nope", "--kubeconfig", str(kubeconfig)]) == Exit.NOT_FOUND
    assert "pod default/nope not found" in capsys.readouterr().err


def test_text_output_names_every_fact(capsys):
    from kataview.cli.vm import print_detail
    from kataview.model.vm import GuestMetrics, Sandbox, VMDetail, vm_detail_json

    detail = VMDetail(node="n", address="10.0.0.5", sandbox=Sandbox("a" * 64, "ns", "p", found_by="crictl"),
                      kind="qemu", pid=42, vcpus_boot=1.0, vcpus_max=4, memory_mib=2048, memory_max_mib=4096,
                      shared_fs="virtio-fs", host_rss_kib=30_000, host_cpu_percent=1.5, shim_pid=40,
                      virtiofsd_pids=(41,), overhead_cpu_millis=250, overhead_memory_bytes=160 * 2**20,
                      overhead_source="runtimeclass/kata", guest=GuestMetrics(mem_total_bytes=2**31, load1=0.5),
                      notes=("a note",))
    print_detail(detail)
    out = capsys.readouterr().out
    for text in ("vCPUs:      1 (max 4)", "Memory:     2,048 MiB (max 4,096 MiB)", "shim 40  virtiofsd 41",
                 "250m CPU, 160 MiB (runtimeclass/kata)", "Guest:      memory 2,048 MiB", "Note:       a note",
                 "QMP:        not used"):
        assert text in out
    assert json.loads(json.dumps(vm_detail_json(detail)))["guest"]["load1"] == 0.5
