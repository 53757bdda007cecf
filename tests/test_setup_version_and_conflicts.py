"""Issue 12, point 8: a `version = 3` config meant for a containerd 1.x says so (1.x reads it
as version 2 and ignores the v3 tables), and a conflict says which keys kataview would add or
change, and why."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from conftest import require_part
from kataview.cli import setup_containerd
from kataview.cli.setup_containerd import main
from kataview.model.exit_codes import Exit
from kataview.model.records import Node
from kataview.setup.executor import LocalExecutor
from kataview.setup.preflight import PreflightReport
from kataview.setup.session import containerd_version_for
from kataview.setup.steps.base import PatchRuntimeConfig, SetupContext

V3_CONFIG = 'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd]\n  default_runtime_name = "runc"\n'
V2_OLD_KATA = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
               '  runtime_type = "io.containerd.runc.v2"\n'
               '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n'
               '  runtime_type = "io.containerd.kata.v2"\n')  # as older Kata docs wrote it


@pytest.fixture(autouse=True)
def no_containerd_check(monkeypatch):
    monkeypatch.setattr(setup_containerd, "containerd_check", lambda *a, **k: None)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


@pytest.fixture
def v3(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(V3_CONFIG)
    return path


@pytest.mark.parametrize("dry", [True, False])
def test_version_3_for_containerd_1x_says_it_would_be_ignored(v3: Path, dry: bool):
    code, _, err = run("--config", str(v3), "--containerd-version", "1.7", *(["--dry-run"] if dry else []))
    assert code == 0, err
    assert (f"warning: {v3}: this file says version = 3, but containerd 1.7 (from --containerd-version) "
            "reads it as version 2 and silently ignores its version 3 tables") in err
    assert "the 'kata' handler would not be loaded" in err and "containerd 2.x" in err


def test_version_3_with_the_installed_containerd_1_6(v3: Path):
    binary = require_part("containerd", "/usr/bin/containerd")
    code, _, err = run("--config", str(v3), "--dry-run")
    assert code == 0 and f"containerd 1.6 (from `{binary} --version`) reads it as version 2" in err


def test_no_warning_for_containerd_2_or_a_version_2_file(v3: Path, tmp_path: Path):
    assert "silently ignores" not in run("--config", str(v3), "--containerd-version", "2.1", "--dry-run")[2]
    v2 = tmp_path / "v2.toml"
    v2.write_text(V2_OLD_KATA.split("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata]")[0])
    assert "silently ignores" not in run("--config", str(v2), "--containerd-version", "1.6", "--dry-run")[2]


def test_conflict_says_which_keys_it_would_add_and_why(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(V2_OLD_KATA)
    code, _, err = run("--config", str(config), "--kata-config", "/opt/kata/q.toml")
    assert code == Exit.CONFLICT
    assert "would add privileged_without_host_devices = true: without it a privileged pod" in err
    assert 'would add pod_annotations = ["io.katacontainers.*"]: ' in err
    assert 'would add options.ConfigPath = "/opt/kata/q.toml": ' in err
    assert "would change" not in err and "runtime_type" not in err  # that one is already right
    assert "--force" in err


def test_conflict_says_what_it_would_change_and_add_to_a_list(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(V2_OLD_KATA.replace('"io.containerd.kata.v2"\n', '"io.containerd.kata.v2"\n'
                                          '  privileged_without_host_devices = false\n'
                                          '  pod_annotations = ["example.com/x"]\n'))
    _, _, err = run("--config", str(config))
    assert "would change privileged_without_host_devices: False -> True: without it" in err
    assert 'would add "io.katacontainers.*" to pod_annotations (keeping "example.com/x"): ' in err


def test_crio_conflict_says_why(tmp_path: Path):
    from kataview.cli.setup_crio import main as crio_main

    confd = tmp_path / "crio.conf.d"
    confd.mkdir()
    (confd / "40-kata.conf").write_text('[crio.runtime.runtimes.kata]\nruntime_path = "/usr/bin/containerd-shim-kata-v2"\n'
                                        'runtime_type = "vm"\n')
    err = io.StringIO()
    assert crio_main(["--config-dir", str(confd)], out=io.StringIO(), err=err) == Exit.CONFLICT
    assert "would add privileged_without_host_devices = true: without it a privileged pod" in err.getvalue()


def test_guided_plan_warns_about_version_3_on_containerd_1x(v3: Path):
    ctx = SetupContext(executor=LocalExecutor(), config_path=str(v3), containerd_version="1.6.20~ds1")
    plan = asyncio_run(PatchRuntimeConfig(ctx).plan())
    assert plan.kind == "diff" and "containerd 1.6 (on the node) reads it as version 2" in plan.summary


def asyncio_run(coroutine):
    import asyncio

    return asyncio.run(coroutine)


def test_guided_setup_learns_containerd_version_from_the_node_or_preflight():
    node = Node(name="n1", container_runtime_version="containerd://1.7.11-k3s2")
    assert containerd_version_for(node, None) == "1.7.11-k3s2"
    report = PreflightReport("n1", distribution="containerd", runtime_version="1.6.20~ds1")
    assert containerd_version_for(Node(name="n1"), report) == "1.6.20~ds1"
    k3s = PreflightReport("n1", distribution="k3s", runtime_version="v1.28.5+k3s1")  # k3s's own version
    assert containerd_version_for(Node(name="n1"), k3s) is None
    assert containerd_version_for(Node(name="n1", container_runtime_version="cri-o://1.30.1"), None) is None
