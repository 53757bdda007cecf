"""Time from Enter on a Kata pod to a filled VM panel, cold (new SSH connection) and warm
(pooled connection), in the real TUI driven by Pilot.

    python bench/bench_vm_ui.py [ROUNDS]

Targets: a network-namespace test host (real sshd, real paused QEMU, needs root: see
tests/testhosts.py) and the demo's in-process SSH node. Prints figures; asserts nothing.

Two end points, both medians from Enter: "filled" is when the panel is given the detail
(VMPanel.show_detail); "painted" is the first frame Textual writes after that (App._display),
i.e. what the operator sees. "gathering" is the gatherer's own time (VMDetail.elapsed_ms),
which overlaps with building the screen. Cold: the node's SSH connection is closed first.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from kataview.hosts.ssh import SSHPool  # noqa: E402
from kataview.hosts.vmfacts import VMDetailGatherer  # noqa: E402
from kataview.model.records import ClusterSnapshot, Node, NodeAddress, RuntimeClass  # noqa: E402
from kataview.sources.base import SourceInfo  # noqa: E402
from kataview.sources.static import StaticSource  # noqa: E402
from kataview.ui.app import make_app  # noqa: E402
from kataview.ui.screens.main import MainScreen  # noqa: E402
from kataview.ui.screens.pod_detail import PodDetailScreen  # noqa: E402
from kataview.ui.widgets.vm_panel import VMPanel  # noqa: E402


FETCH_MS: list[float] = []  # the gatherer's own time for each fill (VMDetail.elapsed_ms)
PAINTED_MS: list[float] = []  # Enter to the first frame after the fill
FILLED_AT: list[float] = []  # perf_counter() of each VMPanel.show_detail
FRAMES: list[float] = []  # perf_counter() of each frame written (App._display)
TIMEOUT = 30.0


def watch(app) -> None:
    """Time every fill of the panel and every frame the app writes."""
    if not getattr(VMPanel.show_detail, "benched", False):
        show_detail = VMPanel.show_detail

        def timed(self, *args, **kwargs):
            FILLED_AT.append(time.perf_counter())
            return show_detail(self, *args, **kwargs)

        timed.benched = True
        VMPanel.show_detail = timed
    display = app._display

    def frame(*args, **kwargs):
        FRAMES.append(time.perf_counter())
        return display(*args, **kwargs)

    app._display = frame


async def open_and_wait(app, pilot, uid: str) -> float:
    """Enter on the pod (open_object is what Enter calls) until the panel shows a detail and
    a frame with it has been written; returns Enter to fill, in ms."""
    FILLED_AT.clear()
    started = time.perf_counter()
    deadline = time.monotonic() + TIMEOUT
    app.open_object("Pod", uid)
    while True:
        screen = app.screen
        if isinstance(screen, PodDetailScreen) and screen.query(VMPanel):
            panel = screen.query_one(VMPanel)
            if panel.detail is not None and not screen.query_one("#vm-spinner").display:
                filled = FILLED_AT[0]
                FETCH_MS.append(panel.detail.elapsed_ms or 0.0)
                break
            if panel.error is not None:
                raise RuntimeError(f"VM panel error: {panel.error}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the VM panel was not filled within {TIMEOUT:g}s")
        await asyncio.sleep(0.001)
    while not any(at >= filled for at in FRAMES):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no frame was written within {TIMEOUT:g}s of the fill")
        await asyncio.sleep(0.001)
    PAINTED_MS.append((min(at for at in FRAMES if at >= filled) - started) * 1000)
    FRAMES.clear()
    await pilot.press("escape")
    while not isinstance(app.screen, MainScreen):
        if time.monotonic() > deadline:
            raise RuntimeError("escape did not return to the main screen")
        await asyncio.sleep(0.001)
    return (filled - started) * 1000


async def measure(app, uid: str, rounds: int, forget=None) -> tuple[list[float], list[float]]:
    cold, warm = [], []
    async with app.run_test(size=(160, 48)) as pilot:
        watch(app)
        while app.view is None or uid not in app.view.snapshot.pods:
            await pilot.pause(0.02)
        for _ in range(rounds):
            if forget is not None:
                forget(app)
            cold.append(await open_and_wait(app, pilot, uid))
            warm.append(await open_and_wait(app, pilot, uid))
    return cold, warm


def report(name: str, cold: list[float], warm: list[float]) -> None:
    fetch_cold, fetch_warm = FETCH_MS[0::2], FETCH_MS[1::2]
    painted_cold, painted_warm = PAINTED_MS[0::2], PAINTED_MS[1::2]
    med = statistics.median
    print(f"{name}, {len(cold)} rounds, medians (min-max), ms from Enter:\n"
          f"  cold: filled {med(cold):.0f} ({min(cold):.0f}-{max(cold):.0f}), painted "
          f"{med(painted_cold):.0f} ({min(painted_cold):.0f}-{max(painted_cold):.0f}), gathering {med(fetch_cold):.0f}\n"
          f"  warm: filled {med(warm):.0f} ({min(warm):.0f}-{max(warm):.0f}), painted "
          f"{med(painted_warm):.0f} ({min(painted_warm):.0f}-{max(painted_warm):.0f}), gathering {med(fetch_warm):.0f}")
    FETCH_MS.clear()
    PAINTED_MS.clear()


def forget_connections(app) -> None:
    pool = app.vm_gatherer().pool
    for name in pool.connected():
        pool.forget(name)


async def test_host(rounds: int) -> None:
    from testhosts import TestNet, pod_for, ssh_options

    with TestNet() as net:
        host = net.add_host()
        vm = host.start_qemu(vcpus=2, maxcpus=4, memory_mib=2048, maxmem_mib=4096, pod_name="bench-0")
        host.start_shim(vm)
        host.write_persist(vm)
        host.start_monitor(vm)
        host.install_crictl()
        node = Node("bench-node", addresses=(NodeAddress("InternalIP", host.address),))
        pod = pod_for(vm, node.name)
        rc = RuntimeClass("kata-qemu", "kata-qemu")
        snapshot = ClusterSnapshot(nodes={node.name: node}, pods={pod.uid: pod}, runtime_classes={rc.name: rc})
        from kataview.sources.settings import Settings

        app = make_app(Settings(), StaticSource(snapshot, None, SourceInfo("bench", "https://127.0.0.1:1")))
        app.vm_details = VMDetailGatherer(SSHPool(ssh_options(net)))
        cold, warm = await measure(app, pod.uid, rounds, forget_connections)
        report(f"namespace test host {host.address} (sshd + paused QEMU)", cold, warm)


async def demo(rounds: int) -> None:
    from kataview.sources.live import DemoSource
    from kataview.sources.settings import Settings

    settings = Settings(demo=True)
    app = make_app(settings, DemoSource(settings))
    async with app.run_test(size=(160, 48)) as pilot:
        watch(app)
        while app.view is None or not any(p.runtime_class_name == "kata-qemu" for p in app.view.snapshot.pods.values()):
            await pilot.pause(0.02)
        uid = next(p.uid for p in app.view.snapshot.pods.values() if p.runtime_class_name == "kata-qemu")
        cold, warm = [], []
        for _ in range(rounds):
            if app.vm_details is not None:
                forget_connections(app)
            cold.append(await open_and_wait(app, pilot, uid))
            warm.append(await open_and_wait(app, pilot, uid))
    report("demo SSH node (in-process asyncssh server on 127.0.0.1)", cold, warm)


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    asyncio.run(demo(rounds))
    try:
        asyncio.run(test_host(rounds))
    except Exception as error:  # no root, no sshd/qemu: say so, the demo figure stands
        print(f"namespace test host: skipped ({type(error).__name__}: {error})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
