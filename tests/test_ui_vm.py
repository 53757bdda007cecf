"""The VM panel and the node's VM list, driven with Pilot: on the demo's SSH node (fast), and
on network-namespace test hosts running real (paused, TCG) QEMUs behind a real sshd."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from testhosts import pod_for, ssh_options, testnet  # noqa: F401

from kataview.hosts.ssh import SSHOptions, SSHPool
from kataview.hosts.vmfacts import VMDetailGatherer
from kataview.model.records import ClusterSnapshot, Node, NodeAddress, Pod, RuntimeClass
from kataview.sources.base import SourceInfo
from kataview.sources.live import DemoSource, free_loopback_port
from kataview.sources.settings import Settings
from kataview.sources.static import StaticSource
from kataview.ui.app import make_app
from kataview.ui.screens.host_key import HostKeyScreen
from kataview.ui.screens.pod_detail import PodDetailScreen
from kataview.ui.widgets.virtual_table import VirtualTable
from kataview.ui.widgets.vm_panel import VMPanel
from ui_fixtures import classic_source, frozen_settings


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


async def until(pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.01)
    await pilot.pause()


def panel_of(app) -> VMPanel:
    return app.screen.query_one(VMPanel)


def settled(app) -> bool:
    if not app.screen.query(VMPanel) or not app.screen.query("#vm-spinner"):
        return False
    panel = panel_of(app)
    return not app.screen.query_one("#vm-spinner").display and (panel.detail or panel.error) is not None


async def demo_app(pilot_size=(160, 60)):
    settings = Settings(demo=True)
    return make_app(settings, DemoSource(settings))


def demo_pod(app, runtime_class: str) -> Pod:
    return next(p for p in app.view.snapshot.pods.values()
                if p.runtime_class_name == runtime_class and p.phase == "Running")


async def demo_ready(pilot, runtime_class: str = "kata-qemu"):
    app = pilot.app
    await until(pilot, lambda: app.view is not None and any(
        p.runtime_class_name == runtime_class for p in app.view.snapshot.pods.values()))
    return app


# ---- the demo's SSH node ----------------------------------------------------------------

async def test_demo_kata_pod_fills_the_vm_panel_and_r_refreshes():
    app = await demo_app()
    async with app.run_test(size=(160, 60)) as pilot:
        await demo_ready(pilot)
        pod = demo_pod(app, "kata-qemu")
        app.open_object("Pod", pod.uid)
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen) and settled(app))
        panel = panel_of(app)
        assert panel.error is None, panel.error
        detail = panel.detail
        assert detail.sandbox.pod_name == pod.name and detail.sandbox.found_by == "crictl"
        assert (detail.kind, detail.vcpus_boot, detail.vcpus_max, detail.memory_mib) == ("qemu", 1, 8, 2048)
        text = panel.text
        for expected in ("qemu-system-x86_64", "1 boot / 8 max", "2,048 MiB boot / 34,106 MiB max",
                         "virtio-fs", "q35", "vmlinux-6.1.62-132", "kata-ubuntu-latest.image",
                         "250m CPU, 160 MiB (pod)", "measured RSS", "load", detail.sandbox.id,
                         f"virtiofsd {detail.virtiofsd_pids[0]}"):
            assert expected in text, expected
        assert "r refresh" in panel.border_subtitle
        calls = []
        gatherer = app.vm_gatherer()
        original = gatherer.fetch

        async def counting(*args):
            calls.append(args[0].name)
            return await original(*args)

        gatherer.fetch = counting
        await pilot.press("r")
        await until(pilot, lambda: calls and settled(app))
        assert calls == [pod.name] and panel.detail is not detail


async def test_demo_gvisor_pod_has_no_vm_and_nothing_is_gathered():
    app = await demo_app()
    async with app.run_test(size=(160, 60)) as pilot:
        await demo_ready(pilot, "gvisor")
        app.open_object("Pod", demo_pod(app, "gvisor").uid)
        await pilot.pause()
        assert "gVisor sandbox (runsc)" in panel_of(app).text and "no VM" in panel_of(app).text
        assert not app.screen.workers or all(w.group != "vm-detail" for w in app.screen.workers)


async def test_demo_cloud_hypervisor_facts_come_from_persist_json():
    app = await demo_app()
    async with app.run_test(size=(160, 60)) as pilot:
        await demo_ready(pilot, "kata-clh")
        app.open_object("Pod", demo_pod(app, "kata-clh").uid)
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen) and settled(app))
        text = panel_of(app).text
        assert "cloud-hypervisor" in text and "1 boot / 8 max  (from persist.json)" in text


async def test_demo_node_lists_three_replicas_as_three_vms_with_two_containers_each():
    app = await demo_app()
    async with app.run_test(size=(160, 60)) as pilot:
        await demo_ready(pilot)
        app.open_object("Node", "k8s-worker-untrusted")
        await until(pilot, lambda: app.screen.query("#node-vms"))
        table = app.screen.query_one("#node-vms", VirtualTable)
        await until(pilot, lambda: table.lines)
        header = table.lines[0].text
        assert "ReplicaSet untrusted/nginx-untrusted-" in header and "· 2 containers each" in header
        assert "VMs" in table.border_title
        rows = [line for line in table.lines if hasattr(line, "cells")]
        assert all(row.cells["HYPERVISOR"] == "qemu" and row.cells["CTRS"] == "2" for row in rows[:2])
        table.focus()
        table.cursor_key = rows[0].key
        await pilot.press("enter")
        assert isinstance(app.screen, PodDetailScreen) and app.screen.key == rows[0].target[1]


# ---- errors in place --------------------------------------------------------------------

def one_pod_source(node: Node, pod: Pod) -> StaticSource:
    rc = RuntimeClass("kata-qemu", "kata-qemu", overhead={"cpu": "250m", "memory": "160Mi"},
                      overhead_cpu_millis=250, overhead_memory_bytes=160 * 2**20)
    snapshot = ClusterSnapshot(nodes={node.name: node}, pods={pod.uid: pod}, runtime_classes={rc.name: rc})
    return StaticSource(snapshot, None, SourceInfo(context="test", server="https://127.0.0.1:6443"))


async def test_connection_refused_is_shown_in_place_with_what_to_do():
    port = free_loopback_port()  # nothing listens there
    node = Node("worker-9", addresses=(NodeAddress("InternalIP", "127.0.0.1"),))
    pod = Pod(uid="u-1", namespace="default", name="web-0", node_name="worker-9", runtime_class_name="kata-qemu")
    app = make_app(frozen_settings(), one_pod_source(node, pod))
    app.vm_details = VMDetailGatherer(SSHPool(SSHOptions(port=port, agent_path=None, known_hosts="/nonexistent",
                                                         connect_timeout=2)))
    async with app.run_test(size=(120, 50)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.open_object("Pod", "u-1")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen) and settled(app))
        text = panel_of(app).text
        assert "connection refused by 127.0.0.1 (worker-9)" in text and "is sshd running" in text
        assert panel_of(app).has_class("-error") and "failed at 12:30:00" in panel_of(app).border_subtitle


async def test_a_fixed_snapshot_says_how_vm_detail_is_gathered():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(120, 50)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.open_object("Pod", "uid-000005")
        await pilot.pause()
        assert "gathered over SSH" in panel_of(app).text and app.vm_details is None


# ---- real sshd + QEMU in network-namespace test hosts -----------------------------------------

def host_app(net, host, vm, **settings):
    node = Node("kata-node-1", addresses=(NodeAddress("InternalIP", host.address),))
    app = make_app(frozen_settings(**settings), one_pod_source(node, pod_for(vm, node.name)))
    app.vm_details = VMDetailGatherer(SSHPool(ssh_options(net)))
    return app


async def test_real_qemu_vcpus_and_memory_fill_the_panel(testnet):
    host = testnet.add_host()
    vm = host.start_qemu(vcpus=2, maxcpus=6, memory_mib=1536, maxmem_mib=3072, pod_name="web-0")
    host.start_shim(vm)
    host.write_persist(vm)
    host.start_monitor(vm)
    host.install_crictl()
    app = host_app(testnet, host, vm)
    async with app.run_test(size=(160, 60)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.open_object("Pod", vm.pod_uid)
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen) and settled(app))
        panel = panel_of(app)
        assert panel.error is None, panel.error
        text = panel.text
        assert "2 boot / 6 max" in text and "1,536 MiB boot / 3,072 MiB max (10 hotplug slots)" in text
        assert f"PID {vm.pid}" in text and vm.sandbox_id in text and "memory 1,907 MiB" in text
        assert "250m CPU, 160 MiB (runtimeclass/kata-qemu)" in text


async def test_unreachable_test_host_is_an_error_in_place(testnet):
    host = testnet.add_host()
    vm = host.start_qemu(pod_name="web-0")
    app = host_app(testnet, host, vm)
    app.vm_details = VMDetailGatherer(SSHPool(ssh_options(testnet, connect_timeout=1.0, node_addresses={
        "kata-node-1": host.address.rsplit(".", 1)[0] + ".250"})))  # on the bridge, no host there
    async with app.run_test(size=(160, 60)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.open_object("Pod", vm.pod_uid)
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen) and settled(app))
        text = panel_of(app).text
        assert "kata-node-1" in text and ("no answer" in text or "cannot reach" in text), text
        assert "[nodes.kata-node-1] address" in text


def _untrusted(testnet, tmp_path):
    host = testnet.add_host(trust=False)
    vm = host.start_qemu(vcpus=3, maxcpus=5, memory_mib=1024, maxmem_mib=2048, pod_name="db-0")
    host.install_crictl()
    known = tmp_path / "known_hosts"
    return host, vm, known


async def test_unknown_host_key_confirmed_writes_known_hosts_and_fills_the_panel(testnet, tmp_path):
    host, vm, known = _untrusted(testnet, tmp_path)
    app = host_app(testnet, host, vm)
    app.vm_details = VMDetailGatherer(SSHPool(ssh_options(testnet, known_hosts=str(known))))
    async with app.run_test(size=(160, 60)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.open_object("Pod", vm.pod_uid)
        await until(pilot, lambda: isinstance(app.screen, HostKeyScreen))
        dialog = app.screen
        expected = "SHA256:" + dialog.error.fingerprint.split(":", 1)[1]
        shown = "\n".join(str(w.render()) for w in dialog.query("Static"))
        assert host.address in shown and "22" in shown and expected in shown
        assert not known.exists()  # nothing is written before the operator confirms
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen) and settled(app)
                    and panel_of(app).detail is not None)
        line = known.read_text()
        public = (host.directory / "host_ed25519.pub").read_text().split()
        assert line == f"{host.address} {public[0]} {public[1]}\n"
        assert "3 boot / 5 max" in panel_of(app).text


async def test_unknown_host_key_refused_writes_nothing(testnet, tmp_path):
    host, vm, known = _untrusted(testnet, tmp_path)
    app = host_app(testnet, host, vm)
    app.vm_details = VMDetailGatherer(SSHPool(ssh_options(testnet, known_hosts=str(known))))
    async with app.run_test(size=(160, 60)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.open_object("Pod", vm.pod_uid)
        await until(pilot, lambda: isinstance(app.screen, HostKeyScreen))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        assert not known.exists() and "unknown host key" in panel_of(app).text


async def test_read_only_never_offers_to_write_known_hosts(testnet, tmp_path):
    host, vm, known = _untrusted(testnet, tmp_path)
    app = host_app(testnet, host, vm, read_only=True)
    app.vm_details = VMDetailGatherer(SSHPool(ssh_options(testnet, known_hosts=str(known))))
    async with app.run_test(size=(160, 60)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.open_object("Pod", vm.pod_uid)
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen) and settled(app))
        text = panel_of(app).text
        assert f"ssh-keyscan {host.address} >> {known}" in text and "Read-only mode" in text
        assert not known.exists()


async def test_a_changed_host_key_is_loud_and_never_offered(testnet, tmp_path):
    host = testnet.add_host(trust=False)
    vm = host.start_qemu(pod_name="db-0")
    other = tmp_path / "other"
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    known = tmp_path / "known_hosts"
    key = Path(f"{other}.pub").read_text().split()
    known.write_text(f"{host.address} {key[0]} {key[1]}\n")
    app = host_app(testnet, host, vm)
    app.vm_details = VMDetailGatherer(SSHPool(ssh_options(testnet, known_hosts=str(known))))
    async with app.run_test(size=(160, 60)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.open_object("Pod", vm.pod_uid)
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen) and settled(app))
        assert "HOST KEY CHANGED" in panel_of(app).text and panel_of(app).has_class("-loud")
        assert known.read_text() == f"{host.address} {key[0]} {key[1]}\n"


# ---- when gathering starts, and the interval ------------------------------------------------

class ScriptedGatherer:
    """Answers fetch from a list (details or errors; the last one repeats), counting calls."""

    def __init__(self, app, answers, delay: float = 0.0) -> None:
        from test_ui_vm_snapshots import StandInPool

        self.app = app
        self.pool = StandInPool()
        self.answers = list(answers)
        self.delay = delay
        self.calls: list[bool] = []  # was the pod detail screen mounted when fetch was called?

    async def fetch(self, pod, node, snapshot=None):
        import asyncio

        self.calls.append(self.app.screen.is_mounted)
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer


async def test_gathering_starts_at_enter_and_an_early_answer_is_shown_without_a_spinner(monkeypatch):
    from test_ui_vm_snapshots import filled_detail

    shown = []
    monkeypatch.setattr(VMPanel, "show_loading", lambda self, *a: shown.append(a))
    app = make_app(frozen_settings(), classic_source())
    gatherer = app.vm_details = ScriptedGatherer(app, [filled_detail()])
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.open_object("Pod", "uid-000005")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen) and settled(app))
        assert gatherer.calls == [False]  # asked while the screen was still being built
        assert shown == [] and panel_of(app).detail == filled_detail()  # never a spinner
        assert "qemu-system-x86_64" in panel_of(app).text


async def test_the_panel_refreshes_on_an_interval_and_recovers_from_an_error_in_place(monkeypatch):
    from dataclasses import replace

    from test_ui_vm_snapshots import filled_detail

    from kataview.hosts.errors import CommandTimeout
    from kataview.ui.screens import pod_detail

    monkeypatch.setattr(pod_detail, "VM_REFRESH_SECONDS", 0.2)
    first, last = filled_detail(), replace(filled_detail(), pid=777)
    error = CommandTimeout("untrusted-1", "untrusted-1 did not answer within 15s")
    app = make_app(frozen_settings(), classic_source())
    gatherer = app.vm_details = ScriptedGatherer(app, [first, error, last], delay=0.02)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.open_object("Pod", "uid-000005")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen) and settled(app))
        assert panel_of(app).detail == first
        await until(pilot, lambda: panel_of(app).error is not None)
        panel = panel_of(app)
        assert panel.has_class("-stale") and "did not answer within 15s; press r to try again" in panel.text
        assert "PID 48213" in panel.text  # the last detail stays, marked stale
        await until(pilot, lambda: panel_of(app).detail == last and panel_of(app).error is None
                    and settled(app))
        assert "PID 777" in panel_of(app).text and not panel_of(app).has_class("-stale")
        calls = len(gatherer.calls)
        await pilot.press("escape")
        await pilot.pause(0.5)
        assert len(gatherer.calls) == calls  # nothing is gathered once the screen is gone


async def test_the_trust_screen_says_when_the_key_is_a_jump_hosts():
    from textual.app import App

    from kataview.hosts.errors import UnknownHostKey

    error = UnknownHostKey("k8s-worker-3", "unknown host key for jump host bastion for node "
                           "k8s-worker-3 (10.0.0.9)", host="10.0.0.9", port=22, key=None,
                           fingerprint="SHA256:abc", known_hosts="/tmp/known_hosts")
    error.jump_host = "bastion"

    class Holder(App):
        def on_mount(self) -> None:
            self.push_screen(HostKeyScreen(error))

    app = Holder()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        shown = "\n".join(str(w.render()) for w in app.screen.query("Static"))
    assert "jump host    bastion" in shown and "node         k8s-worker-3" in shown
    assert "with the jump host's own (on the jump host:" in shown
