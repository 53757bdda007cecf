"""Every command's --help is complete, and what it offers works (`vm -n NS POD`, `demo --nodes`)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from kataview.cli import entry as cli
from kataview.cli.vm import VMCommandError, parse_target
from kataview.demo.scenario import classic_objects
from kataview.demo.serve import serve_parser
from kataview.model.exit_codes import Exit

KATAVIEW = [sys.executable, "-m", "kataview"]


def run(*args: str, home=None) -> subprocess.CompletedProcess:
    env = None if home is None else {"HOME": str(home), "PATH": "/usr/bin:/bin",
                                     "XDG_CONFIG_HOME": str(home / "config"), "XDG_STATE_HOME": str(home / "state")}
    return subprocess.run([*KATAVIEW, *args], capture_output=True, text=True, timeout=60, env=env)


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_demo_help_lists_every_option_of_the_dashboard_and_of_serve():
    result = run("demo", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--nodes", "--pods", "--serve", "--port", "--kubeconfig-out", "--plain-http", "--read-only"):
        assert option in result.stdout, option
    for action in serve_parser()._actions:  # whatever --serve accepts, `demo --help` shows
        if action.help != argparse.SUPPRESS:
            assert all(flag in result.stdout for flag in action.option_strings), action.option_strings


@pytest.mark.parametrize("command", ["report", "vm", "demo"])
def test_every_option_has_a_help_text(command):
    bare = [action.option_strings for action in subparsers()[command]._actions
            if action.option_strings and not action.help]
    assert bare == []


def test_demo_options_reach_the_dashboard(monkeypatch):
    import kataview.cli.tui

    seen = {}
    monkeypatch.setattr(kataview.cli.tui, "run_tui",
                        lambda settings, demo_size=None: seen.update(settings=settings, size=demo_size) or 0)
    assert cli.main(["demo", "--nodes", "3", "--pods", "40", "--read-only"]) == 0
    assert seen["size"] == (3, 40) and seen["settings"].read_only and seen["settings"].demo
    assert cli.main(["--read-only", "demo"]) == 0 and seen["settings"].read_only  # the global flag too
    assert cli.main(["demo"]) == 0 and not seen["settings"].read_only


def test_serve_only_options_without_serve_are_refused(capsys):
    assert cli.main(["demo", "--port", "8443"]) == Exit.USAGE
    assert "--port needs --serve" in capsys.readouterr().err


def test_vm_target_forms():
    assert parse_target("untrusted/web-0") == ("untrusted", "web-0")
    assert parse_target("web-0", "untrusted") == ("untrusted", "web-0")
    assert parse_target("untrusted/web-0", "untrusted") == ("untrusted", "web-0")
    for text, namespace in (("web-0", None), ("other/web-0", "untrusted"), ("a/b/c", None), ("/web-0", None)):
        with pytest.raises(VMCommandError) as caught:
            parse_target(text, namespace)
        assert caught.value.exit_code == Exit.USAGE


def test_vm_with_namespace_flag_on_the_demo(tmp_path):
    pod = next(o for o in classic_objects() if o["kind"] == "Pod" and o["spec"].get("runtimeClassName") == "kata"
               and o["metadata"]["namespace"] == "untrusted")
    (tmp_path / ".ssh").mkdir()
    result = run("vm", "-n", "untrusted", pod["metadata"]["name"], "--demo", "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["node"] == pod["spec"]["nodeName"]
