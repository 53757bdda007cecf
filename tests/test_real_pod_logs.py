"""`l` on the real kube-apiserver v1.37.2: GET pods/NAME/log goes through the apiserver to the
node's kubelet. No kubelet runs here, so a stand-in of ours answers /containerLogs/NS/POD/CONTAINER
over TLS on the node's own loopback address (127.0.1.N, the scenario's InternalIP moved there)
at the port the node reports (daemonEndpoints.kubeletEndpoint). The apiserver dials InternalIP
only (--kubelet-preferred-address-types, realparts/controlplane.py): nothing leaves 127.0.0.0/8."""

from __future__ import annotations

import asyncio
import ipaddress
import time

import pytest
from aiohttp import web

from kataview.demo.tls import make_pki
from kataview.sources.live import LiveSource
from kataview.sources.settings import Settings
from kataview.ui.app import make_app
from kataview.ui.screens.main import MainScreen
from kataview.ui.screens.pod_logs import ContainerPicker, PodLogsScreen
from kataview.ui.widgets.text_pager import TextPager
from kataview.ui.widgets.virtual_table import VirtualTable

pytestmark = pytest.mark.integration

HOSTILE = "stand-in \x1b]0;pwned\x07 says hello"


class KubeletStandIn:
    """Answers the apiserver's container log requests as a kubelet would, and notes them."""

    def __init__(self, pod: dict) -> None:
        self.pod = pod
        self.requests: list[tuple[str, dict, str]] = []  # (path, query, peer address)

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername")[0]
        self.requests.append((request.path, dict(request.query), peer))
        namespace, pod, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        if request.query.get("previous") == "true" and container == "nginx":
            # what the kubelet answers for a container that never terminated
            return web.Response(status=400, text=f'previous terminated container "{container}" in pod "{pod}" not found')
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        for index in range(3):
            await response.write(f"{container} line {index} of {namespace}/{pod}\n".encode())
        await response.write((HOSTILE + "\n").encode())
        index = 3
        while request.query.get("follow") == "true":
            await asyncio.sleep(0.3)
            await response.write(f"{container} followed line {index}\n".encode())
            index += 1
        return response


def restarted_pod(loaded) -> dict:
    for obj in loaded.objects:
        if obj.get("kind") == "Pod" and any(s.get("restartCount") for s in obj["status"].get("containerStatuses") or ()):
            return obj
    raise AssertionError("no restarted pod in the scenario")


def internal_ip(loaded, node_name: str) -> str:
    for obj in loaded.objects:
        if obj.get("kind") == "Node" and obj["metadata"]["name"] == node_name:
            return next(a["address"] for a in obj["status"]["addresses"] if a["type"] == "InternalIP")
    raise AssertionError(node_name)


def served_uid(app, pod: dict) -> str | None:
    """The pod's uid on the real server (it gives its own on create)."""
    meta = pod["metadata"]
    return next((p.uid for p in app.view.snapshot.pods.values()
                 if (p.namespace, p.name) == (meta["namespace"], meta["name"])), None)


async def until(pilot, condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)


def texts(app) -> list[str]:
    return [line.text for line in app.screen.query_one(TextPager).lines]


async def test_logs_reach_the_kubelet_stand_in_through_the_real_apiserver(control_plane, demo_cluster, tmp_path,
                                                                           ui_home):
    pod = restarted_pod(demo_cluster)
    address = internal_ip(demo_cluster, pod["spec"]["nodeName"])
    assert ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8")
    kubelet = KubeletStandIn(pod)
    web_app = web.Application()
    web_app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", kubelet.container_logs)
    runner = web.AppRunner(web_app)
    await runner.setup()
    pki = make_pki(tmp_path / "kubelet-pki", hosts=(address,))
    site = web.TCPSite(runner, address, demo_cluster.kubelet_port, ssl_context=pki.server_context())
    await site.start()
    settings = Settings(read_only=True, theme=None)
    app = make_app(settings, LiveSource(settings, str(control_plane.kubeconfig)))
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: app.view is not None and isinstance(app.screen, MainScreen)
                        and served_uid(app, pod) is not None)
            assert app.screen.query_one("#pods", VirtualTable).move_cursor_to(served_uid(app, pod))
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, PodLogsScreen) and len(texts(app)) >= 5)
            lines = texts(app)
            name = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
            assert lines[0] == f"curl line 0 of {name}"  # the default container: the first
            assert "stand-in ␛]0;pwned␇ says hello" in lines  # terminal-safe, not raw
            assert any("followed line" in line for line in lines)  # follow streams through the apiserver
            path, query, peer = kubelet.requests[0]
            assert path == f"/containerLogs/{name}/curl"
            assert query.get("follow") == "true" and query.get("tailLines") == "10000"
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ContainerPicker))
            await pilot.press("down", "enter")
            await until(pilot, lambda: isinstance(app.screen, PodLogsScreen) and app.screen.container == "nginx"
                        and texts(app) and texts(app)[0].startswith("nginx line 0"))
            await pilot.press("p")  # the kubelet's 400, as the apiserver passes it on
            await until(pilot, lambda: any('previous terminated container "nginx"' in line for line in texts(app)))
            error = texts(app)[-1]
            assert "HTTP 400" in error and app.screen.query_one(TextPager).lines[-1].style == "error"
            await pilot.press("escape")
    finally:
        await runner.cleanup()
    assert kubelet.requests and all(ipaddress.ip_address(peer).is_loopback for _, _, peer in kubelet.requests)
    # read-only held: kataview's own requests were GET/LIST/WATCH, the log one among them
    mine = [e for e in control_plane.audit_events() if e.get("userAgent", "").startswith("kataview")]
    logs = [e for e in mine if (e.get("objectRef") or {}).get("subresource") == "log"]
    assert logs and {e["verb"] for e in logs} == {"get"}
    assert {e["verb"] for e in mine} <= {"get", "list", "watch"}
