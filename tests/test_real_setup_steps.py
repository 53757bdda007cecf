"""The guided setup's cluster steps against the real kube-apiserver (issue 14.5): RuntimeClass,
node label and taint, the smoke-test pod and the NetworkPolicy are validated by the real server
(admission and schema included), every write is sent with dryRun=All first (seen in the audit
log), and undo leaves the cluster as it was (a before/after dump).

No kubelet runs: a stand-in of ours plays it for the smoke-test pod only (Running once created,
deleted once marked for deletion), as scenario_load does for the scenario's pods."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.error
from urllib.parse import parse_qs, urlsplit

import pytest

from kataview.kube.connection import ConnectionSettings, connect
from kataview.setup.steps.base import SetupContext, StepState
from kataview.setup.steps.kube import CreateRuntimeClass, IsolateNamespace, LabelAndTaintNode
from kataview.setup.steps.smoke import SmokeTest
from kataview.setup.transcript import Transcript

pytestmark = pytest.mark.integration

SMOKE = "/api/v1/namespaces/default/pods/kataview-smoke"
DUMPED = ["/api/v1/nodes", "/apis/node.k8s.io/v1/runtimeclasses", "/api/v1/pods",
          "/apis/networking.k8s.io/v1/networkpolicies", "/api/v1/namespaces"]
VOLATILE = ("resourceVersion", "managedFields")  # change with any write, even one undone


@pytest.fixture(autouse=True)
def isolated(isolated_home):
    return isolated_home


def dump(cp) -> dict:
    def clean(obj: dict) -> dict:
        meta = {k: v for k, v in obj["metadata"].items() if k not in VOLATILE}
        return {**obj, "metadata": meta}
    return {path: sorted((clean(o) for o in cp.request("GET", path)["items"]),
                         key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
            for path in DUMPED}


async def kubelet_stand_in(cp) -> None:
    """What the node's kubelet would do for the smoke-test pod: report it Running, and delete
    it for good once it is marked for deletion."""
    running = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                          "containerStatuses": [{"name": "smoke", "ready": True, "restartCount": 0,
                                                 "image": "busybox", "imageID": "",
                                                 "state": {"running": {}}}]}}
    while True:
        with contextlib.suppress(urllib.error.HTTPError):
            pod = await asyncio.to_thread(cp.request, "GET", SMOKE)
            if pod["metadata"].get("deletionTimestamp"):
                await asyncio.to_thread(cp.request, "DELETE", SMOKE + "?gracePeriodSeconds=0")
            elif pod.get("status", {}).get("phase") != "Running":
                await asyncio.to_thread(cp.request, "PATCH", SMOKE + "/status", running,
                                        content_type="application/merge-patch+json")
        await asyncio.sleep(0.2)


def writes_of(cp, since: int) -> list[tuple[str, str, bool]]:
    """(verb, path, dry run) of the admin's writes in the audit log after event `since`."""
    out = []
    for event in cp.audit_events()[since:]:
        if event["user"]["username"] != "admin" or event["verb"] in ("get", "list", "watch"):
            continue
        uri = urlsplit(event["requestURI"])
        if uri.path.startswith(SMOKE) and event["verb"] in ("patch", "delete") and (
                "gracePeriodSeconds" in uri.query or uri.path.endswith("/status")):
            continue  # the kubelet stand-in's
        out.append((event["verb"], uri.path, parse_qs(uri.query).get("dryRun") == ["All"]))
    return out


async def test_the_cluster_steps_on_the_real_server_and_undo(demo_cluster, control_plane, tmp_path):
    cp = control_plane
    before, audit_from = dump(cp), len(cp.audit_events())
    async with await connect(ConnectionSettings(str(cp.kubeconfig), read_only=False)) as connection:
        ctx = SetupContext(transport=connection.transport, node="k8s-worker",
                           runtime_class_name="kata-real", transcript=Transcript(tmp_path / "t.jsonl"))
        steps = [CreateRuntimeClass(ctx), LabelAndTaintNode(ctx), SmokeTest(ctx, timeout=30),
                 IsolateNamespace(ctx)]
        kubelet = asyncio.create_task(kubelet_stand_in(cp))
        try:
            for step in steps:
                assert (await step.check()).state == StepState.TODO, step.name
                result = await step.apply()
                assert result.state == StepState.DONE, (step.name, result.message)
                assert (await step.verify()).state == StepState.DONE, step.name
            applied, applied_at = dump(cp), len(cp.audit_events())
            runtime_class = cp.request("GET", "/apis/node.k8s.io/v1/runtimeclasses/kata-real")
            assert runtime_class["handler"] == "kata"
            smoke = cp.request("GET", SMOKE)
            assert smoke["spec"]["runtimeClassName"] == "kata-real"
            assert smoke["spec"]["overhead"] == runtime_class["overhead"]["podFixed"]  # admission
            for step in reversed(steps):
                assert (await step.undo()).state == StepState.DONE, step.name
            await until_gone(cp, SMOKE)
        finally:
            kubelet.cancel()
            await asyncio.gather(kubelet, return_exceptions=True)
    assert applied != before
    assert dump(cp) == before
    applies = writes_of(cp, audit_from)[:len(writes_of(cp, audit_from)) - len(writes_of(cp, applied_at))]
    real = [(verb, path) for verb, path, dry in applies if not dry]
    dry = [(verb, path) for verb, path, dry in applies if dry]
    assert len(real) >= 4 and all(write in dry for write in real), applies  # each dry-run first


async def until_gone(cp, path: str, timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            await asyncio.to_thread(cp.request, "GET", path)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{path} still there after {timeout} s")
