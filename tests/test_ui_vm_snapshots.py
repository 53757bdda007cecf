"""The VM panel at 80x24 and 160x48 on a frozen clock: filled, an error in place, a changed
host key, and the host-key dialog. A stand-in gatherer returns fixed records (the real
gathering is covered in tests/test_ui_vm.py).

Update with `pytest tests/test_ui_vm_snapshots.py --snapshot-update`, then look at the SVGs in
tests/__snapshots__/test_ui_vm_snapshots/.
"""

from __future__ import annotations

import time

import asyncssh
import pytest

from kataview.hosts.errors import HostKeyChanged, NodeUnreachable, UnknownHostKey
from kataview.model.vm import GuestMetrics, Sandbox, VMDetail
from kataview.ui.app import make_app
from kataview.ui.screens.host_key import HostKeyScreen
from kataview.ui.screens.main import MainScreen
from kataview.ui.widgets.vm_panel import VMPanel
from ui_fixtures import classic_pods, classic_source, frozen_settings, settled

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
SANDBOX = "5f1c0b7e9a2d4c3b8e6f7a1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3"
# a fixed key (not a secret: generated once for this test)
HOST_KEY = asyncssh.import_public_key(
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPr0m3Q1b0kZ2kq0Gm3b0bqQ5Y8xk0n7p7t7m8Yc2xqz kataview-test")


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def filled_detail() -> VMDetail:
    pod = classic_pods()["uid-000005"]
    return VMDetail(
        node="untrusted-1", address="10.0.0.12",
        sandbox=Sandbox(SANDBOX, pod.namespace, pod.name, pod.uid, "crictl", "SANDBOX_READY", "kata"),
        kind="qemu", pid=48213, binary="/opt/kata/bin/qemu-system-x86_64", uptime_seconds=25_212,
        vcpus_boot=1, vcpus_max=8, memory_mib=2048, memory_max_mib=34106, memory_slots=10,
        kernel="/opt/kata/share/kata-containers/vmlinux-6.1.62-132",
        image="/opt/kata/share/kata-containers/kata-ubuntu-latest.image", shared_fs="virtio-fs",
        machine="q35", host_rss_kib=265_503, host_cpu_percent=1.0, host_cpu_recent_percent=0.4,
        host_cpu_seconds=252.0, threads=5, shim_pid=48190, virtiofsd_pids=(48202, 48204),
        overhead_cpu_millis=250, overhead_memory_bytes=160 * 2**20, overhead_source="pod",
        guest=GuestMetrics(2_061_455_360, 1_555_677_817, 1_735_677_817, 0.1, 0.08, 0.03, 5, 87, 12, 41,
                           socket=f"/run/vc/sbs/{SANDBOX}/shim-monitor.sock"),
        sources={"kind": "ps", "vcpus_boot": "cmdline", "image": "cmdline"}, elapsed_ms=23.0)


class StandInPool:
    def address_of(self, node) -> str:
        return node.address() or node.name

    async def close(self) -> None:
        pass


class StandInGatherer:
    """What the VM panel calls, answering with a fixed record or a fixed error."""

    def __init__(self, answer) -> None:
        self.pool = StandInPool()
        self.answer = answer

    async def fetch(self, pod, node, snapshot=None):
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def key_error(kind):
    common = dict(host="10.0.0.12", port=22, key=HOST_KEY, fingerprint=HOST_KEY.get_fingerprint("sha256"),
                  known_hosts="/home/operator/.ssh/known_hosts")
    if kind is HostKeyChanged:
        message = (f"REMOTE HOST IDENTIFICATION HAS CHANGED for untrusted-1 (10.0.0.12): it offered "
                   f"{common['fingerprint']}, which does not match /home/operator/.ssh/known_hosts. Refused; "
                   "kataview never replaces a known key: check with the node's owner, then remove the old "
                   "line yourself (ssh-keygen -R '10.0.0.12' -f /home/operator/.ssh/known_hosts).")
    else:
        message = (f"unknown host key for untrusted-1 (10.0.0.12): {common['fingerprint']}. Refused. Check "
                   "this fingerprint out of band, then trust it (ssh-keyscan 10.0.0.12 >> "
                   "/home/operator/.ssh/known_hosts).")
    return kind("untrusted-1", message, **common)


def showing_vm(answer, **settings):
    app = make_app(frozen_settings(**settings), classic_source())
    app.vm_details = StandInGatherer(answer)

    async def run_before(pilot) -> None:
        deadline = time.monotonic() + 10
        while app.view is None or not isinstance(app.screen, MainScreen):
            assert time.monotonic() < deadline, "no view"
            await pilot.pause(0.02)
        app.open_object("Pod", "uid-000005")
        await pilot.pause()
        while not isinstance(app.screen, HostKeyScreen) and (
                not app.screen.query("#vm-spinner") or app.screen.query_one("#vm-spinner").display):
            assert time.monotonic() < deadline, "the VM panel did not settle"
            await pilot.pause(0.02)
        await pilot.pause()
        if app.screen.query(VMPanel):
            app.screen.query_one("#body").scroll_to_widget(app.screen.query_one(VMPanel), animate=False,
                                                           top=True)
        await pilot.pause()
        await settled(pilot)

    return app, run_before


@pytest.mark.parametrize("size", SIZES)
def test_vm_panel_filled(snap_compare, size):
    app, run_before = showing_vm(filled_detail())
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_vm_panel_unreachable(snap_compare, size):
    error = NodeUnreachable("untrusted-1", "no answer from 10.0.0.12 (untrusted-1) within 10s")
    app, run_before = showing_vm(error)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_vm_panel_host_key_changed(snap_compare, size):
    app, run_before = showing_vm(key_error(HostKeyChanged))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_host_key_dialog(snap_compare, size):
    app, run_before = showing_vm(key_error(UnknownHostKey))
    assert snap_compare(app, terminal_size=size, run_before=run_before)
