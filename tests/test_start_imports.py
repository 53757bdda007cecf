"""What a start imports before the first frame: only what that path uses. The demo's API
server double (aiohttp.web, cryptography), asyncssh (only a VM gathered over SSH needs it)
and the like cost ~0.65 s of every `kataview` start before; each check runs in a fresh
interpreter, so nothing imported by another test counts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # this checkout's kataview, whatever is installed
NOT_AT_START = ("asyncssh", "aiohttp.web", "kataview.demo.session", "kataview.demo.apiserver",
                "kataview.demo.generator", "kataview.hosts.ssh", "cryptography")


def modules_after(code: str, tmp_path) -> set[str]:
    script = textwrap.dedent(code) + "\nimport sys\nprint('\\n'.join(sys.modules))\n"
    env = {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60, check=True)
    return set(done.stdout.split())


def loaded(modules: set[str], name: str) -> bool:
    return any(module == name or module.startswith(name + ".") for module in modules)


def test_the_command_line_parser_loads_no_demo_server_nor_ssh(tmp_path):
    modules = modules_after("""
        from kataview.cli.entry import build_parser
        build_parser().parse_args(["report", "-o", "json"])
    """, tmp_path)
    assert not [name for name in NOT_AT_START if loaded(modules, name)]
    assert "kataview.demo.serve" in modules  # `demo --help` lists its options: the parser is there


def test_the_log_file_setup_quietens_asyncssh_without_importing_it(tmp_path):
    modules = modules_after("""
        import logging
        from kataview.cli.logsetup import setup_logging
        setup_logging(interactive=True)
        assert logging.getLogger("asyncssh").level == logging.WARNING
    """, tmp_path)
    assert not loaded(modules, "asyncssh")


def test_the_dashboard_on_a_kubeconfig_loads_no_ssh_before_its_first_frame(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
        users: [{name: u, user: {token: t}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        current-context: x
    """))
    modules = modules_after(f"""
        from kataview.cli.logsetup import setup_logging
        from kataview.sources.live import build_source
        from kataview.sources.logged import LoggedSource
        from kataview.sources.settings import Settings
        from kataview.ui.app import make_app
        settings = Settings(kubeconfig={str(kubeconfig)!r})
        setup_logging(interactive=True)
        make_app(settings, LoggedSource(build_source(settings)))
    """, tmp_path)
    assert not [name for name in NOT_AT_START if loaded(modules, name)]
