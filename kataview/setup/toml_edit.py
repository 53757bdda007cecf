"""Line-level view of a TOML file, for edits that keep every byte the operator wrote.

tomllib/tomlkit tell us what a file means; they do not tell us where things are. `scan_layout`
finds every table header and key/value line (with its 0-based line index and full key path),
skipping multi-line strings and arrays, so a transform can add whole lines at a chosen place
instead of re-rendering the document. Parse errors become `ConfigError` with line and column.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

import tomlkit
import tomlkit.exceptions


class ConfigError(Exception):
    """A refusal: what is wrong, where (file:line:column when known) and what to do."""

    def __init__(self, problem: str, remedy: str, *, line: int | None = None,
                 column: int | None = None, source: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.remedy = remedy
        self.line = line
        self.column = column
        self.source = source

    def located(self, source: str) -> "ConfigError":
        """The same error naming `source` (a file path or an argument) when it named none."""
        if self.source is None:
            self.source = source
        return self

    def where(self) -> str:
        parts = [self.source or "<config>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: {self.problem}\n  what to do: {self.remedy}"


_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")

# containerd and CRI-O configs are a few KiB (the largest in tests/corpus: 21 KB). tomlkit's
# time grows faster than the size: a 1 MiB file of small tables takes ~70 s, 25 MB never ended
# (bench/setup_input_size.py). 256 KiB is 12x the largest real config; 9,000 tables of that size
# plan in 15-30 s and 61 MiB on 2 shared cores.
MAX_CONFIG_BYTES = 256 * 1024


def size_problem(size: int) -> ConfigError | None:
    """The refusal for a config of `size` bytes (None when it is small enough)."""
    if size <= MAX_CONFIG_BYTES:
        return None
    return ConfigError(f"{size:,} bytes is more than kataview reads ({MAX_CONFIG_BYTES // 1024} KiB); "
                       "containerd and CRI-O configs are a few KiB",
                       "check that this is the runtime's config (not a log, a dump or a binary); "
                       "if it really is, trim it (comments, unused tables) and run again; nothing was written")


def parse_toml(text: str) -> dict[str, Any]:
    """Parse strictly (tomllib) and with tomlkit; either failing is a ConfigError with a position.
    Text over MAX_CONFIG_BYTES is refused before parsing."""
    small = len(text) * 4 <= MAX_CONFIG_BYTES  # at most 4 bytes a character: no need to encode
    too_big = size_problem(len(text) if small else len(text.encode("utf-8")))
    if too_big is not None:
        raise too_big
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _POSITION.search(message)
        line, column = (int(found[1]), int(found[2])) if found else (None, None)
        raise ConfigError(
            f"not valid TOML: {_POSITION.sub('', message).strip()}",
            "fix the file (containerd would refuse it too, or it is a template that must be "
            "rendered first) and run again; nothing was written",
            line=line, column=column) from None
    try:
        tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"tomlkit cannot edit this file safely: {exc}",
                          "report this file to the kataview maintainers; nothing was written",
                          line=exc.line, column=exc.col) from None
    return data


def newline_of(text: str) -> str:
    """The file's line ending: CRLF only when every line ends so."""
    if "\r\n" in text and "\n" not in text.replace("\r\n", ""):
        return "\r\n"
    return "\n"


def key_path(key_text: str) -> tuple[str, ...]:
    """The keys of a dotted TOML key as written (`a."b.c".d` -> ("a", "b.c", "d"))."""
    node: Any = tomllib.loads(f"{key_text} = 0")
    path: list[str] = []
    while isinstance(node, dict):
        (name, node), = node.items()
        path.append(name)
    return tuple(path)


@dataclass(frozen=True, slots=True)
class Header:
    index: int  # 0-based line index
    path: tuple[str, ...]
    indent: str
    text: str  # the bracketed part, e.g. [plugins."io.containerd.grpc.v1.cri"]
    array: bool = False


@dataclass(frozen=True, slots=True)
class KeyLine:
    index: int  # first line of the key/value
    end: int  # last line of the value (multi-line arrays and strings)
    table: tuple[str, ...]
    key: tuple[str, ...]
    indent: str
    value_column: int  # 1-based column of the value's first character

    @property
    def path(self) -> tuple[str, ...]:
        return self.table + self.key


@dataclass(frozen=True, slots=True)
class Layout:
    lines: tuple[str, ...]  # with their line endings
    headers: tuple[Header, ...]
    keys: tuple[KeyLine, ...]

    def body_end(self, header: Header) -> int:
        """Last line index holding content (a header or key/value) of `header`'s table."""
        end = header.index
        for key in self.keys:
            if key.table == header.path and key.index > header.index:
                if self.header_after(header.index) is None or key.index < self.header_after(header.index):
                    end = max(end, key.end)
        return end

    def header_after(self, index: int) -> int | None:
        later = [h.index for h in self.headers if h.index > index]
        return min(later) if later else None

    def find(self, path: tuple[str, ...]) -> tuple[int, int] | None:
        """(line, column), 1-based, where `path` is declared: its header, its key, or a key inside."""
        for header in self.headers:
            if header.path == path:
                return header.index + 1, len(header.indent) + 1
        candidates = [(k.index, k.indent) for k in self.keys if k.path[: len(path)] == path]
        candidates += [(h.index, h.indent) for h in self.headers if h.path[: len(path)] == path]
        if candidates:
            index, indent = min(candidates)
            return index + 1, len(indent) + 1
        return None


class _Scanner:
    """Tracks strings, brackets and comments across lines."""

    def __init__(self) -> None:
        self.depth = 0
        self.multiline: str | None = None  # '"""' or "'''" while inside one

    @property
    def open(self) -> bool:
        return self.depth > 0 or self.multiline is not None

    def feed(self, text: str, start: int = 0) -> None:
        i = start
        while i < len(text):
            if self.multiline is not None:
                close = _find_close(text, i, self.multiline)
                if close < 0:
                    return
                self.multiline, i = None, close
                continue
            ch = text[i]
            if ch == "#":
                return
            if text.startswith('"""', i) or text.startswith("'''", i):
                self.multiline, i = text[i:i + 3], i + 3
            elif ch in "\"'":
                i = _skip_string(text, i)
            else:
                self.depth += ch in "[{"
                self.depth -= ch in "]}"
                i += 1


def _find_close(text: str, i: int, quote: str) -> int:
    """Index after the closing `quote` of a multi-line string, or -1 if not on this line."""
    while i < len(text):
        if quote == '"""' and text[i] == "\\":
            i += 2
            continue
        if text.startswith(quote, i):
            end = i + 3
            while end < len(text) and text[end] == quote[0] and end - i < 5:
                end += 1
            return end
        i += 1
    return -1


def _skip_string(text: str, i: int) -> int:
    quote, i = text[i], i + 1
    while i < len(text) and text[i] != quote:
        i += 2 if quote == '"' and text[i] == "\\" else 1
    return i + 1


def _split_key(text: str) -> int:
    """Index of the `=` that ends the key of a key/value line."""
    i = 0
    while i < len(text):
        if text[i] in "\"'":
            i = _skip_string(text, i)
        elif text[i] == "=":
            return i
        else:
            i += 1
    raise ValueError(f"no '=' in {text!r}")


def _header_inner(stripped: str) -> tuple[str, bool]:
    array = stripped.startswith("[[")
    i = 2 if array else 1
    start = i
    while stripped[i] != "]":
        i = _skip_string(stripped, i) if stripped[i] in "\"'" else i + 1
    return stripped[start:i], array


def scan_layout(text: str) -> Layout:
    """Headers and key/value lines of a file that `parse_toml` accepted."""
    lines = tuple(text.splitlines(keepends=True))
    headers: list[Header] = []
    keys: list[KeyLine] = []
    table: tuple[str, ...] = ()
    index = 0
    while index < len(lines):
        raw = lines[index].rstrip("\r\n")
        stripped = raw.lstrip()
        indent = raw[: len(raw) - len(stripped)]
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        if stripped.startswith("["):
            inner, array = _header_inner(stripped)
            table = key_path(inner)
            closing = "]]" if array else "]"
            headers.append(Header(index, table, indent, f"{'[[' if array else '['}{inner}{closing}", array))
            index += 1
            continue
        eq = _split_key(stripped)
        scanner = _Scanner()
        scanner.feed(stripped, eq + 1)
        end = index
        while scanner.open and end + 1 < len(lines):
            end += 1
            scanner.feed(lines[end].rstrip("\r\n"))
        value_start = eq + 1 + (len(stripped[eq + 1:]) - len(stripped[eq + 1:].lstrip()))
        keys.append(KeyLine(index, end, table, key_path(stripped[:eq].strip()), indent,
                            len(indent) + value_start + 1))
        index = end + 1
    return Layout(lines, tuple(headers), tuple(keys))


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def render_key(name: str, quote: str = '"') -> str:
    if _BARE.match(name):
        return name
    return render_value(name, quote)


def render_value(value: Any, quote: str = '"') -> str:
    """A TOML value; strings use `quote` when a literal string can hold them."""
    if isinstance(value, str):
        if quote == "'" and "'" not in value and not any(ord(c) < 32 or c == "\x7f" for c in value):
            return f"'{value}'"
        return tomlkit.string(value).as_string()
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v, quote) for v in value) + "]"
    return tomlkit.item(value).as_string()


def render_header(path: tuple[str, ...], quote: str = '"') -> str:
    return "[" + ".".join(render_key(p, quote) for p in path) + "]"


def fix_newlines(text: str, newline: str) -> str:
    """Give lines added by tomlkit (which writes "\\n") the file's own line ending."""
    if newline == "\r\n":
        return re.sub(r"(?<!\r)\n", "\r\n", text)
    return text
