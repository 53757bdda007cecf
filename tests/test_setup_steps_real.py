"""The guided flow end to end on real parts: a real containerd daemon (own root, state, socket)
and the demo API server. patch -> restart (the test's restart program) -> verify through the CRI
Status client -> RuntimeClass created (dry run first) -> node labelled and tainted -> undo all."""

from __future__ import annotations

import json

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.scenario import classic_objects
from kataview.kube.connection import ConnectionSettings, connect
from kataview.setup.steps.base import SetupContext, StepState
from kataview.setup.steps.kube import SetupFlow
from kataview.setup.transcript import Transcript, read_transcript
from tests.conftest import require_part, require_root
from tests.test_setup_daemon_real import Daemon, daemon_config

pytestmark = pytest.mark.integration


@pytest.fixture
def daemon(tmp_path_factory):
    binary = require_part("containerd", "/usr/bin/containerd")
    require_root("containerd needs root")
    base = tmp_path_factory.mktemp("ctrd")
    config = base / "config.toml"
    config.write_text(daemon_config(base))
    running = Daemon(binary, base, config)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)


async def test_guided_flow_end_to_end_and_undo(daemon, tmp_path):
    original = daemon.config.read_bytes()
    daemon.restart()
    async with ApiServerDouble(classic_objects()) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        async with await connect(ConnectionSettings(str(kubeconfig), read_only=False)) as conn:
            log = tmp_path / "setup.jsonl"
            ctx = SetupContext(config_path=str(daemon.config), restart_command=daemon.command("restart"),
                               cri_socket=daemon.socket, restart_timeout=30, node="k8s-worker",
                               transport=conn.transport, runtime_class_name="kata-e2e",
                               transcript=Transcript(log))
            flow = SetupFlow(ctx)
            assert [p.kind for p in await flow.plans()] == ["diff", "commands", "none", "yaml", "commands"]
            results = await flow.run_all()
            assert all(r.ok for r in results), results
            verified = next(r for r in results if r.step == "verify-handler")
            assert "loaded 'kata' (io.containerd.kata.v2)" in verified.message
            handlers = (await ctx.status()).runtime_handlers
            assert sorted(handlers) == ["kata", "runc"]
            created = json.loads(await conn.transport.get_json_bytes(
                "/apis/node.k8s.io/v1/runtimeclasses/kata-e2e"))
            assert created["handler"] == "kata" and created["scheduling"]["tolerations"][0]["effect"] == "NoSchedule"
            node = json.loads(await conn.transport.get_json_bytes("/api/v1/nodes/k8s-worker"))
            assert node["metadata"]["labels"]["example.org/workload"] == "untrusted"
            assert node["spec"]["taints"][0]["key"] == "example.org/workload"

            undone = await flow.undo_all()
            assert all(r.ok for r in undone), undone
            assert undone[-1].step == "undo-all" and undone[-1].state == StepState.DONE
            assert daemon.config.read_bytes() == original
            assert sorted((await ctx.status()).runtime_handlers) == ["runc"]
            node = json.loads(await conn.transport.get_json_bytes("/api/v1/nodes/k8s-worker"))
            assert "example.org/workload" not in node["metadata"]["labels"]
            assert not node["spec"].get("taints")
            runtime_classes = [r.path for r in api.requests if r.method == "DELETE"]
            assert runtime_classes == ["/apis/node.k8s.io/v1/runtimeclasses/kata-e2e"]
    actions = [(e["step"], e["action"], e["result"]) for e in read_transcript(log)]
    assert ("restart-runtime", "apply", "done") in actions and actions[-1] == ("undo-all", "verify", "done")
