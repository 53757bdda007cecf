"""kubectl's `-l` selector text (`app=nginx,tier!=db,env in (a,b),!legacy,team`) as a
LabelSelector, matched with scheduling.label_selector_matches. Stdlib only."""

from __future__ import annotations

import re

from kataview.model.records import LabelSelector, SelectorRequirement

_SET = re.compile(r"^\s*([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQUAL = re.compile(r"^\s*([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=(),]*)\s*$")
_KEY = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")


def _terms(text: str) -> list[str]:
    """Split on commas outside parentheses (`env in (a,b)` is one term)."""
    terms, depth, current = [], 0, []
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return terms


def parse_label_selector(text: str) -> LabelSelector:
    """Raises ValueError naming the term it cannot read."""
    requirements = []
    for term in _terms(text):
        if not term.strip():
            raise ValueError(f"empty term in {text!r}")
        if match := _SET.match(term):
            values = tuple(v.strip() for v in match[3].split(",") if v.strip())
            requirements.append(SelectorRequirement(match[1], "In" if match[2] == "in" else "NotIn", values))
        elif match := _EQUAL.match(term):
            operator = "NotIn" if match[2] == "!=" else "In"
            requirements.append(SelectorRequirement(match[1], operator, (match[3],)))
        elif match := _KEY.match(term):
            requirements.append(SelectorRequirement(match[2], "DoesNotExist" if match[1] else "Exists"))
        else:
            raise ValueError(f"cannot read {term.strip()!r}")
    return LabelSelector(match_expressions=tuple(requirements))
