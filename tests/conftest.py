"""Shared test fixtures.

Integration tests need real parts (sshd, qemu, containerd, kubectl, tmux). Locally a missing
part skips the test; with KATAVIEW_REQUIRE_INTEGRATION=1 (set by .ci/run) it fails instead.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent / "corpus"
REQUIRE_INTEGRATION = os.environ.get("KATAVIEW_REQUIRE_INTEGRATION") == "1"


def require_part(name: str, *candidates: str) -> str:
    """Return the path of a real part (an executable), or skip/fail when it is missing."""
    for candidate in candidates or (name,):
        found = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    message = f"real part {name!r} is not installed (looked for {', '.join(candidates or (name,))})"
    if REQUIRE_INTEGRATION:
        pytest.fail(message + " and KATAVIEW_REQUIRE_INTEGRATION=1")
    pytest.skip(message)


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        if REQUIRE_INTEGRATION:
            pytest.fail(f"needs root: {why}")
        pytest.skip(f"needs root: {why}")


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"corpus not found at {CORPUS}: tests/corpus is part of the repository")
    return CORPUS


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """HOME and the XDG directories in tmp, no KUBECONFIG: nothing of the machine's is read or written."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return tmp_path


@pytest.fixture
def ui_home(isolated_home, monkeypatch):
    """isolated_home, with local time pinned to UTC: screens print clock times."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    return isolated_home


@pytest.fixture(scope="session")
def control_plane():
    """One real etcd + kube-apiserver per pytest run (realparts/controlplane.py), built by
    realparts/build; every request is audited (control_plane.audit_events()). Tests share it:
    leave what you create namespaced under a name of your own, or delete it (pods with
    gracePeriodSeconds=0). A test that must restart the apiserver or needs an empty cluster
    starts its own with realparts.controlplane.start_control_plane."""
    from realbuilds import control_plane_binaries
    from realparts.controlplane import start_control_plane

    with start_control_plane(control_plane_binaries(), audit=True) as plane:
        yield plane


@pytest.fixture(scope="session")
def demo_cluster(control_plane):
    """The classic demo scenario loaded once into `control_plane` (realparts/scenario_load.py):
    nodes on 127.0.1.N, a kubelet port nobody serves. Returns a LoadedScenario."""
    from realparts.scenario_load import load_scenario

    return load_scenario(control_plane)
