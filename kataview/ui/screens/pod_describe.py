"""`d` on a pod: what `kubectl describe pod` tells (model.pod_describe): the spec summary,
conditions, each container with its state, last state, restart count and reason, and every
event about the pod from the watched events. The pod is a fresh GET through the source's
PodReader; r reads it again (the events are the latest the watch has)."""

from __future__ import annotations

import re

from textual.binding import Binding

from kataview.model.pod_describe import describe_pod
from kataview.ui.formatting import clock
from kataview.ui.screens.pod_text import PodTextScreen
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


class PodDescribeScreen(PodTextScreen):
    what = "Describe"
    BINDINGS = [*PodTextScreen.BINDINGS, Binding("r", "reload", "Reload", id="describe-reload")]

    def load(self) -> None:
        reader = self.reader()
        if reader is None:
            self.pager.set_lines(self.no_reader_lines())
            return
        self.set_title("reading…")
        self.run_worker(self.read(reader), group="pod-describe", exclusive=True, exit_on_error=False,
                        description=f"describe pod {self.pod_namespace}/{self.pod_name}")

    async def read(self, reader) -> None:
        try:
            pod = await reader.pod_object(self.pod_namespace, self.pod_name)
        except Exception as error:  # the server's answer (404, 403) or a broken connection: shown
            self.set_title("")
            self.show_error(f"GET pod {self.pod_namespace}/{self.pod_name}", error)
            return
        view = self.app.view
        events = view.snapshot.events if view is not None else ()
        now = self.app.now()
        self.pager.set_lines(describe_lines(pod, events, now))
        self.set_title(f"as served at {clock(now)}, with the events the watch has")
        self.note = "/ search · n/N next/previous · r reload · esc back"
        self.update_status()

    def action_reload(self) -> None:
        self.load()
