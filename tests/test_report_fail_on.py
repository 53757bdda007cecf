"""`kataview report --fail-on warning|error`: exit codes for cron and CI, and the JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kataview.cli.report import REPORT_API_VERSION, failing
from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.model.exit_codes import Exit


def report_with(*severities: str, unreadable: dict | None = None) -> dict:
    return {"findings": [{"code": f"KV00{i}", "severity": s} for i, s in enumerate(severities)],
            "unreadable": unreadable or {}}


@pytest.mark.parametrize("severities,fail_on,fails", [
    ((), "warning", False),
    (("info",), "warning", False),
    (("warning",), "warning", True),
    (("warning",), "error", False),
    (("error",), "warning", True),
    (("error", "info"), "error", True),
    (("error",), None, False),
    (("info",), "info", True),
    (("warning",), "info", True),
])
def test_threshold(severities, fail_on, fails):
    assert bool(failing(report_with(*severities), fail_on)) is fails


def test_unreadable_counts_as_a_warning_only():
    report = report_with(unreadable={"events": "forbidden: cannot list events: ..."})
    assert failing(report, "warning") == ["events unreadable"]
    assert failing(report, "error") == []


def run(kubeconfig: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "XDG_STATE_HOME": str(home / "state"),
           "XDG_CONFIG_HOME": str(home / "config")}
    return subprocess.run([sys.executable, "-m", "kataview", "report", "--kubeconfig", str(kubeconfig),
                           *args], capture_output=True, text=True, timeout=60, env=env)


def test_exit_codes_against_the_double(tmp_path):
    objects = classic_objects()
    with serve_in_thread(objects) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        plain = run(kubeconfig, tmp_path, "--json")
        assert plain.returncode == 0  # no --fail-on: findings never fail the command
        report = json.loads(plain.stdout)
        assert report["apiVersion"] == REPORT_API_VERSION == "kataview.report/v1"
        assert any(f["severity"] == "error" for f in report["findings"])  # the classic stuck pod
        failed = run(kubeconfig, tmp_path, "--json", "--fail-on", "error")
        assert failed.returncode == Exit.FINDINGS
        assert json.loads(failed.stdout) == {**report, "generatedAt": json.loads(failed.stdout)["generatedAt"]}
        assert "--fail-on error: KV003 error" in failed.stderr
        assert run(kubeconfig, tmp_path, "--fail-on", "warning").returncode == Exit.FINDINGS
        assert run(kubeconfig, tmp_path, "--fail-on", "warn").returncode == Exit.FINDINGS  # the TUI's word
    with serve_in_thread([o for o in objects if o["kind"] == "Node"][:1]) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig2")
        clean = run(kubeconfig, tmp_path, "--json", "--fail-on", "warning")
        assert clean.returncode == Exit.OK, (clean.stdout, clean.stderr)
    bad = run(tmp_path / "missing", tmp_path, "--fail-on", "error")
    assert bad.returncode == Exit.CONFIG  # bad input is not "findings"
    usage = subprocess.run([sys.executable, "-m", "kataview", "report", "--fail-on", "notice"],
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == Exit.USAGE and "invalid choice" in usage.stderr


def test_report_logs_to_the_private_file_only(tmp_path):
    with serve_in_thread(classic_objects()) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        server.faults.error("*", 500, times=10**6)
        result = run(kubeconfig, tmp_path)
    assert result.returncode == Exit.API_ERROR and "Traceback" not in result.stderr
    log = tmp_path / "state" / "kataview" / "kataview.log"
    assert log.exists() and oct(log.stat().st_mode & 0o777) == "0o600"
    assert server.token not in log.read_text()
