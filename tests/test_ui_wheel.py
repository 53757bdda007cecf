"""The stylesheets ship inside the wheel (hatch force-include styles/ -> kataview/styles), and
the App finds them both there and in the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kataview.ui.theme import STYLESHEETS, styles_dir

ROOT = Path(__file__).resolve().parents[1]


def test_stylesheets_resolve_from_the_source_tree():
    directory = styles_dir()
    assert all((directory / name).is_file() for name in STYLESHEETS)


def test_no_hex_colours_in_stylesheets():
    import re

    for path in (ROOT / "styles").glob("*.tcss"):
        assert not re.search(r"#[0-9a-fA-F]{3,8}\b", path.read_text()), path.name


def test_wheel_contains_every_stylesheet(tmp_path):
    # offline: the build backend is a test dependency, so no package index is asked (the
    # suite's egress fence refuses that dial)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "--no-index", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"could not build the wheel:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    wheel = next(tmp_path.glob("kataview-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in STYLESHEETS:
        assert f"kataview/styles/{name}" in names
    assert "kataview/ui/theme.py" in names
