"""Field-level conversions shared by the record converters (pod_records, object_records).

Timestamps made timezone-aware, low-cardinality strings interned, and equal overhead / toleration
values built once and shared (bounded caches): 150,000 pods hold one copy of each. The empty
Structs below stand in for missing (null) sub-objects; they are shared, never mutate them.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Mapping

from kataview.kube import api_types as t
from kataview.model import records as r

intern = sys.intern
EMPTY: Mapping[str, str] = r.EMPTY  # shared empty mapping, never mutated
_UTC = timezone.utc

EMPTY_META = t.ObjectMeta()
EMPTY_NODE_SPEC = t.NodeSpec()
EMPTY_NODE_STATUS = t.NodeStatus()
EMPTY_NODE_INFO = t.NodeInfo()
EMPTY_POD_SPEC = t.PodSpec()
EMPTY_POD_STATUS = t.PodStatus()
EMPTY_REF = t.ObjectReferenceT()
EMPTY_SELECTOR = t.LabelSelectorT()


def aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value


def interned(value: str | None) -> str:
    """Intern low-cardinality strings (namespaces, node names, phases) shared by many pods."""
    return intern(value) if value else ""


def _quantity_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_QUANTITIES_CACHE: dict[tuple, Mapping[str, str]] = {}


def shared_quantities(values: Mapping[str, object] | None) -> Mapping[str, str]:
    """Overheads repeat (one per RuntimeClass): equal mappings are shared. Never mutate them."""
    if not values:
        return EMPTY
    key = tuple(values.items())
    cached = _QUANTITIES_CACHE.get(key)
    if cached is None:
        cached = {k: _quantity_text(v) for k, v in key}
        if len(_QUANTITIES_CACHE) < _TOLERATION_CACHE_MAX:
            _QUANTITIES_CACHE[key] = cached
    return cached


# Tolerations repeat across pods (every pod carries the not-ready/unreachable pair), so equal
# tuples are built once and shared: faster, and 150,000 pods hold one copy. Bounded.
_TOLERATION_CACHE: dict[tuple, tuple[r.Toleration, ...]] = {}
_TOLERATION_CACHE_MAX = 4096


def shared_tolerations(items: list[t.TolerationT] | None) -> tuple[r.Toleration, ...]:
    if not items:
        return ()
    key = tuple((item.key or "", item.operator or "Equal", item.value or "", item.effect or "") for item in items)
    cached = _TOLERATION_CACHE.get(key)
    if cached is None:
        cached = tuple(r.Toleration(k, o, v, e) for k, o, v, e in key)
        if len(_TOLERATION_CACHE) < _TOLERATION_CACHE_MAX:
            _TOLERATION_CACHE[key] = cached
    return cached


def label_selector(selector: t.LabelSelectorT | None) -> r.LabelSelector:
    selector = selector or EMPTY_SELECTOR
    return r.LabelSelector(
        match_labels=selector.matchLabels or EMPTY,
        match_expressions=tuple(
            r.SelectorRequirement(
                key=req.key or "", operator=req.operator or "", values=tuple(req.values or ())
            )
            for req in selector.matchExpressions or ()
        ),
    )
