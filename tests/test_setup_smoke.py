"""The smoke-test step against the API server double: manifest, dry run then create, wait for
Running (the double never runs pods: the test sets the status), the VM probe's verdict, delete
on undo; and the timeout when the pod never runs."""

from __future__ import annotations

import asyncio
import json

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.scenario import classic_objects
from kataview.kube.connection import ConnectionSettings, connect
from kataview.setup.steps.base import SetupContext, StepState
from kataview.setup.steps.smoke import SmokeTest

POD = "/api/v1/namespaces/default/pods/kataview-smoke"


async def test_smoke_pod_created_waited_for_probed_and_deleted(tmp_path):
    async with ApiServerDouble(classic_objects()) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        async with await connect(ConnectionSettings(str(kubeconfig), read_only=False)) as conn:
            async def probe(pod):
                assert pod["metadata"]["name"] == "kataview-smoke"
                return "6.1.62-132 (qemu pid 4242)", "6.1.0-18-amd64"

            ctx = SetupContext(node="k8s-worker", transport=conn.transport, runtime_class_name="kata")
            step = SmokeTest(ctx, timeout=10, probe=probe)

            async def kubelet():  # what the node would do: the pod starts running
                while True:
                    await asyncio.sleep(0.1)
                    try:
                        await conn.transport.request("PATCH", POD + "/status", {"status": {"phase": "Running"}},
                                                     content_type="application/merge-patch+json")
                        return
                    except Exception:
                        continue

            runner = asyncio.create_task(kubelet())
            result = await step.apply()
            await runner
            assert result.state == StepState.DONE, result
            assert "guest kernel 6.1.62-132 (qemu pid 4242), host kernel 6.1.0-18-amd64" in result.message
            posts = [r for r in api.requests if r.method == "POST"]
            assert [r.query.get("dryRun") for r in posts] == ["All", None]
            created = json.loads(await conn.transport.get_json_bytes(POD))
            assert created["spec"]["runtimeClassName"] == "kata" and created["spec"]["nodeName"] == "k8s-worker"
            assert (await step.check()).state == StepState.DONE
            assert (await step.undo()).state == StepState.DONE
            assert (await step.check()).state == StepState.TODO


async def test_timeout_fails_and_a_later_undo_deletes_the_pod(tmp_path):
    async with ApiServerDouble(classic_objects()) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        async with await connect(ConnectionSettings(str(kubeconfig), read_only=False)) as conn:
            ctx = SetupContext(node="k8s-worker", transport=conn.transport)
            result = await SmokeTest(ctx, timeout=0.3).apply()
            assert result.state == StepState.FAILED and "not Running after 0.3 s: phase" in result.message
            assert (await SmokeTest(ctx).undo()).state == StepState.DONE  # found in the transcript
            assert not [r for r in api.requests if r.method == "DELETE"][1:]
