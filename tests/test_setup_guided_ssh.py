"""The guided setup end to end on real parts: a network-namespace test host with its own sshd
and a real containerd daemon inside it (own root, state, socket at the default path, config at
/etc/containerd/config.toml in the host's own mount namespace), plus the API server double.

Over SSH: preflight -> patch (backup + atomic write) -> restart (a test restart program) ->
verify through containerd's CRI Status (forwarded unix socket) that `kata` is loaded ->
RuntimeClass -> label and taint -> undo all. And: read-only refuses every write unsent.
"""

from __future__ import annotations

import json
import os
import stat
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from testhosts import bind_inside, node_for, ssh_options, testnet  # noqa: F401

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.scenario import classic_objects
from kataview.hosts.errors import CommandRefused
from kataview.hosts.ssh import SSHPool
from kataview.kube.connection import ConnectionSettings, connect
from kataview.setup.remote_commands import SetupCommand
from kataview.setup.session import GuidedSession, transcript_path
from kataview.setup.steps.base import StepState
from kataview.setup.transcript import read_transcript
from tests.conftest import require_part
from tests.test_setup_daemon_real import CONTROL

pytestmark = pytest.mark.integration
CONFIG = "/etc/containerd/config.toml"
SOCKET = "/run/containerd/containerd.sock"
NODE = "k8s-worker"
# a realistic operator file: comments and a runc table that must survive byte for byte
OPERATOR_HEAD = "# containerd config, hand-edited by ops (do not lose this comment)\nversion = 2\n"


@dataclass
class ContainerdHost:
    host: object
    etc: Path  # the host's /etc/containerd, seen from outside
    restart: tuple[str, ...]

    @property
    def config(self) -> Path:
        return self.etc / "config.toml"

    def node(self):
        return node_for(self.host, NODE)


def daemon_config(base: Path) -> str:
    return (OPERATOR_HEAD + f'root = "{base}/root"\nstate = "/run/containerd-state"\n\n'
            f'[grpc]\n  address = "{SOCKET}"\n\n'
            f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{base}/opt"\n\n'
            '[plugins."io.containerd.grpc.v1.cri"]\n  stream_server_port = "0"\n\n'
            '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
            '    runtime_type = "io.containerd.runc.v2"  # the default, keep it\n')


def make_containerd_host(net) -> ContainerdHost:
    binary = require_part("containerd", "/usr/bin/containerd")
    host = net.add_host()
    etc = bind_inside(host, "/etc/containerd")
    base = host.directory / "ctrd"
    base.mkdir()
    (etc / "config.toml").write_text(daemon_config(base))
    (etc / "config.toml").chmod(0o640)
    control = host.directory / "containerd-control.py"
    control.write_text(CONTROL)
    restart = ("/usr/bin/python3", str(control), "restart", "/run/containerd.pid", binary, CONFIG,
               "/run/containerd.log")
    return ContainerdHost(host, etc, restart)


@pytest.fixture
def ctrd_host(testnet):
    return make_containerd_host(testnet)


@asynccontextmanager
async def session_for(net, tmp_path, ctrd: ContainerdHost, *, read_only: bool = False, api=None):
    async with ApiServerDouble(classic_objects()) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        async with await connect(ConnectionSettings(str(kubeconfig), read_only=read_only)) as conn:
            pool = SSHPool(ssh_options(net))
            session = GuidedSession(pool, conn.transport, read_only=read_only, state_dir=tmp_path / "state",
                                    restart_command=ctrd.restart, restart_timeout=30, smoke_timeout=1,
                                    network_policy=False, runtime_class_name="kata-e2e")
            try:
                yield session, server, conn.transport
            finally:
                await session.close()


async def test_preflight_on_the_test_host(testnet, ctrd_host, tmp_path):
    ctrd_host.host.run(*ctrd_host.restart)
    async with session_for(testnet, tmp_path, ctrd_host) as (session, _, _):
        report = await session.preflight(ctrd_host.node())
    assert report.kernel == os.uname().release  # a namespace shares the machine's kernel
    assert report.arch == os.uname().machine
    assert report.os != "unknown"
    assert report.distribution == "containerd" and report.runtime_running
    assert report.runtime_version.startswith("1.")
    assert report.config_path == CONFIG and report.config_version == 2 and not report.config_problem
    assert report.configs_found == (CONFIG,)
    assert report.shim is None and report.kata_check_ok is None  # no Kata on this host
    has_kvm = os.path.exists("/dev/kvm")
    assert (report.kvm is not None) == has_kvm
    names = [check.name for check in report.checks()]
    assert names[:4] == ["OS", "kernel", "CPU virtualization", "/dev/kvm"]
    shim = next(c for c in report.checks() if c.name == "Kata shim")
    assert shim.state == "fail"


async def test_guided_flow_over_ssh_end_to_end_and_undo(testnet, ctrd_host, tmp_path):
    original = ctrd_host.config.read_bytes()
    ctrd_host.host.run(*ctrd_host.restart)
    async with session_for(testnet, tmp_path, ctrd_host) as (session, server, transport):
        report = await session.preflight(ctrd_host.node())
        guided = await session.start(ctrd_host.node(), report)
        ctx = guided.ctx
        assert sorted((await ctx.status()).runtime_handlers) == ["runc"]  # CRI Status over SSH
        plans = {step.name: await step.plan() for step in guided.steps}
        assert plans["patch-runtime-config"].kind == "diff"
        assert '+  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]' in plans["patch-runtime-config"].text
        results = await guided.flow.run_all()
        assert all(r.ok for r in results), results
        patched = ctrd_host.config.read_text()
        assert patched.startswith(OPERATOR_HEAD) and "# the default, keep it" in patched
        assert stat.S_IMODE(ctrd_host.config.stat().st_mode) == 0o640  # mode kept by the atomic write
        backups = sorted(ctrd_host.etc.glob("config.toml.kataview-*.bak"))
        assert len(backups) == 1 and backups[0].read_bytes() == original
        assert not list(ctrd_host.etc.glob(".config.toml.kataview-*.tmp"))
        verified = next(r for r in results if r.step == "verify-handler")
        assert "loaded 'kata' (io.containerd.kata.v2)" in verified.message
        restarted = next(r for r in results if r.step == "restart-runtime" and r.action == "apply")
        assert f"node {NODE} Ready" in restarted.message
        assert sorted((await ctx.status()).runtime_handlers) == ["kata", "runc"]
        rc = json.loads(await transport.get_json_bytes("/apis/node.k8s.io/v1/runtimeclasses/kata-e2e"))
        assert rc["handler"] == "kata"
        node = json.loads(await transport.get_json_bytes(f"/api/v1/nodes/{NODE}"))
        assert node["metadata"]["labels"]["example.org/workload"] == "untrusted"
        assert node["spec"]["taints"][-1]["key"] == "example.org/workload"

        again = await guided.flow.run_all()  # re-running is safe: everything is already done
        assert [r.action for r in again] == ["check"] * 5 and all(r.state == StepState.DONE for r in again)

        smoke = next(s for s in guided.steps if s.name == "smoke-test")
        result = await smoke.apply()  # the double never runs the pod: a timeout, pod kept for undo
        assert result.state == StepState.FAILED and "not Running after 1 s" in result.message
        assert (await smoke.undo()).state == StepState.DONE

        undone = await guided.undo_all()
        assert all(r.ok for r in undone), undone
        assert ctrd_host.config.read_bytes() == original
        assert sorted((await ctx.status()).runtime_handlers) == ["runc"]
        node = json.loads(await transport.get_json_bytes(f"/api/v1/nodes/{NODE}"))
        assert "example.org/workload" not in node["metadata"]["labels"]
        assert not any(t["key"] == "example.org/workload" for t in node["spec"].get("taints") or [])
        deleted = [r.path for r in server.requests if r.method == "DELETE"]
        assert deleted == ["/api/v1/namespaces/default/pods/kataview-smoke",
                           "/apis/node.k8s.io/v1/runtimeclasses/kata-e2e"]
        sent = guided.ctx.executor.channel.sent
        assert any("kataview-write" in line for line in sent) and any("kataview-backup" in line for line in sent)
    log = read_transcript(transcript_path(NODE, tmp_path / "state"))
    actions = [(e["step"], e["action"], e["result"]) for e in log]
    assert ("restart-runtime", "apply", "done") in actions and actions[-1] == ("undo-all", "verify", "done")


async def test_read_only_refuses_every_write_unsent(testnet, ctrd_host, tmp_path):
    original = ctrd_host.config.read_bytes()
    ctrd_host.host.run(*ctrd_host.restart)
    async with session_for(testnet, tmp_path, ctrd_host, read_only=True) as (session, server, _):
        guided = await session.start(ctrd_host.node(), await session.preflight(ctrd_host.node()))
        plan = await guided.steps[0].plan()
        assert plan.kind == "diff" and "+" in plan.text  # the plan and the diff still work
        for step in guided.steps:
            if step.mutates:
                result = await step.apply()
                assert result.state == StepState.FAILED and "read-only" in result.message
        executor = guided.ctx.executor
        # below the steps: the SSH executor's guard refuses before anything is sent
        for attempt in (executor.write_text(CONFIG, "broken"), executor.backup(CONFIG),
                        executor.remove(CONFIG), executor.run(ctrd_host.restart),
                        executor.restore(CONFIG + ".bak", CONFIG)):
            with pytest.raises(CommandRefused, match="read-only mode"):
                await attempt
        assert not any("kataview-write" in line or "kataview-backup" in line for line in executor.channel.sent)
        # and the read-only SSH layer never accepts a setup command at all
        connection = await session.pool.connection(ctrd_host.node())
        with pytest.raises(CommandRefused, match="read-only allowlist"):
            await connection.run_script(SetupCommand("write", (CONFIG,)).render())
        with pytest.raises(CommandRefused):
            await connection.run_script(SetupCommand("restart", ctrd_host.restart).render())
        writes = [r for r in server.requests if r.method not in ("GET",)]
        assert writes == []
    assert ctrd_host.config.read_bytes() == original
    assert not list(ctrd_host.etc.glob("*.bak"))
