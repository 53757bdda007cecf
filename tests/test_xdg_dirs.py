"""One state directory and one config directory (kataview.model.xdg): the log, the remembered
theme and the setup transcripts land side by side, and the config is read from the config
directory, whichever of XDG_STATE_HOME / XDG_CONFIG_HOME is set, unset or relative."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kataview.cli.logsetup import log_path
from kataview.setup.session import transcript_path
from kataview.sources.settings import load_config_file, remember_theme, remembered_theme


def state_files(home: Path) -> dict[str, Path]:
    """Where each of kataview's state files goes now."""
    remember_theme("textual-light")
    themes = [path for path in home.parent.rglob("state.toml")]
    assert len(themes) == 1 and remembered_theme() == "textual-light"
    return {"log": log_path().parent, "theme": themes[0].parent, "transcripts": transcript_path("n1").parent.parent,
            "config": load_config_file()[0].parent}


@pytest.mark.parametrize("state, config", [(None, None), ("relative/state", "relative/config"), ("", "")])
def test_unset_empty_or_relative_values_fall_back_to_home(tmp_path, monkeypatch, state, config):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # a relative value would land here
    monkeypatch.setenv("HOME", str(home))
    for variable, value in (("XDG_STATE_HOME", state), ("XDG_CONFIG_HOME", config)):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
    found = state_files(home)
    assert found == {"log": home / ".local/state/kataview", "theme": home / ".local/state/kataview",
                     "transcripts": home / ".local/state/kataview", "config": home / ".config/kataview"}
    assert list(cwd.iterdir()) == []


def test_absolute_values_are_used(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    found = state_files(tmp_path / "home")
    assert set(found.values()) == {tmp_path / "state" / "kataview", tmp_path / "config" / "kataview"}
    assert found["config"] == tmp_path / "config" / "kataview"


def test_only_model_xdg_reads_the_variables():
    """One resolver: no other module reads an XDG_* variable (the screenshot tool only sets one)."""
    package = Path(__file__).resolve().parents[1] / "kataview"
    offenders = []
    for path in package.rglob("*.py"):
        if path == package / "model" / "xdg.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            key = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                key = node.args[0]
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                key = node.slice
            if isinstance(key, ast.Constant) and str(key.value).startswith("XDG_"):
                offenders.append(f"{path.relative_to(package)}:{node.lineno}")
    assert offenders == []
