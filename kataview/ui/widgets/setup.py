"""Renderables for the guided setup screens: the step list, a step's plan, preflight checks.
State is never shown by colour alone: every state has a glyph and a word. What a node said
(preflight output, a config file's diff, a step's message) is Text, never markup, and
terminal-safe."""

from __future__ import annotations

from typing import Iterable, Mapping

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from kataview.model.terminal_text import terminal_safe
from kataview.setup.preflight import PreflightReport
from kataview.setup.steps.base import StepPlan, StepResult, StepState

GLYPHS = {StepState.DONE: ("✓", "done", "green"), StepState.TODO: ("○", "to do", ""),
          StepState.FAILED: ("✗", "failed", "red"), StepState.SKIPPED: ("–", "skipped", "dim")}
CHECK_GLYPHS = {"ok": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red"), "info": ("·", "")}
LEXERS = {"diff": "diff", "yaml": "yaml", "commands": "bash"}


def state_text(state: StepState | None) -> Text:
    glyph, word, style = GLYPHS.get(state, ("·", "not checked", "dim")) if state else ("·", "not checked", "dim")
    return Text(f"{glyph} {word}", style=style)


def step_list(titles: Iterable[tuple[str, str]], states: Mapping[str, StepState], current: int) -> Text:
    """One line per step: marker, glyph, title; the current one bold with a ▶."""
    text = Text()
    for index, (name, title) in enumerate(titles):
        state = states.get(name)
        glyph, _, style = GLYPHS[state] if state else ("·", "", "dim")
        marker = "▶ " if index == current else "  "
        line = Text(f"{marker}{glyph} {index + 1}. {title}\n", style=style)
        if index == current:
            line.stylize("bold")
        text.append_text(line)
    return text


def plan_view(plan: StepPlan) -> RenderableType:
    summary = terminal_safe(plan.summary, lines=True)
    if not plan.text:
        return Text(summary)
    lexer = LEXERS.get(plan.kind)
    text = terminal_safe(plan.text, lines=True)
    body: RenderableType = (Syntax(text.rstrip("\n"), lexer, theme="ansi_dark", background_color="default",
                                   word_wrap=True) if lexer else Text(text))
    return Group(Text(summary, style="bold"), Text(""), body)


def result_text(result: StepResult | None) -> Text:
    if result is None:
        return Text("")
    glyph, _, style = GLYPHS[result.state]
    return Text(terminal_safe(f"{glyph} {result.action} {result.step}: {result.message}", lines=True), style=style)


def preflight_table(report: PreflightReport) -> Table:
    table = Table(show_header=True, header_style="bold", expand=True, box=None, padding=(0, 1))
    table.add_column("", width=1, no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("found", ratio=2)
    table.add_column("what to do", ratio=3)
    for check in report.checks():
        glyph, style = CHECK_GLYPHS.get(check.state, ("·", ""))
        table.add_row(Text(glyph, style=style), *(Text(terminal_safe(str(cell), lines=True))
                                                  for cell in (check.name, check.value, check.detail)))
    return table


def guidance_text(advice: list[tuple[str, str]]) -> Text:
    text = Text()
    for title, body in advice:
        text.append(terminal_safe(title) + "\n", style="bold")
        text.append(terminal_safe(body, lines=True) + "\n\n")
    return text
