"""The guided setup's steps: node-side steps on temp files with a simulated runtime, Kubernetes
steps against the API server double through kataview.kube.connection and the writer."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.scenario import classic_objects
from kataview.kube.connection import ConnectionSettings, connect
from kataview.setup.cri_status import CriStatus, CriStatusError, RuntimeCondition
from kataview.setup.manifests import KATA_DEPLOY, UNTRUSTED_SPLIT, runtime_class_manifest
from kataview.setup.steps.base import PatchRuntimeConfig, SetupContext, StepState
from kataview.setup.steps.kube import (CreateRuntimeClass, IsolateNamespace, LabelAndTaintNode,
                                       SetupFlow)
from kataview.setup.transcript import Transcript, read_transcript

# The simulated runtime: "restart" copies the runtimes of the config file into loaded.json,
# which is what the fake CRI status reports (the real daemon is in test_setup_steps_real.py).
RESTART = r'''
import json, sys, tomllib
config, loaded = sys.argv[1:3]
data = tomllib.load(open(config, "rb"))
runtimes = data["plugins"]["io.containerd.grpc.v1.cri"]["containerd"].get("runtimes", {"runc": {}})
json.dump({"containerd": {"runtimes": runtimes}}, open(loaded, "w"))
'''
CONFIG = 'version = 2\n\n# operator comment\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = "overlayfs"\n'


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)


def fake_runtime(tmp_path: Path) -> dict:
    config, loaded = tmp_path / "config.toml", tmp_path / "loaded.json"
    config.write_text(CONFIG)
    restart = (sys.executable, "-c", RESTART, str(config), str(loaded))

    async def status() -> CriStatus:
        if not loaded.exists():
            raise CriStatusError("not running")
        return CriStatus((RuntimeCondition("RuntimeReady", True),), {"config": loaded.read_text()})
    return {"config_path": str(config), "restart_command": restart, "status_source": status,
            "restart_timeout": 10.0}


def test_patch_step_plan_apply_verify_undo(tmp_path):
    log = tmp_path / "transcript.jsonl"
    ctx = SetupContext(transcript=Transcript(log), **fake_runtime(tmp_path))
    step = PatchRuntimeConfig(ctx)

    async def scenario():
        assert (await step.check()).state == StepState.TODO
        plan = await step.plan()
        assert plan.kind == "diff" and "+[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata]" in plan.text
        applied = await step.apply()
        assert applied.state == StepState.DONE and "backup" in applied.message
        assert (await step.verify()).state == StepState.DONE
        assert (await step.apply()).message.startswith("already configured")  # idempotent
        assert (await step.undo()).state == StepState.DONE
        assert (tmp_path / "config.toml").read_text() == CONFIG
        assert (await step.undo()).state == StepState.SKIPPED
    asyncio.run(scenario())
    entries = read_transcript(log)
    assert [(e["step"], e["action"], e["result"]) for e in entries][:4] == [
        ("patch-runtime-config", "check", "todo"), ("patch-runtime-config", "plan", "ok"),
        ("patch-runtime-config", "apply", "done"), ("patch-runtime-config", "verify", "done")]
    assert all({"time", "step", "action", "result", "detail"} <= set(e) for e in entries)
    assert entries[2]["backup"].endswith(".bak") and Path(entries[2]["backup"]).exists()


async def test_undo_in_a_later_session_uses_the_transcript(tmp_path):
    log = tmp_path / "t.jsonl"
    runtime = fake_runtime(tmp_path)
    assert (await PatchRuntimeConfig(SetupContext(transcript=Transcript(log), **runtime)).apply()).ok
    later = PatchRuntimeConfig(SetupContext(transcript=Transcript(log), **runtime))
    undone = await later.undo()
    assert undone.state == StepState.DONE and (tmp_path / "config.toml").read_text() == CONFIG
    assert (await PatchRuntimeConfig(SetupContext(transcript=Transcript(log), **runtime)).undo()).state == StepState.SKIPPED


async def test_crio_patch_step_creates_and_removes_its_dropin(tmp_path):
    confd = tmp_path / "crio.conf.d"
    confd.mkdir()
    (confd / "10-crio.conf").write_text('[crio.runtime]\ndefault_runtime = "crun"\n')
    step = PatchRuntimeConfig(SetupContext(runtime="crio", config_path=str(confd)))
    assert (await step.apply()).ok
    assert (confd / "50-kataview-kata.conf").exists()
    assert (await step.check()).state == StepState.DONE
    assert (await step.undo()).ok and sorted(p.name for p in confd.iterdir()) == ["10-crio.conf"]


async def test_read_only_plans_but_refuses_to_apply(tmp_path):
    ctx = SetupContext(read_only=True, transcript=Transcript(tmp_path / "t.jsonl"), **fake_runtime(tmp_path))
    flow = SetupFlow(ctx, kubernetes=False)
    plans = await flow.plans()
    assert plans[0].kind == "diff" and plans[1].kind == "commands"
    result = await flow.patch.apply()
    assert result.state == StepState.FAILED and "read-only" in result.message
    assert (await flow.restart.apply()).state == StepState.FAILED
    assert (tmp_path / "config.toml").read_text() == CONFIG and not (tmp_path / "loaded.json").exists()
    assert read_transcript(tmp_path / "t.jsonl")[-1]["result"] == "refused"


async def test_local_flow_with_simulated_runtime(tmp_path):
    ctx = SetupContext(**fake_runtime(tmp_path))
    flow = SetupFlow(ctx, kubernetes=False)
    results = await flow.run_all()
    assert all(r.ok for r in results), results
    assert [(r.step, r.action) for r in results] == [
        ("patch-runtime-config", "apply"), ("patch-runtime-config", "verify"),
        ("restart-runtime", "apply"), ("restart-runtime", "verify"),
        ("verify-handler", "check")]  # its check is the verification, done once restarted
    again = await flow.run_all()  # every step already done: nothing applied
    assert [r.action for r in again] == ["check"] * 3
    undone = await flow.undo_all()
    assert undone[-1].ok and "no longer has 'kata'" in undone[-1].message


# -- Kubernetes steps against the API server double ---------------------------------------------

@pytest.fixture
async def api():
    async with ApiServerDouble(classic_objects()) as server:
        yield server


async def kube_context(api, tmp_path, *, read_only=False, **kw) -> SetupContext:
    path = api.write_kubeconfig(tmp_path / "kubeconfig")
    conn = await connect(ConnectionSettings(str(path), read_only=read_only))
    return SetupContext(transport=conn.transport, node="k8s-worker",
                        transcript=Transcript(tmp_path / "t.jsonl"), **kw)


def writes(api) -> list[tuple[str, str, str]]:
    return [(r.method, r.path, r.query.get("dryRun", "")) for r in api.requests if r.method not in ("GET",)]


async def test_runtime_class_step(api, tmp_path):
    ctx = await kube_context(api, tmp_path, runtime_class_name="kata-kv")
    step = CreateRuntimeClass(ctx)
    try:
        plan = await step.plan()
        assert plan.kind == "yaml" and "handler: kata" in plan.text and "example.org/workload: untrusted" in plan.text
        assert (await step.check()).state == StepState.TODO
        assert (await step.apply()).state == StepState.DONE
        path = "/apis/node.k8s.io/v1/runtimeclasses"
        assert writes(api) == [("POST", path, "All"), ("POST", path, "")]
        assert (await step.verify()).state == StepState.DONE
        assert (await step.apply()).state == StepState.DONE and len(writes(api)) == 2  # idempotent
        assert (await step.undo()).state == StepState.DONE
        assert writes(api)[-1] == ("DELETE", f"{path}/kata-kv", "")
        assert (await step.check()).state == StepState.TODO
        assert (await step.undo()).state == StepState.SKIPPED
    finally:
        await ctx.transport.close()


async def test_existing_runtime_class_is_left_alone(api, tmp_path):
    ctx = await kube_context(api, tmp_path)
    try:
        assert (await CreateRuntimeClass(ctx).check()).state == StepState.DONE  # classic "kata"
        ctx.handler = "kata-qemu"
        ctx.runtime_class_name = "kata"
        result = await CreateRuntimeClass(ctx).apply()
        assert result.state == StepState.FAILED and "exists with handler 'kata'" in result.message
        assert writes(api) == []
    finally:
        await ctx.transport.close()


async def node_of(ctx) -> dict:
    return json.loads(await ctx.transport.get_json_bytes("/api/v1/nodes/k8s-worker"))


@pytest.mark.parametrize("placement", [UNTRUSTED_SPLIT, KATA_DEPLOY], ids=lambda p: p.name)
async def test_label_and_taint_then_undo(api, tmp_path, placement):
    ctx = await kube_context(api, tmp_path, placement=placement)
    try:
        before = await node_of(ctx)
        step = LabelAndTaintNode(ctx)
        assert "kubectl label node k8s-worker" in (await step.plan()).text
        assert (await step.apply()).state == StepState.DONE
        node = await node_of(ctx)
        for key, value in placement.labels.items():
            assert node["metadata"]["labels"][key] == value
        assert [t["key"] for t in node["spec"].get("taints") or []] == [t["key"] for t in placement.taints]
        assert any(q == "All" for _, _, q in writes(api))  # dry run first
        assert (await step.check()).state == StepState.DONE
        # undo from a fresh step object: the transcript remembers what was added
        assert (await LabelAndTaintNode(ctx).undo()).state == StepState.DONE
        after = await node_of(ctx)
        assert after["metadata"]["labels"] == before["metadata"]["labels"]
        assert (after["spec"].get("taints") or []) == (before["spec"].get("taints") or [])
    finally:
        await ctx.transport.close()


async def test_read_only_transport_refuses_kubernetes_steps(api, tmp_path):
    ctx = await kube_context(api, tmp_path, read_only=True)
    try:
        assert (await CreateRuntimeClass(ctx).plan()).kind == "yaml"
        for step in (CreateRuntimeClass(ctx), LabelAndTaintNode(ctx)):
            result = await step.apply()
            assert result.state == StepState.FAILED and "read-only" in result.message
        assert writes(api) == []
    finally:
        await ctx.transport.close()


async def test_network_policy_step(api, tmp_path):
    ctx = await kube_context(api, tmp_path)
    try:
        step = IsolateNamespace(ctx)
        assert "namespace: untrusted" in (await step.plan()).text
        assert (await step.apply()).state == StepState.DONE
        assert (await step.check()).state == StepState.DONE
        assert (await step.undo()).state == StepState.DONE
        assert (await step.check()).state == StepState.TODO
    finally:
        await ctx.transport.close()


def test_runtime_class_manifest_validates():
    with pytest.raises(ValueError):
        runtime_class_manifest("Kata", "kata")
    with pytest.raises(ValueError):
        runtime_class_manifest("kata", "kata.qemu")
    manifest = runtime_class_manifest("kata", "kata", overhead=None, placement=KATA_DEPLOY)
    assert manifest["scheduling"] == {"nodeSelector": {"katacontainers.io/kata-runtime": "true"}}
    assert "overhead" not in manifest
