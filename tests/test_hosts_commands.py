"""kataview.hosts.commands and allowlist: builders, the is_allowed guard, batching through a real shell."""

from __future__ import annotations

import subprocess

import pytest

from conftest import require_part
from kataview.hosts.commands import (
    CommandResult,
    CrictlInspectp,
    CrictlPods,
    CtrContainerInfo,
    Nproc,
    Ps,
    ReadFile,
    Uname,
    batch,
    split_batch,
)
from kataview.hosts.allowlist import is_allowed

SID = "3871d0c8108c66d3388f883f0d4de0cdf3e724607a06bce653fc13a988cd1985"


def test_rendered_commands():
    assert Ps().render() == "ps -ww -eo pid=,ppid=,rss=,pcpu=,etimes=,args="
    assert Uname().render(sudo=True) == "sudo -n uname -r"
    assert Nproc().render() == "nproc"
    assert ReadFile(f"/run/vc/sbs/{SID}/persist.json").render() == f"cat -- /run/vc/sbs/{SID}/persist.json"
    assert ReadFile("/proc/4242/cmdline").render() == "cat -- /proc/4242/cmdline"
    assert CrictlPods("php-apache-5459496d79-qffth", "default").render() == (
        "crictl pods --name php-apache-5459496d79-qffth --namespace default -o json"
    )
    assert CrictlInspectp(SID[:13]).render() == f"crictl inspectp {SID[:13]}"
    assert CtrContainerInfo("ubuntu-kata-fc-vaccel").render() == "ctr --connect-timeout 2s -n k8s.io c info ubuntu-kata-fc-vaccel"


def test_paths_are_normalised_before_the_prefix_check():
    assert ReadFile("/etc//containerd/./config.toml").path == "/etc/containerd/config.toml"
    assert ReadFile("/etc/crio/crio.conf.d/").path == "/etc/crio/crio.conf.d"


@pytest.mark.parametrize(
    "path",
    [
        "/etc/shadow",
        "/run/vc/../../etc/shadow",
        "/run/vcx/secret",  # prefix must end at a path separator
        "run/vc/sbs",
        "/proc/1/environ",
        "/proc/self/status",
        "/proc/0/status",
        "/run/kata-containers/shared/sandboxes/x/rootfs/etc/passwd",
        "/etc/containerd/config.toml; reboot",
        "/etc/containerd/$(reboot)",
        "/etc/containerd/a\nb",
    ],
)
def test_unreadable_paths_are_refused(path: str):
    with pytest.raises(ValueError):
        ReadFile(path)


@pytest.mark.parametrize(
    ("name", "namespace"),
    [("Nginx", "default"), ("-x", "default"), ("a" * 254, "default"), ("ok", "kube.system"),
     ("ok", "a" * 64), ("a_b", "default"), ("ok", "")],
)
def test_invalid_pod_names_and_namespaces(name: str, namespace: str):
    with pytest.raises(ValueError):
        CrictlPods(name, namespace)


@pytest.mark.parametrize("bad_id", ["", "-rf", "a b", "abc;ls", "x" * 77, "a..b", "é"])
def test_invalid_ids(bad_id: str):
    with pytest.raises(ValueError):
        CrictlInspectp(bad_id)
    with pytest.raises(ValueError):
        CtrContainerInfo(bad_id)


@pytest.mark.parametrize(
    "line",
    [
        "ps aux",
        "ps -ww -eo pid=,ppid=,rss=,pcpu=,etimes=,args= ; reboot",
        "cat -- /etc/shadow",
        "cat /etc/containerd/config.toml",
        "cat -- '/etc/containerd/config.toml'",  # quoted differently from our rendering
        "cat -- /etc//containerd/config.toml",  # not in canonical (normalised) form
        "sudo uname -r",
        "sudo -n sudo -n uname -r",
        "crictl rmp " + SID,
        "ctr -n k8s.io c rm " + SID,
        "uname -r && reboot",
        "uname -r\nreboot",
        "uname -r # comment",
        "",
    ],
)
def test_is_allowed_refuses(line: str):
    assert not is_allowed(line)


def test_is_allowed_accepts_what_builders_render():
    commands = [Ps(), Uname(), Nproc(), ReadFile("/etc/kata-containers/configuration.toml"),
                CrictlPods("nginx", "default"), CrictlInspectp(SID), CtrContainerInfo(SID)]
    for command in commands:
        assert is_allowed(command.render())
        assert is_allowed(command.render(sudo=True))
    assert is_allowed(batch(commands))
    assert is_allowed(batch(commands, sudo=True))


def test_tampered_batch_is_refused():
    script = batch([Uname(), Nproc()], nonce="0123456789abcdef")
    assert is_allowed(script)
    assert not is_allowed(script.replace("nproc </dev/null", "nproc; reboot </dev/null"))
    assert not is_allowed(script + "reboot\n")
    assert not is_allowed(script.replace(":1@@", ":7@@"))  # frame order is checked
    assert not is_allowed(script.replace("0123456789abcdef:1", "fedcba9876543210:1"))
    assert not is_allowed(script.rstrip("\n"))


def test_batch_round_trip_through_a_real_shell(tmp_path):
    sh = require_part("sh")
    script = batch([Uname(), ReadFile("/etc/kata-containers/nonexistent.toml"), Nproc()])
    done = subprocess.run([sh, "-c", script], capture_output=True, text=True, timeout=30)
    uname, missing, nproc = split_batch(done.stdout, done.stderr)
    assert uname == CommandResult(0, subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout, "", 0)
    assert missing.exit_code != 0 and "nonexistent.toml" in missing.stderr and missing.stdout == ""
    assert int(nproc.stdout) >= 1 and nproc.exit_code == 0


def test_split_batch_keeps_output_exactly_and_resists_forged_markers():
    nonce = "00112233445566ff"
    forged = "@@kataview:end:ffffffffffffffff:0:0@@\n@@kataview:begin:ffffffffffffffff:1@@\n"
    stdout = (
        f"@@kataview:begin:{nonce}:0@@\n"
        f"no newline at end\n{forged}tail"
        f"\n@@kataview:end:{nonce}:0:3@@\n"
        f"@@kataview:begin:{nonce}:1@@\n"
        "partial output, connection dropped"
    )
    first, second = split_batch(stdout)
    assert first == CommandResult(0, f"no newline at end\n{forged}tail", "", 3)
    assert second.exit_code is None and second.stdout == "partial output, connection dropped"
    assert split_batch("") == [] and split_batch("garbage\n") == []
