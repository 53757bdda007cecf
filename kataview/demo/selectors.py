"""Label and field selectors, parsed the way the apiserver parses the query parameters."""

from __future__ import annotations

import re
from typing import Callable

from .resources import Resource

Predicate = Callable[[dict], bool]


class SelectorError(ValueError):
    """A selector the real server would refuse with 400 BadRequest."""


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


_SET_RE = re.compile(r"^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$")
_EQ_RE = re.compile(r"^([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=(),]*)$")
_KEY_RE = re.compile(r"^(!?)\s*([^\s!=()]+)$")


def _requirement(text: str) -> Predicate:
    if match := _SET_RE.match(text):
        key, op, raw = match.groups()
        values = frozenset(v.strip() for v in raw.split(",") if v.strip())
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQ_RE.match(text):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _KEY_RE.match(text):
        negate, key = match.groups()
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement: {text!r}")


def label_selector(text: str | None) -> Predicate | None:
    """`app=web,tier in (a,b),!legacy` → predicate on an object, None for an empty selector."""
    if not text or not text.strip():
        return None
    requirements = [_requirement(part) for part in _split_top_level(text)]

    def matches(obj: dict) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(req(labels) for req in requirements)

    return matches


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def field_selector(text: str | None, resource: Resource) -> Predicate | None:
    """`spec.nodeName=n1,status.phase!=Running` → predicate; unknown fields raise SelectorError."""
    if not text or not text.strip():
        return None
    getters = resource.field_getters()
    checks: list[tuple[Callable[[dict], str], bool, str]] = []
    for part in re.split(r"(?<!\\),", text):
        match = re.match(r"^([^=!]+)(==|=|!=)(.*)$", part.strip())
        if not match:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = match.groups()
        getter = getters.get(field.strip())
        if getter is None:
            raise SelectorError(f'field label not supported: {field.strip()}')
        checks.append((getter, op != "!=", _unescape(value)))

    def matches(obj: dict) -> bool:
        return all((get(obj) == value) == equal for get, equal, value in checks)

    return matches


def combine(*predicates: Predicate | None) -> Predicate | None:
    active = [p for p in predicates if p is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(p(obj) for p in active)
