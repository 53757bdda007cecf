"""The guided setup screen through Pilot on real parts: a network-namespace test host with sshd
and a real containerd daemon, the API server double. Pick the node, preflight over SSH, see the
config step's diff, Apply (patched over SSH), then Finish -> Undo all (config restored, the
runtime restarted without `kata`)."""

from __future__ import annotations

import time

import pytest
from testhosts import bind_inside, node_for, ssh_options, testnet  # noqa: F401
from ui_fixtures import classic_source, frozen_settings

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.scenario import classic_objects
from kataview.hosts.ssh import SSHPool
from kataview.kube.connection import ConnectionSettings, connect
from kataview.setup.session import GuidedSession
from kataview.setup.transcript import read_transcript
from kataview.ui.app import make_app
from kataview.ui.screens.setup import SetupScreen
from kataview.ui.screens.setup_steps import FinishScreen, NodePickScreen, PreflightScreen, StepScreen
from tests.test_setup_guided_ssh import NODE, make_containerd_host

pytestmark = pytest.mark.integration


async def until(pilot, predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate(pilot.app.screen):
        assert time.monotonic() < deadline, f"stuck on {pilot.app.screen!r}"
        await pilot.pause(0.05)
    await pilot.pause()


async def test_plan_and_apply_the_config_step_through_the_screen(testnet, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    ctrd = make_containerd_host(testnet)
    original = ctrd.config.read_bytes()
    ctrd.host.run(*ctrd.restart)
    async with ApiServerDouble(classic_objects()) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        async with await connect(ConnectionSettings(str(kubeconfig), read_only=False)) as conn:
            session = GuidedSession(SSHPool(ssh_options(testnet)), conn.transport, restart_command=ctrd.restart,
                                    restart_timeout=30, runtime_class_name="kata-ui")
            app = make_app(frozen_settings(), classic_source())
            async with app.run_test(size=(120, 40)) as pilot:
                await app.push_screen(SetupScreen(session, [node_for(ctrd.host, NODE)]))
                await until(pilot, lambda s: isinstance(s, NodePickScreen))
                await pilot.press("enter")
                await until(pilot, lambda s: isinstance(s, PreflightScreen))
                assert app.screen.report.config_path == "/etc/containerd/config.toml"
                await pilot.click("#continue")
                await until(pilot, lambda s: isinstance(s, StepScreen))
                screen = app.screen
                assert screen.plan.kind == "diff" and "runtimes.kata]" in screen.plan.text
                assert not screen.query_one("#apply").disabled
                assert ctrd.config.read_bytes() == original  # planning wrote nothing
                await pilot.click("#apply")
                await until(pilot, lambda s: isinstance(s, StepScreen) and s.index == 1)
                assert "runtimes.kata]" in ctrd.config.read_text()
                assert "wrote /etc/containerd/config.toml" in str(app.screen.last.message)
                await pilot.press("a")  # restart through the test restart program, wait for CRI
                await until(pilot, lambda s: isinstance(s, StepScreen) and s.index == 2)
                assert app.screen.checked.state.value == "done"  # verify: 'kata' is loaded
                await pilot.press("escape")
                await until(pilot, lambda s: isinstance(s, FinishScreen) and s.results is None)
                await pilot.click("#undo-all")
                await until(pilot, lambda s: isinstance(s, FinishScreen) and s.results is not None)
                assert all(result.ok for result in app.screen.results), app.screen.results
                assert ctrd.config.read_bytes() == original
                await pilot.click("#close")
                await until(pilot, lambda s: not isinstance(s, (FinishScreen, SetupScreen)))
    entries = read_transcript(tmp_path / "state" / "kataview" / "setup" / f"{NODE}.jsonl")
    assert ("patch-runtime-config", "apply", "done") in [(e["step"], e["action"], e["result"]) for e in entries]
    assert entries[-1]["step"] == "undo-all" and entries[-1]["result"] == "done"
