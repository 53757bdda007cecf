"""Write new runtime tables into a containerd config as whole, fully qualified lines.

The new `[plugins.<cri>.containerd.runtimes.<name>]` block goes after the last table of the
runtimes (else of the CRI plugin section, else the end of the file), right after that table's
last key, so comments that introduce the next table stay attached to it. Indentation copies a
sibling runtime (or the anchor table), quoting copies the plugin headers ('...' or "..."), and
lines end as the file's do. A fully qualified header is valid even where the parent tables
were made with dotted keys (`runtimes.runc = {...}`), unlike tomlkit's structural insertion.
"""

from __future__ import annotations

from typing import Any, Mapping

from kataview.setup.toml_edit import Header, Layout, newline_of, render_header, render_key, render_value


def _under(headers: tuple[Header, ...], prefix: tuple[str, ...]) -> list[Header]:
    return [h for h in headers if h.path[: len(prefix)] == prefix and not h.array]


def _anchor(layout: Layout, plugin: tuple[str, ...], runtimes: tuple[str, ...]) -> Header | None:
    found = _under(layout.headers, runtimes)
    if not found:  # runtimes written as dotted keys inside [<plugin>.containerd]
        found = [h for h in layout.headers if h.path == plugin + ("containerd",) and not h.array]
    if not found:
        found = _under(layout.headers, plugin)
    return max(found, key=lambda h: h.index) if found else None


def _key_indent(layout: Layout, header: Header) -> str | None:
    stop = layout.header_after(header.index)
    for key in layout.keys:
        if key.table == header.path and key.index > header.index and (stop is None or key.index < stop):
            return key.indent
    return None


def _indents(layout: Layout, runtimes: tuple[str, ...], anchor: Header | None) -> tuple[str, str, str, str]:
    """Indentation of: runtime header, runtime keys, options header, option keys."""
    siblings = [h for h in _under(layout.headers, runtimes) if len(h.path) == len(runtimes) + 1]
    reference = siblings[-1] if siblings else anchor
    if reference is None:
        return "", "", "", ""
    header = reference.indent
    keys = _key_indent(layout, reference)
    if keys is None:
        indented = any(k.indent for k in layout.keys)
        keys = header + "  " if indented else header
    step = keys[len(header):] if keys.startswith(header) else ""
    options_header, options_keys = keys, keys + step
    if siblings:
        options = [h for h in layout.headers if h.path == reference.path + ("options",)]
        if options:
            options_header = options[0].indent
            options_keys = _key_indent(layout, options[0]) or options_header + step
    return header, keys, options_header, options_keys


def _quote(layout: Layout, plugin: tuple[str, ...]) -> str:
    for header in _under(layout.headers, plugin):
        inner = header.text.lstrip("[")
        if inner.startswith("plugins.'") or ".'" in inner:
            return "'"
        return '"'
    return '"'


def _block(path: tuple[str, ...], settings: Mapping[str, Any], indents: tuple[str, str, str, str],
           quote: str) -> list[str]:
    header, keys, options_header, options_keys = indents
    lines = [header + render_header(path, quote)]
    nested = {k: v for k, v in settings.items() if isinstance(v, Mapping)}
    for key, value in settings.items():
        if key not in nested:
            lines.append(f"{keys}{render_key(key, quote)} = {render_value(value, quote)}")
    for key, table in nested.items():
        lines.append(options_header + render_header(path + (key,), quote))
        for option, value in table.items():
            lines.append(f"{options_keys}{render_key(option, quote)} = {render_value(value, quote)}")
    return lines


def _uses_blank_lines(layout: Layout) -> bool:
    return any(not line.strip() for line in layout.lines)


def _insertion_line(layout: Layout, anchor: Header | None) -> int:
    """Line index to insert before: after the anchor table's keys and its own trailing comments.

    Comment lines directly above the next header (no blank line between) introduce that header
    and stay with it; other comments after the last key (commented-out keys) stay in the body.
    """
    lines = layout.lines
    if anchor is None:
        start, stop = 0, len(lines)
    else:
        start = layout.body_end(anchor) + 1
        stop = layout.header_after(anchor.index)
        stop = len(lines) if stop is None else stop
    attached = stop
    if stop < len(lines):
        while attached > start and lines[attached - 1].lstrip().startswith("#"):
            attached -= 1
    at = start
    for index in range(start, attached):
        if lines[index].strip():
            at = index + 1
    return at


def append_runtime_blocks(text: str, layout: Layout, plugin: tuple[str, ...], runtimes: tuple[str, ...],
                          tables: Mapping[str, Mapping[str, Any]]) -> str:
    """`text` with one new table block per entry of `tables` (runtime name -> settings)."""
    newline = newline_of(text)
    anchor = _anchor(layout, plugin, runtimes)
    at = _insertion_line(layout, anchor)
    indents = _indents(layout, runtimes, anchor)
    quote = _quote(layout, plugin)
    blank = _uses_blank_lines(layout) and at > 0
    new_lines: list[str] = []
    for name, settings in tables.items():
        if new_lines and blank:
            new_lines.append("")
        if name == "runc":
            new_lines.append(indents[0] + "# kataview: containerd's built-in runc, written out because "
                             "declaring any runtime replaces the built-in list")
        new_lines[len(new_lines):] = _block(runtimes + (name,), settings, indents, quote)
    if blank:
        new_lines.insert(0, "")
    lines = list(layout.lines)
    if at > 0 and not lines[at - 1].endswith(("\n", "\r")):
        lines[at - 1] += newline
    lines[at:at] = [line + newline for line in new_lines]
    return "".join(lines)


def _value_end(line: str, start: int) -> int:
    """Index just after a single-line TOML value starting at `start`."""
    depth, i = 0, start
    while i < len(line):
        ch = line[i]
        if ch in "\"'":
            i = _skip_quoted(line, i)
            continue
        if depth == 0 and (ch == "#" or ch.isspace()) and i > start:
            break
        depth += ch in "[{"
        depth -= ch in "]}"
        i += 1
    return i


def _skip_quoted(line: str, i: int) -> int:
    quote = line[i]
    if line.startswith(quote * 3, i):
        end = line.find(quote * 3, i + 3)
        return len(line) if end < 0 else end + 3
    i += 1
    while i < len(line) and line[i] != quote:
        i += 2 if quote == '"' and line[i] == "\\" else 1
    return i + 1


def _set_in_table(lines: list[str], layout: Layout, header: Header, values: Mapping[str, Any],
                  indent: str, quote: str, newline: str) -> bool:
    """Replace or add single-line keys of one header table in `lines` (indexes of `layout`)."""
    edits: list[tuple[int, int, list[str]]] = []
    missing = []
    for key, value in values.items():
        stop = layout.header_after(header.index)
        found = [k for k in layout.keys if k.table == header.path and k.key == (key,)
                 and k.index > header.index and (stop is None or k.index < stop)]
        if not found:
            missing.append(f"{indent}{render_key(key, quote)} = {render_value(value, quote)}{newline}")
            continue
        k = found[0]
        if k.end != k.index:
            return False  # multi-line value: leave it to tomlkit
        raw = lines[k.index]
        start = k.value_column - 1
        end = _value_end(raw.rstrip("\r\n"), start)
        edits.append((k.index, k.index + 1, [raw[:start] + render_value(value, quote) + raw[end:]]))
    for begin, stop, new in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[begin:stop] = new
    _insert(lines, layout.body_end(header) + 1, missing, newline)
    return True


def _insert(lines: list[str], at: int, new: list[str], newline: str) -> None:
    if new and at == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    lines[at:at] = new


def update_runtime_block(text: str, layout: Layout, plugin: tuple[str, ...], path: tuple[str, ...],
                         settings: Mapping[str, Any]) -> str | None:
    """Set `settings` in the header table at `path` as line edits; None when not a plain table."""
    table = [h for h in layout.headers if h.path == path and not h.array]
    if not table:
        return None
    header = table[0]
    newline = newline_of(text)
    quote = _quote(layout, plugin)
    keys_indent = _key_indent(layout, header) or header.indent + "  "
    flat = {k: v for k, v in settings.items() if not isinstance(v, Mapping)}
    nested = {k: v for k, v in settings.items() if isinstance(v, Mapping)}
    lines = list(layout.lines)
    # nested tables first (they come later in the file), so earlier indexes stay valid
    for key, values in nested.items():
        sub = [h for h in layout.headers if h.path == path + (key,) and not h.array]
        if sub:
            step = keys_indent[len(header.indent):]
            if not _set_in_table(lines, layout, sub[0], values,
                                 _key_indent(layout, sub[0]) or sub[0].indent + step, quote, newline):
                return None
        elif any(k.table == path and k.key[:1] == (key,) for k in layout.keys):
            return None  # options written as a dotted key or inline table
        else:
            block = [keys_indent + render_header(path + (key,), quote)]
            block += [f"{keys_indent}  {render_key(o, quote)} = {render_value(v, quote)}" for o, v in values.items()]
            _insert(lines, layout.body_end(header) + 1, [line + newline for line in block], newline)
    if not _set_in_table(lines, layout, header, flat, keys_indent, quote, newline):
        return None
    return "".join(lines)
