"""`d` on a pod: what `kubectl describe pod` tells (model.pod_describe): the spec summary,
conditions, each container with its state, last state, restart count and reason, and every
event about the pod from the watched events. The pod is a fresh GET through the source's
PodReader; r reads it again (the events are the latest the watch has)."""

from __future__ import annotations

import re

from textual.binding import Binding

from kataview.model.pod_describe import describe_pod
from kataview.ui.formatting import clock
from kataview.ui.screens.pod_text import ServedPodScreen
from kataview.ui.widgets.text_pager import PagerLine, safe_text

LABEL = re.compile(r"(?P<indent>\s*)(?P<label>[A-Z][\w .-]*:)(?=\s|$)")


def describe_line(text: str, event: bool = False) -> PagerLine:
    text = safe_text(text)
    if event and text.split()[1:2] == ["Warning"]:  # "AGE  TYPE  REASON ..." lines
        return PagerLine(text, (), "warning")
    match = LABEL.match(text)
    if match is None:
        return PagerLine(text)
    return PagerLine(text, ((match.start("label"), match.end("label"), "key"),))


def describe_lines(pod: dict, events, now) -> list[PagerLine]:
    lines: list[PagerLine] = []
    for heading, body in describe_pod(pod, events, now):
        if lines:
            lines.append(PagerLine(""))
        lines.append(PagerLine(safe_text(heading), (), "heading"))
        lines += [describe_line("  " + line, heading.startswith("Events")) for line in body]
    return lines


class PodDescribeScreen(ServedPodScreen):
    what = "Describe"
    BINDINGS = [*ServedPodScreen.BINDINGS, Binding("r", "reload", "Reload", id="describe-reload")]

    def show_pod(self, pod: dict) -> None:
        view = self.app.view
        events = view.snapshot.events if view is not None else ()
        now = self.app.now()
        self.pager.set_lines(describe_lines(pod, events, now))
        self.set_title(f"as served at {clock(now)}, with the events the watch has")
