"""The repository stands alone: a plain clone has nothing beside it, so no file of the project
may reach outside it. (.ci/run proves it for real by running the suite in a fresh clone in a temp
folder; this test catches a new reference before CI does.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import conftest

ROOT = Path(__file__).resolve().parents[1]
# a path that starts by going up (a quoted dot-dot-slash, or dot-dot-slash-shared anywhere), and
# Path(__file__).resolve().parents[N] that climbs above the root
UPWARD = re.compile(r"\.\./shared|[\"'\s=(]\.\./\w")
PARENTS = re.compile(r"Path\(__file__\)\.resolve\(\)\.parents\[(\d+)\]")


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    suffixes = {".py", ".sh", ".toml", ".cfg", ".md", ".yaml", ".yml"}
    names = [line for line in listed.stdout.splitlines() if not line.startswith("tests/corpus/")]
    return [ROOT / n for n in names
            if Path(n).suffix in suffixes or Path(n).name in {"Makefile", "run"}]


def test_no_file_reaches_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        text = path.read_text(errors="replace")
        depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth] is the root
        for number, line in enumerate(text.splitlines(), 1):
            if UPWARD.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
            for match in PARENTS.finditer(line):
                if int(match.group(1)) > depth:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: climbs above the repository")
    assert not offenders, "\n".join(offenders)


def test_the_corpus_is_part_of_the_repository() -> None:
    corpus = conftest.CORPUS
    assert corpus.is_relative_to(ROOT)
    assert (corpus / "EXPECTED.md").is_file() and (corpus / "SOURCES.md").is_file()
    listed = subprocess.run(["git", "ls-files", "--", str(corpus)], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    assert len(listed) > 50  # committed, not merely present in this working tree
