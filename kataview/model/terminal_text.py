"""Text from a cluster, a node or a server, made safe to put on a terminal.

    terminal_safe("\\x1b]52;c;aGk=\\x07name")      -> "␛]52;c;aGk=␇name"
    terminal_safe("evil\\u202etxt.exe")            -> "evil\\u202etxt.exe" (the escape shown)

A terminal acts on C0 and C1 control characters (ESC starts OSC 52 clipboard writes, title
changes, screen clears; C1 CSI/OSC do the same in one byte on some terminals), and bidi
overrides and isolates reorder what is shown (a name can read as another). Every such
character is replaced by something visible, so the output never holds one:

- C0 controls and DEL by their Unicode control pictures (ESC -> ␛, BEL -> ␇, DEL -> ␡);
- C1 controls, bidi marks/overrides/isolates, U+2028/U+2029 (line separators that
  `str.splitlines` and some terminals break on) and lone surrogates (unencodable: printing
  one raises) by a `\\uXXXX` escape.

`lines=True` keeps TAB and newline as they are (multi-line sinks: the log file, a wrapped
message); by default they are shown too (one-line sinks: a table cell, the header).

Cost: str.isprintable() (one C loop, ~1 ns per character) answers True for almost every
string a cluster holds, and then the string itself is returned; only the others are
translated. Pure, stdlib only.
"""

from __future__ import annotations

import dataclasses

BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
# Every code point terminal_safe replaces (lone surrogates aside).
UNSAFE_CODES = frozenset([*range(0x20), 0x7F, *range(0x80, 0xA0), *BIDI_CONTROLS, 0x2028, 0x2029])


def _shown(code: int) -> str:
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"\\u{code:04x}"


def _table(keep: tuple[int, ...]) -> dict[int, str]:
    table = {code: _shown(code) for code in UNSAFE_CODES if code not in keep}
    table.update({code: _shown(code) for code in range(0xD800, 0xE000)})
    return table


_ONE_LINE = _table(keep=())
_LINES = _table(keep=(0x09, 0x0A))


def terminal_safe(text: str, *, lines: bool = False) -> str:
    """text with every control, bidi and line-separator character made visible (see the
    module docstring); `lines` keeps TAB and newline."""
    if not isinstance(text, str):
        text = str(text)
    if text.isprintable():
        return text
    return text.translate(_LINES if lines else _ONE_LINE)


def has_terminal_controls(text: str, *, lines: bool = False) -> bool:
    """True when terminal_safe would change text (for tests and assertions at sinks)."""
    return terminal_safe(text, lines=lines) != text


def terminal_safe_tree(value):  # noqa: ANN001, ANN201 - any JSON-like value
    """A copy of a JSON-like value (dicts, lists, tuples, strings) with every string, keys
    included, passed through terminal_safe; other values as they are. (Dispatch on the exact
    type, strings first: a 150,000-pod report's tables hold ~400,000 values.)"""
    kind = type(value)
    if kind is str:
        return value if value.isprintable() else value.translate(_ONE_LINE)
    if kind is dict:
        return {terminal_safe_tree(key): terminal_safe_tree(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [terminal_safe_tree(item) for item in value]
    if isinstance(value, str):  # a str subclass
        return terminal_safe(value)
    return value


def terminal_safe_record(record):  # noqa: ANN001, ANN201 - any frozen dataclass
    """A copy of a dataclass record (e.g. a VMDetail read from a node) whose strings, in
    nested records, tuples and dicts too, are terminal-safe; the record itself when none
    needed it."""
    if isinstance(record, str):
        return terminal_safe(record)
    if isinstance(record, tuple):
        return tuple(terminal_safe_record(item) for item in record)
    if isinstance(record, dict):
        return {terminal_safe_record(key): terminal_safe_record(item) for key, item in record.items()}
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        return record
    changes = {}
    for spec in dataclasses.fields(record):
        value = getattr(record, spec.name)
        safe = terminal_safe_record(value)
        if safe != value:
            changes[spec.name] = safe
    return dataclasses.replace(record, **changes) if changes else record
