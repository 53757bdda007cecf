"""`y` on a pod: its YAML as the API server serves it now (a fresh GET through the source's
PodReader, turned into YAML as `kubectl get -o yaml` does: keys in the server's order,
managedFields left out as kubectl does by default), coloured, searchable; r reads it again."""

from __future__ import annotations

import re

import yaml
from textual.binding import Binding

from kataview.ui.formatting import clock
from kataview.ui.screens.pod_text import ServedPodScreen
from kataview.ui.widgets.text_pager import PagerLine, safe_text

LINE = re.compile(r"""(?P<indent>\s*)(?P<dash>(?:- )*)
                      (?:(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#][^\n]*?)(?P<colon>:)(?=\ |$))?
                      (?P<value>.*)""", re.VERBOSE)
NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
CONSTANTS = {"true", "false", "null", "~"}


class PlainDumper(yaml.SafeDumper):
    """No &anchors or *aliases: the server sends JSON, where a repeated value is written out."""

    def ignore_aliases(self, data) -> bool:
        return True


def pod_yaml(pod: dict) -> str:
    """The served pod as YAML, one value a line (no folding: search finds whole values)."""
    shown = dict(pod)
    meta = dict(shown.get("metadata") or {})
    meta.pop("managedFields", None)
    shown["metadata"] = meta
    return yaml.dump(shown, Dumper=PlainDumper, sort_keys=False, allow_unicode=True, width=float("inf"),
                     default_flow_style=False)


def value_class(value: str) -> str:
    stripped = value.strip()
    if stripped in ("{}", "[]", "|", "|-", ">", ">-"):
        return "muted"
    if stripped in CONSTANTS or NUMBER.fullmatch(stripped):
        return "number"
    return "string"


def yaml_line(text: str) -> PagerLine:
    """One YAML line, made safe, with its key, value and list dashes coloured."""
    text = safe_text(text)
    match = LINE.fullmatch(text)
    if match is None:
        return PagerLine(text)
    spans = []
    if match.group("dash"):
        spans.append((match.start("dash"), match.end("dash"), "muted"))
    if match.group("key") is not None:
        spans.append((match.start("key"), match.end("colon"), "key"))
    value = match.group("value")
    if value.strip():
        start = match.start("value") + len(value) - len(value.lstrip())
        spans.append((start, match.end("value"), value_class(value)))
    return PagerLine(text, tuple(spans))


class PodYamlScreen(ServedPodScreen):
    what = "YAML"
    BINDINGS = [*ServedPodScreen.BINDINGS, Binding("r", "reload", "Reload", id="yaml-reload")]

    def show_pod(self, pod: dict) -> None:
        lines = [yaml_line(line) for line in pod_yaml(pod).splitlines()]
        self.pager.set_lines(lines)
        self.set_title(f"as served at {clock(self.app.now())} · {len(lines):,} lines · managedFields hidden, "
                       "as kubectl does")
