"""Hostile text for the sink tests: what a tenant, a node or a proxy can put in front of
kataview, and a way to put it into every string a record or an API object holds.

HOSTILE holds an OSC 52 clipboard write ended by BEL and one ended by ESC-backslash, a title
change, a screen clear, a C1 CSI, DEL, bidi override and isolate, a line separator, Rich
markup that would crash (`[/]`) or make a live link, CJK and a zero-width space.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import strategies as st


OSC52 = "\x1b]52;c;a3ZwYXduZWQ=\x07"
OSC52_ST = "\x1b]52;c;a3ZwYXduZWQ=\x1b\\"
TITLE = "\x1b]0;kvpwned\x07"
CLEAR = "\x1b[2J\x1b[H"
HOSTILE = (f"{OSC52}{OSC52_ST}{TITLE}{CLEAR}\x9b31m\x7f[/][@click=app.quit]x[/]"
           "\u202etxt.exe\u2066\u2028日本\u200b")

# Written out here, not taken from the sanitiser: C0, DEL, C1, the bidi marks, embeddings,
# overrides and isolates, the Arabic letter mark, the line and paragraph separators.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
UNSAFE = frozenset([*map(chr, range(0x20)), "\x7f", *map(chr, range(0x80, 0xA0)), *BIDI, "\u2028", "\u2029"])
# What hypothesis draws from: every unsafe character, markup brackets, wide and zero-width ones.
ALPHABET = st.sampled_from(sorted(UNSAFE) + list("[]/@=\\;:ab 日本\u200b\u0301e"))
hostile_text = st.text(ALPHABET, min_size=1, max_size=24)


def raw_controls(text: str, *, lines: bool = False) -> set[str]:
    """The unsafe characters text still holds (TAB and newline allowed with lines)."""
    found = UNSAFE.intersection(text)
    return found - {"\t", "\n"} if lines else found


def poison(value: Any, text: str) -> Any:
    """value with text appended to every string it holds (dataclass fields, mapping keys and
    values, tuple items): deterministic, so keys that refer to each other still match."""
    if isinstance(value, str):
        return value + text
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: poison(getattr(value, f.name), text) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    if isinstance(value, dict):
        return {poison(key, text): poison(item, text) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(poison(item, text) for item in value)
    return value


# API object keys whose values are enums, timestamps, quantities or ids the decoder needs.
STRUCTURAL = {"apiVersion", "kind", "uid", "resourceVersion", "creationTimestamp", "lastHeartbeatTime",
              "lastTransitionTime", "startTime", "startedAt", "finishedAt", "firstTimestamp",
              "lastTimestamp", "eventTime", "phase", "status", "type", "effect", "operator", "containerID",
              "qosClass", "cpu", "memory", "pods", "ephemeral-storage", "restartPolicy", "deletionTimestamp"}


# What a real API server validates (DNS names, label syntax): kept by poison_objects(names=False).
VALIDATED = {"name", "namespace", "nodeName", "runtimeClassName", "handler", "address", "generateName"}


def poison_objects(objects: list[dict], text: str, *, names: bool = True) -> list[dict]:
    """API objects with text appended to every string value but the structural ones (and,
    with names=False, but those a real API server validates, so what is poisoned is what a
    tenant or a kubelet can really write: images, messages, reasons, nodeInfo, annotations)."""
    kept = STRUCTURAL if names else STRUCTURAL | VALIDATED

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            return value if key in kept else value + text
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(item, key) for item in value]
        return value

    return [walk(obj) for obj in objects]


# What a terminal would act on, without line breaks or spaces (a command line or a path from
# a node keeps its shape): clipboard write (BEL and ST ended), title change, screen clear.
TERMINAL_ATTACK = f"{OSC52}{OSC52_ST}{TITLE}{CLEAR}"
