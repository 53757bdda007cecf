"""Parse process tables: kataview's own ``ps`` command and the ones people paste.

Formats, recognised per row by shape (a header, when present, only decides which shape
is tried first):

- ``own``: :data:`PS_COMMAND` (``PID PPID RSS %CPU ETIMES ARGS``, no header);
- ``ef``: ``ps -ef`` / ``ps -fe`` (``UID PID PPID C STIME TTY TIME CMD``);
- ``aux``: ``ps aux`` (``USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND``);
- ``axf``: ``ps ax`` / ``ps axf`` (``PID TTY STAT TIME COMMAND``).

Forest output (``f``, ``--forest``) is accepted in every format: the ``\\_`` tree art is
stripped and kept as ``tree_depth`` / ``tree_parent``. Pasted transcripts are tolerated:
shell prompt lines start a section, and only sections whose command runs ``ps`` are read
(so a ``kata-runtime list`` table in between is skipped); ``...`` elision lines are
ignored; a line that is not a row continues the previous row's command (hand-wrapped),
except after rows of kataview's own format, which ``-ww`` never wraps.

Argument vectors are the command split on single spaces: ``ps`` joins argv that way, so
an empty argument (``-address  -publish-binary``) survives as ``""``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

# kataview's own command: wide (never cut), no header, numeric columns first, args last.
PS_COMMAND = "ps -ww -eo pid=,ppid=,rss=,pcpu=,etimes=,args="
PS_ARGV = ("ps", "-ww", "-eo", "pid=,ppid=,rss=,pcpu=,etimes=,args=")

_TIME = r"\d[\d:.-]*"
_ROW_SHAPES = {
    "own": re.compile(r"\s*(?P<pid>\d+)\s+(?P<ppid>\d+)\s+(?P<rss>\d+)\s+(?P<cpu>\d+(?:\.\d+)?)"
                      r"\s+(?P<etimes>\d+)(?:\s(?P<cmd>.*))?"),
    "aux": re.compile(r"(?P<user>\S+)\s+(?P<pid>\d+)\s+(?P<cpu>\d+(?:\.\d+)?)\s+(?P<mem>\d+(?:\.\d+)?)"
                      r"\s+(?P<vsz>\d+)\s+(?P<rss>\d+)\s+(?P<tty>\S+)\s+(?P<stat>\S+)\s+(?P<start>\S+)"
                      rf"\s+(?P<time>{_TIME})\s(?P<cmd>.*)"),
    "ef": re.compile(r"(?P<user>\S+)\s+(?P<pid>\d+)\s+(?P<ppid>\d+)\s+(?P<c>\d+)\s+(?P<start>\S+)"
                     rf"\s+(?P<tty>\S+)\s+(?P<time>{_TIME})\s(?P<cmd>.*)"),
    "axf": re.compile(rf"\s*(?P<pid>\d+)\s+(?P<tty>\S+)\s+(?P<stat>\S+)\s+(?P<time>{_TIME})\s(?P<cmd>.*)"),
}
_HEADER_FORMAT = {"UID": "ef", "USER": "aux", "PID": "axf"}
_PROMPT = re.compile(
    r"(?:\$|#|\[[^\]\n]*\][#$]|[\w.-]+@[\w.-]+(?::[^\s#$]*)?[#$])(?:\s+(?P<command>.*)|\s*$)"
)
_RUNS_PS = re.compile(r"(?:^|[\s|;&(])(?:sudo\s+(?:-\S+\s+)*)?ps(?:\s|$)")
_TREE_ART = re.compile(r"(?P<lead>[ |]*)\\_ ")
# Lines cut by the terminal share one length; below this width it is not worth a claim.
_MIN_CUT_WIDTH = 80


@dataclass(frozen=True, slots=True)
class Process:
    """One row of a process table. Columns the format lacks are ``None``."""

    pid: int
    ppid: int | None
    user: str | None
    argv: tuple[str, ...]
    command: str
    format: str
    rss_kib: int | None = None
    vsz_kib: int | None = None
    cpu_percent: float | None = None
    mem_percent: float | None = None
    etime_seconds: int | None = None
    start: str | None = None  # STIME/START as printed ('15:02', 'Jul26'), not a date
    cpu_time: str | None = None  # TIME column: accumulated CPU time as printed
    tty: str | None = None
    stat: str | None = None
    tree_depth: int = 0
    tree_parent: int | None = None  # parent shown by forest art (formats without PPID)
    truncated: bool = False  # the line looks cut at the terminal width


def parse_ps(text: str) -> list[Process]:
    """Parse ``ps`` output or a pasted transcript. Never raises; junk lines are skipped."""
    rows: list[tuple[Process, int]] = []  # process and the length of its source line
    preferred: str | None = None
    in_ps_section = True
    for line in text.splitlines():
        line = line.rstrip()
        prompt = _PROMPT.fullmatch(line)
        if prompt:
            in_ps_section = bool(_RUNS_PS.search(prompt.group("command") or ""))
            continue
        if not in_ps_section or not line.strip() or set(line.strip()) == {"."}:
            continue
        header = _header_format(line)
        if header:
            preferred = header
            continue
        process = _parse_row(line, preferred)
        if process is not None:
            rows.append((process, len(line)))
        elif rows and rows[-1][0].format != "own":  # hand-wrapped (ps -ww never wraps)
            previous, length = rows[-1]
            rows[-1] = (_with_command(previous, previous.command + " " + line.strip()), length)
    return _link_forest(_mark_cut_lines(rows))


def _header_format(line: str) -> str | None:
    words = line.split()
    if len(words) >= 4 and words[0] in _HEADER_FORMAT and words[-1] in ("CMD", "COMMAND", "ARGS"):
        return _HEADER_FORMAT[words[0]]
    return None


def _parse_row(line: str, preferred: str | None) -> Process | None:
    order = [preferred] if preferred else []
    order += [name for name in _ROW_SHAPES if name != preferred]
    for name in order:
        match = _ROW_SHAPES[name].fullmatch(line)
        if match:
            return _process_from(name, match.groupdict())
    return None


def _process_from(fmt: str, cols: dict[str, str | None]) -> Process:
    depth, command = _strip_tree_art(cols.get("cmd") or "")
    return Process(
        pid=int(cols["pid"]),
        ppid=_int(cols.get("ppid")),
        user=cols.get("user"),
        argv=_argv(command),
        command=command,
        format=fmt,
        rss_kib=_int(cols.get("rss")),
        vsz_kib=_int(cols.get("vsz")),
        cpu_percent=_float(cols.get("cpu") or cols.get("c")),
        mem_percent=_float(cols.get("mem")),
        etime_seconds=_int(cols.get("etimes")),
        start=cols.get("start"),
        cpu_time=cols.get("time"),
        tty=cols.get("tty"),
        stat=cols.get("stat"),
        tree_depth=depth,
    )


def _strip_tree_art(command: str) -> tuple[int, str]:
    """Remove forest art. ps indents each level by 4 columns: ' \\_ ', ' |   \\_ ', ..."""
    match = _TREE_ART.match(command)
    if match is None:
        return 0, command
    return len(match.group("lead")) // 4 + 1, command[match.end():]


def _argv(command: str) -> tuple[str, ...]:
    return tuple(command.split(" ")) if command else ()


def _with_command(process: Process, command: str) -> Process:
    return replace(process, command=command, argv=_argv(command))


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _mark_cut_lines(rows: list[tuple[Process, int]]) -> list[Process]:
    """Flag rows cut at the terminal width: two or more rows share the longest length.

    A single longest line proves nothing (one long QEMU line is normal); several lines of
    exactly the same maximal length are what ``ps`` without ``-ww`` prints on a terminal.
    kataview's own format uses ``-ww`` and is never flagged.
    """
    lengths = [length for process, length in rows if process.format != "own"]
    widest = max(lengths, default=0)
    if widest < _MIN_CUT_WIDTH or lengths.count(widest) < 2:
        return [process for process, _ in rows]
    return [
        replace(process, truncated=True) if length == widest and process.format != "own" else process
        for process, length in rows
    ]


def _link_forest(processes: list[Process]) -> list[Process]:
    """Fill ``tree_parent`` from the forest depth (the nearest shallower row above)."""
    stack: list[Process] = []
    linked = []
    for process in processes:
        while stack and stack[-1].tree_depth >= process.tree_depth:
            stack.pop()
        if process.tree_depth > 0 and stack and stack[-1].tree_depth == process.tree_depth - 1:
            process = replace(process, tree_parent=stack[-1].pid)
        stack.append(process)
        linked.append(process)
    return linked
