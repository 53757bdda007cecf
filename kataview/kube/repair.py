"""Repair a plain decoded object in place from a msgspec ValidationError message.

The tolerant converter of decode (``_convert_tolerant``) calls ``repair`` after each failed
``msgspec.convert``: the error names a path (``$.spec.containers[0].name``, or a bad key
``in `$.labels```); the value there becomes its text if it is a scalar where a string belongs,
a mapping keeps only its scalar entries (as text), anything else is deleted. One bad field
costs that field, not the object.
"""

from __future__ import annotations

import re
from typing import Any

_ERROR_AT = re.compile(r" - at `([^`]*)`(?: in `([^`]*)`)?$")
_PATH_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[(\.\.\.)\]")
_MAPPING = object()  # path token for "some value of this mapping"


def _parse_path(path: str) -> list | None:
    if not path.startswith("$"):
        return None
    tokens: list = []
    pos = 1
    while pos < len(path):
        match = _PATH_TOKEN.match(path, pos)
        if match is None:
            return None
        name, index, ellipsis = match.groups()
        tokens.append(_MAPPING if ellipsis else int(index) if index is not None else name)
        pos = match.end()
    return tokens


def _walk(obj: Any, tokens: list) -> Any:
    for token in tokens:
        if isinstance(token, int):
            if not isinstance(obj, list) or token >= len(obj):
                raise LookupError(token)
        elif not isinstance(obj, dict):
            raise LookupError(token)
        obj = obj[token]
    return obj


def _scalar_text(value: Any) -> str | None:
    """YAML scalars where the API has strings: true -> "true", 2 -> "2"; None for the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


def repair(obj: Any, message: str, stages: dict) -> bool:
    """Fix what the msgspec error ``message`` points at in ``obj`` (in place): a scalar where a
    string belongs becomes its text, a mapping keeps its scalar entries (as text), anything
    else is dropped."""
    match = _ERROR_AT.search(message)
    if match is None:
        return False
    if match.group(2) is not None:  # "at `key` in `$.labels`": a bad mapping key
        tokens = _parse_path(match.group(2))
        if tokens is not None:
            tokens.append(_MAPPING)
    else:
        tokens = _parse_path(match.group(1))
    if not tokens:
        return False  # the object itself is wrong
    try:
        if tokens[-1] is _MAPPING:
            where = tuple(tokens[:-1])
            stage = stages.get(where, 0)
            stages[where] = stage + 1
            mapping = _walk(obj, tokens[:-1])
            if stage == 0 and isinstance(mapping, dict):
                kept = {}
                for key, value in mapping.items():
                    key_text, value_text = _scalar_text(key), _scalar_text(value)
                    if key_text is not None and value_text is not None:
                        kept[key_text] = value_text
                mapping.clear()
                mapping.update(kept)
                return True
            tokens = tokens[:-1]
            return bool(tokens) and _delete(obj, tokens)
        if message.startswith("Expected `str"):
            where = tuple(tokens)
            if where not in stages:
                stages[where] = 1
                parent = _walk(obj, tokens[:-1])
                text = _scalar_text(parent[tokens[-1]])
                if text is not None:
                    parent[tokens[-1]] = text
                    return True
        return _delete(obj, tokens)
    except (LookupError, TypeError):
        return False


def _delete(obj: Any, tokens: list) -> bool:
    parent = _walk(obj, tokens[:-1])
    last = tokens[-1]
    if last is _MAPPING:
        return False
    if isinstance(last, int) and isinstance(parent, list) and last < len(parent):
        del parent[last]
        return True
    if isinstance(last, str) and isinstance(parent, dict) and last in parent:
        del parent[last]
        return True
    return False
