"""The guided setup (`kataview setup`): a worker walks the operator through the pages with
`push_screen_wait`, so the whole flow reads as straight-line code in `_wizard`. This screen
stays underneath and shows what is being done while a page is not up (preflight, apply).

The backend is a `GuidedSession` (kataview.setup.session): built from the settings unless a
test passes one. Read-only mode is enforced below the UI (the SSH executor and the Kubernetes
transport refuse writes); the pages also disable Apply and Undo so nobody tries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Footer, Static

from kataview.hosts.errors import NodeError
from kataview.model.records import Node
from kataview.model.terminal_text import terminal_safe
from kataview.setup.steps.base import StepPlan, StepResult, StepState
from kataview.ui.screens.setup_steps import (APP_KEYS, FinishScreen, NodePickScreen, PreflightScreen,
                                             SetupPage, StepScreen)

logger = logging.getLogger("kataview")


async def session_for(app: Any) -> Any:
    """As `kataview setup` connects: to the cluster the app's source watches (with --demo the
    demo's own kubeconfig and SSH node, never the default kubeconfig), writable unless
    --read-only (then plan only)."""
    from kataview.hosts.ssh import SSHOptions, SSHPool
    from kataview.setup.session import GuidedSession
    from kataview.sources.live import setup_connection

    settings, source = app.settings, app.source
    kubeconfig = getattr(source, "kubeconfig", None)
    if settings.demo and kubeconfig is None:
        raise RuntimeError("the demo cluster is not running")
    overrides = source.ssh_overrides() if hasattr(source, "ssh_overrides") else {}
    connection = await setup_connection(settings, kubeconfig)
    session = GuidedSession(SSHPool(SSHOptions.from_settings(settings, **overrides)),
                            connection.transport, read_only=settings.read_only)
    session.owned.append(connection)
    return session


def waiting_text(app: Any) -> str:
    """What the screen says while the app's source has not listed the nodes yet."""
    view = app.view
    if view is None:
        errors = [text for _, level, text in app.log_entries if level == "error"]
        server = app.source.info.server
        return f"connecting to {server}…" + (f" ({errors[-1]})" if errors else "")
    state = view.state
    if state.phase == "syncing":
        return f"listing the cluster's nodes… ({state.label})"
    return f"listing the cluster's nodes… ({state.label}: {state.last_error or 'retrying'})"


class SetupScreen(SetupPage[None]):
    """Under the pages: what is being done while none is up (connecting, preflight, apply).
    Modal like the pages (see setup_steps): only the App keys that apply here."""

    BINDINGS = APP_KEYS

    def __init__(self, session: Any = None, nodes: list[Node] | None = None) -> None:
        super().__init__()
        self.session, self.nodes = session, nodes
        self.guided: Any = None

    @property
    def read_only(self) -> bool:
        return bool(getattr(self.session, "read_only", self.app.settings.read_only))

    def compose(self) -> ComposeResult:
        yield Static("Guided setup", id="setup-title")
        yield Static("starting…", id="setup-progress", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._wizard()

    def say(self, text: str) -> None:
        self.query_one("#setup-progress", Static).update(Content(terminal_safe(text, lines=True)))

    async def _node_list(self) -> list[Node]:
        """The nodes once the app's source has listed them: its first views come while it is
        still syncing, with no nodes yet. Waits as long as it takes (q quits), saying why."""
        if self.nodes is not None:
            return self.nodes
        while True:
            view = self.app.view
            if view is not None and view.state.phase != "syncing" and (
                    view.snapshot.nodes or view.state.phase == "live"):
                return sorted(view.snapshot.nodes.values(), key=lambda node: node.name)
            self.say(waiting_text(self.app))
            await asyncio.sleep(0.1)

    @work(group="setup", exclusive=True, exit_on_error=False)
    async def _wizard(self) -> None:
        try:
            nodes = await self._node_list()
            if self.session is None:
                self.say("connecting to the cluster for the setup…")
                self.session = await session_for(self.app)
        except Exception as error:  # noqa: BLE001 - a worker would swallow it: show it
            logger.warning("the guided setup could not start: %s", error, exc_info=True)
            self.say(f"cannot start the guided setup: {error} · q quits")
            return
        try:
            await self._walk(nodes)
        finally:
            await self.session.close()
        self._leave()

    async def _walk(self, node_list: list[Node]) -> None:
        read_only = self.read_only
        nodes = {node.name: node for node in node_list}
        name = await self.app.push_screen_wait(NodePickScreen(list(nodes.values()), read_only))
        if name is None:
            return
        node = nodes[name]
        self.say(f"preflight of {name} over SSH (read-only commands)…")
        report, error = None, ""
        try:
            report = await self.session.preflight(node)
        except NodeError as failure:
            error = str(failure)
        from kataview.setup.guidance import install_guidance

        advice = install_guidance(report) if report is not None else []
        if not await self.app.push_screen_wait(PreflightScreen(name, report, advice, error, read_only)):
            return
        guided = self.guided = await self.session.start(node, report)
        steps, states, last, index = guided.steps, {}, None, 0
        while 0 <= index < len(steps):
            step = steps[index]
            self.say(f"checking {step.title}…")
            checked, plan = await step.check(), await self._plan(step)
            if states.get(step.name) != StepState.SKIPPED:
                states[step.name] = checked.state
            choice = await self.app.push_screen_wait(
                StepScreen(name, steps, index, plan, checked, states, last, read_only))
            if choice == "apply":
                self.say(f"applying {step.title}…")
                last = await step.apply()
                if last.ok and step.mutates:
                    verified = await step.verify()
                    last = last if verified.ok else verified
                states[step.name] = last.state
                index += 1 if last.ok else 0
            elif choice == "skip":
                guided.ctx.transcript.record(step.name, "skip", "skipped", "skipped by the operator")
                states[step.name], last, index = StepState.SKIPPED, None, index + 1
            elif choice == "undo":
                self.say(f"undoing {step.title}…")
                last = await step.undo()
                states.pop(step.name, None)
            elif choice == "back":
                index, last = index - 1, None
            else:
                break
        await self._finish(name, steps, states, str(guided.ctx.transcript.path), read_only)

    async def _plan(self, step: Any) -> StepPlan:
        try:
            return await step.plan()
        except Exception as error:  # noqa: BLE001 - shown on the page; a worker would swallow it
            logger.warning("planning %s failed: %s", step.name, error, exc_info=True)
            return StepPlan(step.name, f"cannot plan this step: {error}")

    async def _finish(self, name: str, steps: list, states: dict, transcript: str, read_only: bool) -> None:
        results: list[StepResult] | None = None
        while True:
            choice = await self.app.push_screen_wait(FinishScreen(name, steps, states, transcript, read_only, results))
            if choice != "undo-all":
                return
            self.say("undoing everything kataview did…")
            results = await self.guided.undo_all()
            states = {step.name: StepState.TODO for step in steps}

    def _leave(self) -> None:
        if len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.dismiss()
        else:
            self.app.exit()


async def open_demo_setup(pilot, read_only: bool = False) -> None:
    """Open the guided setup on the stand-in node and walk to the config step's diff (for
    screenshots): pick the node, continue past the preflight."""
    from kataview.setup.demo_session import NODES, DemoSetupSession

    app = pilot.app
    await app.push_screen(SetupScreen(DemoSetupSession(read_only), NODES))
    for wanted, key in (("NodePickScreen", "enter"), ("PreflightScreen", "enter"), ("StepScreen", None)):
        for _ in range(500):
            if type(app.screen).__name__ == wanted:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        if key:
            await pilot.press(key)
