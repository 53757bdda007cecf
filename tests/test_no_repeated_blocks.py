"""No identical block of six or more lines stands twice in kataview/ (issue 15): a repeat is
one function written twice. Blank lines, comments, imports and lone punctuation do not count,
and white space is folded, so a re-indented copy is still a copy."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kataview"
RUN = 6
NOT_COUNTED = re.compile(r"^(#.*|[)\]}(\[{,:]+|from \S+ import .*|import \S.*|\"\"\"|)$")


def counted_lines(text: str) -> list[tuple[int, str]]:
    lines = ((number, " ".join(raw.split())) for number, raw in enumerate(text.splitlines(), 1))
    return [(number, line) for number, line in lines if not NOT_COUNTED.match(line)]


def repeats(files: dict[str, str]) -> list[str]:
    """`a.py:3 ~ b.py:40` for each run of RUN counted lines that stands in two places."""
    first: dict[tuple[str, ...], tuple[str, int]] = {}
    found = []
    for name, text in files.items():
        lines = counted_lines(text)
        for start in range(len(lines) - RUN + 1):
            run = tuple(line for _, line in lines[start:start + RUN])
            here = (name, lines[start][0])
            seen = first.setdefault(run, here)
            if seen != here and (seen[0] != name or here[1] - seen[1] > RUN):
                found.append(f"{seen[0]}:{seen[1]} ~ {name}:{here[1]}")
    return found


def test_repeats_are_found():
    body = "".join(f"x{n} = compute({n})\n" for n in range(RUN))
    assert repeats({"a.py": "def f():\n" + body, "b.py": "# other\n\n" + body.replace("\n", "  \n")}) == [
        "a.py:2 ~ b.py:3"]
    assert repeats({"a.py": body[:-1].rsplit("\n", 1)[0] + "\n", "b.py": "y = 1\n" + body.split("\n", 1)[1]}) == []


def test_no_block_repeats_in_kataview():
    files = {str(path.relative_to(PACKAGE)): path.read_text(encoding="utf-8")
             for path in sorted(PACKAGE.rglob("*.py"))}
    assert repeats(files) == []
