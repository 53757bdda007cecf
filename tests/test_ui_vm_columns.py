"""Issue 16.6: HYPERVISOR, VCPU and VM MEM in the pods list, and the per-runtime and cluster
totals of the declared overhead, checked against the demo scenario's RuntimeClasses."""

from __future__ import annotations

import pytest

from kataview.model.cluster_view import build_view
from kataview.model.quantity import format_bytes, format_millis
from kataview.model.records import WatchState
from kataview.model.vm import VMSummary
from kataview.model.vm_cost import hypervisor
from kataview.sources.static import StaticSource, classic_demo_snapshot
from kataview.ui.app import make_app
from kataview.ui.widgets.virtual_table import SectionHeader, VirtualTable
from test_ui_pilot import started
from ui_fixtures import FROZEN_NOW, frozen_settings

LIVE = WatchState(phase="live", synced=5, total=5)


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


def expected_overhead(snapshot, pod):
    """What the scenario declares for the pod: spec.overhead, else its RuntimeClass's."""
    rc = snapshot.runtime_classes.get(pod.runtime_class_name or "")
    if pod.overhead:
        from kataview.model.quantity import cpu_millis, memory_bytes
        return cpu_millis(pod.overhead.get("cpu")), memory_bytes(pod.overhead.get("memory"))
    return (rc.overhead_cpu_millis, rc.overhead_memory_bytes) if rc else (None, None)


def test_group_totals_sum_the_declared_overheads():
    snapshot = classic_demo_snapshot(FROZEN_NOW)
    view = build_view(snapshot, LIVE)
    checked = 0
    for group in view.pod_groups:
        pods = [row.pod for row in group.rows if row.pod.node_name and not row.pod.finished]
        if group.family not in ("kata", "gvisor"):
            assert group.vm_totals.sandboxes == 0
            continue
        declared = [expected_overhead(snapshot, pod) for pod in pods]
        assert group.vm_totals.sandboxes == len(pods)
        assert group.vm_totals.cpu_millis == sum(c or 0 for c, _ in declared)
        assert group.vm_totals.memory_bytes == sum(m or 0 for _, m in declared)
        checked += group.vm_totals.cpu_millis > 0
    assert checked >= 4  # kata, kata-clh, kata-fc, kata-qemu declare overhead in the scenario


def test_totals_follow_a_pod_change_incrementally():
    snapshot = classic_demo_snapshot(FROZEN_NOW)
    view = build_view(snapshot, LIVE)
    import dataclasses
    pods = dict(snapshot.pods)
    uid, pod = next((uid, p) for uid, p in pods.items() if p.runtime_class_name == "kata-qemu")
    pods[uid] = dataclasses.replace(pod, phase="Succeeded")  # finished: no sandbox any more
    after = build_view(dataclasses.replace(snapshot, pods=pods), LIVE, view)
    before_group = next(g for g in view.pod_groups if g.label == "kata-qemu")
    after_group = next(g for g in after.pod_groups if g.label == "kata-qemu")
    rc = snapshot.runtime_classes["kata-qemu"]
    assert after_group.vm_totals.sandboxes == before_group.vm_totals.sandboxes - 1
    cpu, memory = expected_overhead(snapshot, pod)
    assert after_group.vm_totals.cpu_millis == before_group.vm_totals.cpu_millis - cpu
    assert after_group.vm_totals.memory_bytes == before_group.vm_totals.memory_bytes - memory
    assert rc.overhead_memory_bytes is not None


def test_hypervisor_from_the_handler():
    assert hypervisor("kata-clh", "kata") == "cloud-hypervisor"
    assert hypervisor("kata-fc", "kata") == "firecracker"
    assert hypervisor("kata-qemu", "kata") == "qemu"
    assert hypervisor("kata", "kata") == "qemu ~"  # the default configuration: inferred
    assert hypervisor("runsc", "gvisor") == "gvisor"
    assert hypervisor("", "runc") == ""


def cells(table: VirtualTable, row) -> dict[str, str]:
    return {column.title: column.value(row) for column in table.columns}


async def test_the_pods_list_shows_vm_columns_headers_and_gathered_figures():
    snapshot = classic_demo_snapshot(FROZEN_NOW)
    app = make_app(frozen_settings(), StaticSource(snapshot))
    async with app.run_test(size=(220, 60)) as pilot:
        await started(pilot)
        table = app.screen.query_one("#pods", VirtualTable)
        shown = [c.title for c, _ in table.layout_at().columns]
        assert {"HYPERVISOR", "VCPU", "VM MEM"} <= set(shown)
        row = next(r for r in table.lines if not isinstance(r, SectionHeader) and r.runtime == "kata-clh")
        rc = snapshot.runtime_classes["kata-clh"]
        cpu, memory = expected_overhead(snapshot, row.pod)
        assert cells(table, row)["HYPERVISOR"] == "cloud-hypervisor"
        assert cells(table, row)["VCPU"] == format_millis(cpu) and cells(table, row)["VM MEM"] == format_bytes(memory)
        assert rc.overhead_cpu_millis == cpu
        header = next(line for line in table.lines if isinstance(line, SectionHeader) and "kata-clh" in line.text)
        assert f"1 VM: overhead {format_millis(cpu)} CPU, {format_bytes(memory)}" in header.text
        kata = [g for g in app.view.pod_groups if g.family in ("kata", "gvisor")]
        assert f"{sum(g.vm_totals.sandboxes for g in kata)} sandboxes" in table.border_title
        # gathered over SSH (the node detail's list): the VM's own figures replace the declared ones
        app.remember_vm(row.key, VMSummary(node=row.node, sandbox_id="abc", kind="cloud-hypervisor", pid=7,
                                           vcpus_boot=1, memory_mib=2048, host_rss_kib=265216))
        assert cells(table, row)["VCPU"] == "1" and cells(table, row)["VM MEM"] == "2048Mi rss 259Mi"


async def test_node_detail_shows_its_kata_vms_table_above_the_fold_at_160x48():
    snapshot = classic_demo_snapshot(FROZEN_NOW)
    app = make_app(frozen_settings(), StaticSource(snapshot))
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        busiest = max(snapshot.nodes, key=lambda name: sum(p.node_name == name for p in snapshot.pods.values()))
        app.open_object("Node", busiest)
        await pilot.pause(0.3)
        table = app.screen.query_one("#node-vms", VirtualTable)
        region = table.region
        assert region.height > 0 and region.y + region.height <= 48 - 1  # above the footer, unscrolled
