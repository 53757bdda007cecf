"""The guided setup screen through Pilot.

On real parts: a network-namespace test host with sshd and a real containerd daemon, the API
server double. Pick the node, preflight over SSH, see the config step's diff, Apply (patched
over SSH), then Finish -> Undo all (config restored, the runtime restarted without `kata`).

On the stand-in backend: every page's footer lists that page's keys and the App keys that work
there (quit, help, theme), never the dashboard's (namespace, log), and those keys are inert."""

from __future__ import annotations

import time

import pytest
from testhosts import bind_inside, node_for, ssh_options, testnet  # noqa: F401
from textual.widgets import Footer
from ui_fixtures import classic_source, frozen_settings

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.scenario import classic_objects
from kataview.hosts.ssh import SSHPool
from kataview.kube.connection import ConnectionSettings, connect
from kataview.setup.demo_session import NODES, DemoSetupSession
from kataview.setup.session import GuidedSession
from kataview.setup.transcript import read_transcript
from kataview.ui.app import make_app
from kataview.ui.screens.setup import SetupScreen
from kataview.ui.screens.setup_steps import FinishScreen, NodePickScreen, PreflightScreen, StepScreen
from tests.test_setup_guided_ssh import NODE, make_containerd_host


async def until(pilot, predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate(pilot.app.screen):
        assert time.monotonic() < deadline, f"stuck on {pilot.app.screen!r}"
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.mark.integration
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


APP_KEYS = ["q Quit", "? Help", "^t Theme"]
DASHBOARD_ONLY = {"Namespace", "kataview log", "Logs", "YAML", "Describe", "Filter", "Next pane"}


def footer_keys(screen) -> list[str]:
    """The footer on screen as the operator reads it: "key Description", in order."""
    footer = screen.query_one(Footer)
    return [f"{key.key_display} {key.description}" for key in footer.query("FooterKey") if key.description]


def shown_bindings(screen) -> list[str]:
    """What the footer of `screen` lists when it is on top (Footer composes from these)."""
    return [f"{screen.app.get_key_display(active.binding)} {active.binding.description}"
            for active in screen.active_bindings.values() if active.binding.show]


async def check_page(pilot, page_type, own_keys: list[str]) -> None:
    await until(pilot, lambda s: isinstance(s, page_type))
    screen = pilot.app.screen
    assert screen.styles.background.a == 1  # modal for its keys, but a whole page: nothing shows through
    assert footer_keys(screen) == shown_bindings(screen) == own_keys + APP_KEYS
    assert not DASHBOARD_ONLY & {entry.split(" ", 1)[1] for entry in footer_keys(screen)}
    await pilot.press("n", "L")  # the dashboard's namespace picker and log do not open here
    await pilot.pause()
    assert pilot.app.screen is screen
    await pilot.press("question_mark")  # help lists this page's keys, with their ids
    await until(pilot, lambda s: type(s).__name__ == "HelpScreen")
    text = str(pilot.app.screen.query_one("#help-text").render())
    assert "This screen" in text and "toggle-theme" in text
    assert "Everywhere" not in text and "Lists" not in text  # no dashboard-only or list keys
    assert not {"Namespace", "kataview", "Logs", "Filter"} & {line.split()[1] for line in text.splitlines() if line.startswith("  ")
                                                and len(line.split()) > 2}
    await pilot.press("escape")
    await until(pilot, lambda s: s is screen)


@pytest.mark.parametrize("start", ["dashboard", "setup"])
async def test_setup_footer_lists_its_own_keys_not_the_dashboards(start, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    if start == "setup":  # `kataview setup`: the setup screen is the app's first screen
        app = make_app(frozen_settings(), classic_source(), start="setup")
        app.get_default_screen = lambda: SetupScreen(DemoSetupSession(False), NODES)
    else:  # opened over the dashboard
        app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        if start == "dashboard":
            await pilot.pause()
            dashboard = app.screen
            assert {"Namespace", "kataview log"} <= {entry.split(" ", 1)[1] for entry in footer_keys(dashboard)}
            await app.push_screen(SetupScreen(DemoSetupSession(False), NODES))
        setup = next(screen for screen in app.screen_stack if isinstance(screen, SetupScreen))
        assert shown_bindings(setup) == APP_KEYS  # under the pages, while it says what is being done
        await check_page(pilot, NodePickScreen, ["esc Cancel"])
        await pilot.press("enter")
        await check_page(pilot, PreflightScreen, ["⏎ Continue", "esc Cancel"])
        await pilot.press("enter")
        await check_page(pilot, StepScreen, ["a Apply", "s Skip", "u Undo", "b Back", "esc Finish"])
        await pilot.press("escape")
        await check_page(pilot, FinishScreen, ["esc Close"])
        await pilot.press("escape")
        if start == "dashboard":  # back on the dashboard: its keys are back
            await until(pilot, lambda s: s is dashboard)
            assert {"Namespace", "kataview log"} <= {entry.split(" ", 1)[1] for entry in footer_keys(dashboard)}


async def test_setup_keys_follow_the_keymap(tmp_path, monkeypatch):
    """The App keys a page binds again keep the App's ids: a remap in config.toml applies."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = make_app(frozen_settings(keymap={"help": "h", "quit": "ctrl+q"}), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await app.push_screen(SetupScreen(DemoSetupSession(False), NODES))
        await until(pilot, lambda s: isinstance(s, NodePickScreen))
        assert set(footer_keys(app.screen)) == {"esc Cancel", "^q Quit", "h Help", "^t Theme"}
        await pilot.press("h")
        await until(pilot, lambda s: type(s).__name__ == "HelpScreen")
