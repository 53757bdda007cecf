"""Hostile names, ids and paths thrown at the command builders.

Property: every builder either raises ValueError, or renders a line that shlex.split parses
back to exactly the allowlisted program and arguments, with the hostile value unchanged as
one single argument (so nothing else can be built), and that is_allowed accepts.
Conversely, is_allowed never accepts a line whose argv is not allowlisted.
"""

from __future__ import annotations

import shlex

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kataview.hosts.commands import (
    CrictlInspectp,
    CrictlPods,
    CtrContainerInfo,
    ReadFile,
    batch,
    readable_path,
)
from kataview.hosts.allowlist import command_from_argv, is_allowed

NASTY = [
    "$(reboot)", "`reboot`", "; rm -rf /", "&& halt", "| sh", "\n", "\r", "\0", "'", '"', "\\",
    "../", "..", "-rf", "--", " ", "\t", "*", "?", "~", "$HOME", "${IFS}", ">", "<", "#", "!",
    "é", "\u202e", "\ufeff", "ｒｅｂｏｏｔ", "\x1b[2J", "/", ".", "-", "a", "0", "f" * 64,
]
hostile = st.lists(st.sampled_from(NASTY) | st.text(max_size=8), max_size=8).map("".join)
hostile_text = hostile | st.text() | st.from_regex(r"[a-z0-9.-]{1,70}", fullmatch=True)
PREFIXES = ["/run/vc/", "/run/kata/", "/etc/kata-containers/", "/etc/containerd/", "/etc/crio/",
            "/opt/kata/share/defaults/kata-containers/", "/proc/1/", "/", ""]
hostile_path = st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(PREFIXES), hostile_text)


def assert_exact(command, expected_argv: list[str]) -> None:
    for sudo in (False, True):
        line = command.render(sudo=sudo)
        assert "\n" not in line and "\0" not in line
        words = shlex.split(line)
        assert words == (["sudo", "-n"] if sudo else []) + expected_argv
        assert is_allowed(line)
    assert is_allowed(batch([command]))


@settings(max_examples=400)
@given(name=hostile_text, namespace=hostile_text)
@example(name="$(reboot)", namespace="default")
@example(name="nginx", namespace="default;reboot")
def test_crictl_pods(name, namespace):
    try:
        command = CrictlPods(name, namespace)
    except ValueError:
        return
    assert_exact(command, ["crictl", "pods", "--name", name, "--namespace", namespace, "-o", "json"])


@settings(max_examples=400)
@given(value=hostile_text)
@example(value="`id`")
@example(value="-rf")
def test_ids(value):
    for builder, prefix in ((CrictlInspectp, ["crictl", "inspectp"]),
                            (CtrContainerInfo, ["ctr", "--connect-timeout", "2s", "-n", "k8s.io", "c", "info"])):
        try:
            command = builder(value)
        except ValueError:
            continue
        assert not value.startswith("-")
        assert_exact(command, [*prefix, value])


@settings(max_examples=600)
@given(path=hostile_path)
@example(path="/run/vc/../../etc/shadow")
@example(path="/etc/containerd/config.toml\n/etc/shadow")
@example(path="/proc/1/../../etc/shadow")
@example(path="/etc/kata-containers/$(reboot)")
def test_paths(path):
    try:
        command = ReadFile(path)
    except ValueError:
        return
    assert ".." not in path.split("/")
    assert command.path == readable_path(command.path)  # the result is canonical
    assert_exact(command, ["cat", "--", command.path])


@settings(max_examples=600)
@given(line=st.one_of(hostile_text, st.lists(hostile_text, max_size=6).map(" ".join)))
@example(line="uname -r; reboot")
@example(line="cat -- /etc/containerd/config.toml /etc/shadow")
def test_is_allowed_only_accepts_allowlisted_argv(line):
    if not is_allowed(line):
        return
    words = shlex.split(line)
    if words[:2] == ["sudo", "-n"]:
        words = words[2:]
    assert command_from_argv(words).render() == shlex.join(words)


# --- the preflight's read-only commands -----------------------------------------------------

from kataview.hosts.preflight_commands import (  # noqa: E402
    KATA_CHECK_ARGV, KATA_PATHS, RUNTIME_CONFIG_PATHS, VERSION_ARGV, CpuVirtFlags, KataCheck,
    KvmDevice, ListKnownPaths, RuntimeVersion, UnameMachine)

FIXED_PREFLIGHT = [UnameMachine(), CpuVirtFlags(), KvmDevice(), ListKnownPaths("config"), ListKnownPaths("kata")]


def test_fixed_preflight_commands_render_exactly():
    for command in FIXED_PREFLIGHT:
        assert_exact(command, list(command.argv()))
    assert ListKnownPaths("config").argv()[3:] == RUNTIME_CONFIG_PATHS
    assert ListKnownPaths("kata").argv()[3:] == KATA_PATHS


@settings(max_examples=400)
@given(value=hostile_text | st.sampled_from([*VERSION_ARGV, *KATA_CHECK_ARGV, "config", "kata"]))
@example(value="containerd; reboot")
@example(value="kata-runtime --help")
def test_named_preflight_commands(value):
    for builder, table in ((RuntimeVersion, VERSION_ARGV), (KataCheck, KATA_CHECK_ARGV),
                           (ListKnownPaths, None)):
        try:
            command = builder(value)
        except ValueError:
            assert value not in (table or ("config", "kata"))
            continue
        assert table is None or command.argv() == table[value]
        assert_exact(command, list(command.argv()))


@settings(max_examples=300)
@given(extra=hostile_text)
@example(extra="/etc/shadow")
@example(extra="-i")
def test_preflight_argv_with_anything_added_is_refused(extra):
    for command in FIXED_PREFLIGHT + [RuntimeVersion("containerd"), KataCheck("kata-ctl")]:
        words = [*command.argv(), extra]
        assert not is_allowed(shlex.join(words))
        assert not is_allowed(shlex.join(["sudo", "-n", *words]))


@settings(max_examples=300)
@given(path=st.builds(lambda prefix, rest: prefix + rest, st.sampled_from([
    "/var/lib/rancher/k3s/agent/etc/containerd/", "/var/lib/rancher/rke2/agent/etc/containerd/",
    "/etc/k0s/", "/var/snap/microk8s/current/args/", "/etc/os-release", "/usr/lib/os-release",
    "/var/lib/rancher/", "/var/snap/microk8s/"]), hostile_text))
@example(path="/etc/os-release/../shadow")
@example(path="/var/lib/rancher/k3s/agent/etc/containerd/../../../../../../etc/shadow")
@example(path="/etc/k0s/containerd.d/10-kata.toml")
def test_distribution_config_paths(path):
    try:
        command = ReadFile(path)
    except ValueError:
        return
    assert ".." not in path.split("/")
    assert command.path.startswith(("/var/lib/rancher/k3s/agent/etc/containerd", "/etc/k0s",
                                    "/var/lib/rancher/rke2/agent/etc/containerd",
                                    "/var/snap/microk8s/current/args")) or \
        command.path in ("/etc/os-release", "/usr/lib/os-release")
    assert_exact(command, ["cat", "--", command.path])
