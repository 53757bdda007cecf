"""The command-line contract from the README, through the real entry point."""

from __future__ import annotations

import subprocess
import sys

from kataview import __version__
from kataview.model.exit_codes import Exit

KATAVIEW = [sys.executable, "-m", "kataview"]


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*KATAVIEW, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"kataview {__version__}"


def test_unknown_flag_is_a_usage_error():
    result = run("report", "--no-such-flag")
    assert result.returncode == 2 and "no-such-flag" in result.stderr


def test_setup_containerd_dry_run_through_the_cli(tmp_path):
    config = tmp_path / "config.toml"
    original = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
                '  default_runtime_name = "runc"\n'
                '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
                '  runtime_type = "io.containerd.runc.v2"\n')
    config.write_text(original)
    result = run("setup", "containerd", "--config", str(config), "--handler", "kata", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert '+[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]' in result.stdout
    assert config.read_text() == original, "--dry-run must not write"


def test_setup_unknown_target():
    result = run("setup", "docker")
    assert result.returncode == Exit.USAGE and "containerd" in result.stderr


def test_broken_config_file_is_one_line_exit_4(tmp_path):
    broken = tmp_path / "config.toml"
    broken.write_text("theme = \n")
    result = run("--config", str(broken), "report", "--demo")
    assert result.returncode == Exit.CONFIG
    assert str(broken) in result.stderr and "Traceback" not in result.stderr


def test_a_closed_pipe_is_not_a_traceback(tmp_path):
    from kataview.demo.apiserver import serve_in_thread
    from kataview.demo.generator import generated_objects

    with serve_in_thread(generated_objects(400, 2000)) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        producer = subprocess.Popen([*KATAVIEW, "--kubeconfig", str(kubeconfig), "report", "--json"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        producer.stdout.readline()
        producer.stdout.close()  # as `| head -1` does, long before the report (>64 KiB) is out
        _, stderr = producer.communicate(timeout=60)
    assert producer.returncode == Exit.PIPE_CLOSED
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr, stderr.decode()


def test_dashboard_with_a_bad_kubeconfig_is_one_line_exit_4(tmp_path):
    """Before any screen is drawn: a missing file, or an unknown context, exits 4 with one line."""
    missing = tmp_path / "nope.yaml"
    for args in (("--kubeconfig", str(missing)), ("setup", "--kubeconfig", str(missing))):
        result = subprocess.run([*KATAVIEW, *args], capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert result.returncode == Exit.CONFIG, (args, result.stderr)
        assert str(missing) in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_vm_with_a_bad_kubeconfig_is_one_line_exit_4(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = run("vm", "default/web-0", "--kubeconfig", str(missing))
    assert result.returncode == Exit.CONFIG and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"kataview vm: kubeconfig {missing}: file not found"
