"""The guided setup's pages, each a `SetupPage[result]` that the wizard in `setup.py` awaits with
`push_screen_wait`: pick a node, preflight, one step (plan + Apply / Skip / Undo), the end.

Every page is a ModalScreen ("a screen with bindings that take precedence over the App's key
bindings"): the dashboard's App keys (namespace, log) mean nothing here, so they neither work
nor show in the footer. The App keys that do make sense on a page (quit, help, theme) are bound
again by the page itself (`APP_KEYS`), under the App's binding ids so a remap in config.toml
applies here too. The footer and `?` therefore list exactly the keys that work.
"""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, OptionList, Static
from textual.widgets.option_list import Option

from kataview.model.records import Node
from kataview.model.terminal_text import terminal_safe
from kataview.setup.preflight import PreflightReport
from kataview.setup.steps.base import Step, StepPlan, StepResult, StepState
from kataview.ui.theme import styles_dir
from kataview.ui.widgets.setup import (guidance_text, plan_view, preflight_table, result_text,
                                       state_text, step_list)

SETUP_CSS = str(styles_dir() / "setup.tcss")
READ_ONLY_NOTE = "read-only: the plan and the diffs only; nothing can be applied"
READ_ONLY_TAG = "  [read-only: plan only]"


# The App's keys that still work on a setup page, with the App's ids (kataview/ui/app.py BINDINGS).
APP_KEYS = [Binding("q", "app.quit", "Quit", id="quit"),
            Binding("question_mark", "app.help", "Help", id="help"),
            Binding("ctrl+t", "app.toggle_theme", "Theme", id="toggle-theme")]

PageResult = TypeVar("PageResult")


class SetupPage(ModalScreen[PageResult]):
    """A page of the guided setup: full-screen and opaque, but modal so that only its own
    BINDINGS (its keys, then APP_KEYS) apply; see the module docstring."""

    CSS_PATH = SETUP_CSS


def _title(text: str, read_only: bool) -> Static:
    return Static(Content(terminal_safe(f"Guided setup · {text}" + (READ_ONLY_TAG if read_only else ""))),
                  id="setup-title")


class NodePickScreen(SetupPage[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="setup-cancel"), *APP_KEYS]

    def __init__(self, nodes: list[Node], read_only: bool) -> None:
        super().__init__()
        self.nodes, self.read_only = nodes, read_only

    def compose(self) -> ComposeResult:
        yield _title("pick the node to turn into a Kata node", self.read_only)
        options = []
        for node in self.nodes:
            ready = {True: "Ready", False: "NotReady", None: "?"}[node.ready]
            handlers = ", ".join(h.name for h in node.runtime_handlers or () if h.name) or "not reported"
            options.append(Option(Content(terminal_safe(
                f"{node.name:<24} {ready:<9} {node.container_runtime_version or '-':<22} handlers: {handlers}")),
                id=node.name))
        yield OptionList(*options, id="setup-nodes")
        yield Static("Enter: preflight this node over SSH (read-only commands) · Esc: cancel", classes="setup-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class PreflightScreen(SetupPage[bool]):
    BINDINGS = [Binding("enter", "dismiss(True)", "Continue", id="setup-continue"),
                Binding("escape", "dismiss(False)", "Cancel", id="setup-cancel"), *APP_KEYS]

    def __init__(self, node: str, report: PreflightReport | None, advice: list[tuple[str, str]],
                 error: str, read_only: bool) -> None:
        super().__init__()
        self.node, self.report, self.advice, self.error, self.read_only = node, report, advice, error, read_only

    def compose(self) -> ComposeResult:
        yield _title(f"preflight of {self.node}", self.read_only)
        with VerticalScroll(id="setup-body"):
            if self.report is not None:
                yield Static(preflight_table(self.report), id="preflight")
                yield Static(guidance_text(self.advice), id="guidance")
            else:
                yield Static(Content(terminal_safe(f"✗ preflight failed: {self.error}", lines=True)), id="preflight",
                             classes="failed")
        with Horizontal(id="setup-buttons"):
            yield Button("Continue", id="continue", variant="primary")
            yield Button("Cancel", id="cancel")
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "continue")


class StepScreen(SetupPage[str]):
    """One step: its plan, its state, the last result; dismisses with apply|skip|undo|back|finish."""

    BINDINGS = [Binding("a", "choose('apply')", "Apply", id="setup-apply"),
                Binding("s", "choose('skip')", "Skip", id="setup-skip"),
                Binding("u", "choose('undo')", "Undo", id="setup-undo"),
                Binding("b", "choose('back')", "Back", id="setup-back"),
                Binding("escape", "choose('finish')", "Finish", id="setup-finish"), *APP_KEYS]

    def __init__(self, node: str, steps: list[Step], index: int, plan: StepPlan, checked: StepResult,
                 states: dict[str, StepState], last: StepResult | None, read_only: bool) -> None:
        super().__init__()
        self.node, self.steps, self.index, self.plan = node, steps, index, plan
        self.checked, self.states, self.last, self.read_only = checked, states, last, read_only

    @property
    def step(self) -> Step:
        return self.steps[self.index]

    def compose(self) -> ComposeResult:
        yield _title(f"{self.node} · step {self.index + 1} of {len(self.steps)}", self.read_only)
        with Horizontal(id="setup-columns"):
            yield Static(step_list([(s.name, s.title) for s in self.steps], self.states, self.index), id="setup-steps")
            with Vertical(id="setup-main"):
                yield Static(self.step.title, id="step-title", markup=False)
                state = state_text(self.checked.state).append(terminal_safe(f"  {self.checked.message}", lines=True))
                yield Static(state, id="step-state")
                with VerticalScroll(id="plan-scroll"):
                    yield Static(plan_view(self.plan), id="plan")
                yield Static(result_text(self.last), id="step-result")
        with Horizontal(id="setup-buttons"):
            changes = self.step.mutates and self.read_only
            yield Button("Apply", id="apply", variant="primary", disabled=changes)
            yield Button("Skip", id="skip")
            yield Button("Undo", id="undo", disabled=changes)
            yield Button("Back", id="back", disabled=self.index == 0)
            yield Button("Finish", id="finish")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#plan-scroll").focus()

    def action_choose(self, choice: str) -> None:
        button = self.query(f"#{choice}")
        if button and button.first().disabled:
            self.notify(READ_ONLY_NOTE if self.read_only else f"{choice} is not available here",
                        severity="warning")
            return
        self.dismiss(choice)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id or "")


class FinishScreen(SetupPage[str]):
    """Where every step ended, the transcript's path; Undo all or Close."""

    BINDINGS = [Binding("escape", "dismiss('close')", "Close", id="setup-close"), *APP_KEYS]

    def __init__(self, node: str, steps: list[Step], states: dict[str, StepState], transcript: str,
                 read_only: bool, results: list[StepResult] | None = None) -> None:
        super().__init__()
        self.node, self.steps, self.states = node, steps, states
        self.transcript = transcript if transcript not in ("", "None") else "not saved (no state directory)"
        self.read_only, self.results = read_only, results

    def compose(self) -> ComposeResult:
        yield _title(f"{self.node} · " + ("undone" if self.results is not None else "summary"), self.read_only)
        with VerticalScroll(id="setup-body"):
            yield Static(step_list([(s.name, s.title) for s in self.steps], self.states, -1), id="setup-summary")
            if self.results is not None:
                text = result_text(None)
                for result in self.results:
                    text.append_text(result_text(result)).append("\n")
                yield Static(text, id="undo-results")
            yield Static(f"Transcript: {self.transcript}", id="transcript", markup=False)
        with Horizontal(id="setup-buttons"):
            yield Button("Undo all", id="undo-all", variant="error", disabled=self.read_only)
            yield Button("Close", id="close", variant="primary")
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "close")
