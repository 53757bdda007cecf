"""One exit-code table (kataview.model.exit_codes): each outcome its own code, every --help and
the README list them, and the commands return them."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kataview.cli import entry as cli
from kataview.model.exit_codes import COMMAND_CODES, MEANING, Exit

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
KATAVIEW = [sys.executable, "-m", "kataview"]
CONTAINERD_V2 = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
                 '  default_runtime_name = "runc"\n')


def help_text(*args: str) -> str:
    result = subprocess.run([*KATAVIEW, *args, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == Exit.OK, result.stderr
    return result.stdout


def test_every_outcome_has_its_own_code_and_a_meaning():
    assert len({int(code) for code in Exit}) == len(Exit) == len(MEANING)
    assert Exit.FINDINGS != Exit.UNREACHABLE != Exit.API_ERROR
    assert Exit.USAGE == 2  # argparse exits 2 on a bad command line by itself


@pytest.mark.parametrize("args,command", [
    ((), None), (("report",), "report"), (("vm",), "vm"), (("demo",), "demo"), (("setup",), "setup"),
    (("setup", "containerd"), "setup"), (("setup", "crio"), "setup"),
])
def test_every_help_ends_with_its_exit_codes(args, command):
    text = help_text(*args)
    assert "exit codes:" in text
    listed = {int(code) for code in re.findall(r"^  (\d+) ", text.split("exit codes:")[1], re.M)}
    assert listed == {int(code) for code in (COMMAND_CODES[command] if command else Exit)}


def test_the_readme_table_is_the_module_table():
    section = README.read_text().split("### Exit codes", 1)[1].split("\n#", 1)[0]
    rows = dict(re.findall(r"^\| `(\d+)` \| (\w+) \|", section, re.M))
    assert rows == {str(int(code)): code.name for code in Exit}


def test_read_only_refuses_a_local_setup_write(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(CONTAINERD_V2)
    assert cli.main(["--read-only", "setup", "containerd", "--config", str(config)]) == Exit.READ_ONLY
    assert "refused by --read-only" in capsys.readouterr().err and config.read_text() == CONTAINERD_V2
    assert cli.main(["--read-only", "setup", "containerd", "--config", str(config), "--dry-run"]) == Exit.OK
    assert "dry run: nothing was written" in capsys.readouterr().out
    assert config.read_text() == CONTAINERD_V2


def test_setup_refusal_and_usage_differ(tmp_path, capsys):
    broken = tmp_path / "config.toml"
    broken.write_text("version = [\n")
    assert cli.main(["setup", "containerd", "--config", str(broken)]) == Exit.CONFIG
    with pytest.raises(SystemExit) as usage:
        cli.main(["setup", "containerd"])  # --config missing: argparse's own usage error
    assert usage.value.code == Exit.USAGE


def test_the_table_is_the_only_spelling_of_an_exit_code():
    """No module renames the codes (EXIT_OK = Exit.OK) and no command returns a bare number:
    the commands (cli/, `demo --serve`) return Exit members, so a grep for Exit finds them all."""
    offenders = []
    commands = [*(ROOT / "kataview" / "cli").glob("*.py"), ROOT / "kataview" / "demo" / "serve.py"]
    for path in (ROOT / "kataview").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)] if isinstance(node, ast.Assign) else []
            offenders += [f"{path.name}:{node.lineno} binds {name}" for name in names if name.startswith("EXIT_")]
            if path in commands and isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) \
                    and type(node.value.value) is int:
                offenders.append(f"{path.name}:{node.lineno} returns {node.value.value}")
    assert offenders == []
