"""The setup command set: exact, validated, never in the read-only allowlist; and the pure
preflight parsing, guidance and smoke-test manifest."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kataview.hosts.allowlist import is_allowed
from kataview.setup.guidance import install_guidance
from kataview.setup.preflight import parse_preflight, with_second
from kataview.setup.remote_commands import SetupCommand, command_from_line, is_setup_command
from kataview.setup.steps.smoke import guest_kernel_version, smoke_pod_manifest

RESTART = ("systemctl", "restart", "containerd")
hostile = st.text() | st.sampled_from(["$(reboot)", "/etc/containerd/config.toml;reboot", "/etc/../shadow",
                                       "/etc/containerd/config.toml\n", "-rf", "/etc/shadow", "/etc/x.toml"])


@settings(max_examples=300)
@given(kind=st.sampled_from(["read", "list", "write", "backup", "remove"]), a=hostile, b=hostile)
@example(kind="write", a="/etc/containerd/config.toml", b="")
@example(kind="remove", a="/etc/shadow", b="")
def test_setup_commands_are_exact_and_never_read_only(kind, a, b):
    args = {"backup": (a, "", "20250314T123000Z"), "write": (a,)}.get(kind, (a,))
    try:
        command = SetupCommand(kind, args)
    except ValueError:
        return
    for sudo in (False, True):
        line = command.render(sudo=sudo)
        assert command_from_line(line, RESTART) == command
        assert not is_allowed(line)  # the read-only allowlist never lets these through
        assert shlex.split(line)[-len(args):] == list(args)  # values stay single arguments
    if command.writes:
        assert a.endswith((".toml", ".tmpl", ".conf", ".bak")) and ".." not in a.split("/")


@pytest.mark.parametrize("line", [
    "sh -c 'rm -rf /' kataview-remove /etc/x.toml",
    "systemctl restart containerd; reboot",
    "systemctl restart crio",
    "sudo -n systemctl  restart containerd",
    shlex.join(["sh", "-c", 'exec rm -f -- "$1"', "kataview-remove", "/etc/shadow"]),
])
def test_other_lines_are_refused(line):
    assert not is_setup_command(line, RESTART)


def test_restart_only_the_configured_command():
    assert is_setup_command(shlex.join(RESTART), RESTART)
    assert is_setup_command("sudo -n " + shlex.join(RESTART), RESTART)
    assert not is_setup_command(shlex.join(RESTART), ("systemctl", "restart", "crio"))


PS = ("    1     0  1000  0.0   100 /sbin/init\n"
      "  812     1 50000  1.2  9000 /usr/local/bin/k3s agent\n"
      "  900   812 40000  0.5  9000 containerd -c /var/lib/rancher/k3s/agent/etc/containerd/config.toml\n")


def test_preflight_parse_k3s_node():
    report = parse_preflight("n1", {
        "ps": (PS, 0), "uname": ("6.8.0-45-generic\n", 0), "arch": ("x86_64\n", 0),
        "os": ('NAME="Ubuntu"\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\n', 0), "virt": ("vmx\n", 0),
        "kvm": ("character special file a:e8 660 root:kvm\n", 0),
        "configs": ("/var/lib/rancher/k3s/agent/etc/containerd/config.toml\n", 0),
        "kata": ("/opt/kata/bin/containerd-shim-kata-v2\n/opt/kata/bin/kata-runtime\n", 0)})
    assert (report.os, report.kernel, report.distribution, report.runtime_running) == (
        "Ubuntu 24.04.1 LTS", "6.8.0-45-generic", "k3s", True)
    assert report.config_path == "/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl"
    assert report.layout.socket == "/run/k3s/containerd/containerd.sock"
    assert report.shim == "/opt/kata/bin/containerd-shim-kata-v2"
    assert report.check_tool == "/opt/kata/bin/kata-runtime"
    checked = with_second(report, ("k3s version v1.30.4+k3s1 (98262b5d)\n", 0), None,
                          ("System is capable of running Kata Containers\n", 0))
    assert checked.runtime_version == "v1.30.4+k3s1" and checked.kata_check_ok
    titles = [title for title, _ in install_guidance(checked)]
    assert titles == ["k3s: where the config lives"]


def test_guidance_without_kvm_or_kata_recommends_kata_deploy():
    report = parse_preflight("n2", {"ps": ("", 0), "configs": ("/etc/containerd/config.toml\n", 0)})
    titles = [title for title, _ in install_guidance(report)]
    assert titles[:2] == ["No hardware virtualization", "Install Kata Containers"]
    text = dict(install_guidance(report))["Install Kata Containers"]
    assert "helm install kata-deploy oci://ghcr.io/kata-containers/kata-deploy-charts/kata-deploy" in text


def test_cri_disabled_config_is_a_problem():
    report = parse_preflight("n3", {"ps": ("  5 1 1 0 1 /usr/bin/containerd\n", 0),
                                    "configs": ("/etc/containerd/config.toml\n", 0)})
    checked = with_second(report, None, ('disabled_plugins = ["cri"]\n', 0), None)
    assert "CRI plugin is disabled" in checked.config_problem


def test_smoke_manifest_and_kernel_version():
    pod = smoke_pod_manifest("kata", "k8s-worker", tolerations=[{"key": "k", "operator": "Exists",
                                                                   "effect": "NoSchedule"}])
    assert pod["spec"]["runtimeClassName"] == "kata" and pod["spec"]["nodeName"] == "k8s-worker"
    assert pod["spec"]["tolerations"][0]["key"] == "k"
    assert guest_kernel_version("/opt/kata/share/kata-containers/vmlinux-6.1.62-132") == "6.1.62-132"
    assert guest_kernel_version("/x/vmlinux.container") == "/x/vmlinux.container"
