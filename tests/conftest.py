"""Shared test fixtures.

Integration tests need real parts (sshd, qemu, containerd, kubectl, tmux). Locally a missing
part skips the test; with KATAVIEW_REQUIRE_INTEGRATION=1 (set by .ci/run) it fails instead.

The egress fence: no process of the suite may dial outside loopback and the test hosts' own
networks (tests/hostnet.py's 10.213.<n>.0/24 bridges). pytest_configure puts the policy
(kataview/hosts/egress.py) in the environment, in front of every socket of this process and,
through tests/egress_site/sitecustomize.py on PYTHONPATH, of every Python it starts; the SSH
layer checks it as well (for a child started with -I). A refused dial raises and is recorded
in one file; a test after which that file grew fails, and so does the session.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent / "corpus"
REQUIRE_INTEGRATION = os.environ.get("KATAVIEW_REQUIRE_INTEGRATION") == "1"
EGRESS_SITE = Path(__file__).resolve().parent / "egress_site"
EGRESS_ALLOWED = "127.0.0.0/8,::1/128,10.213.0.0/16"  # loopback; hostnet.py's bridges


def load_egress_site():
    spec = importlib.util.spec_from_file_location("kataview_egress_site", EGRESS_SITE / "sitecustomize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class EgressRecord:
    """The refusals file: what has been read (claimed or reported) and what is new."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def new_lines(self) -> list[str]:
        with open(self.path, encoding="utf-8") as handle:
            handle.seek(self.offset)
            text = handle.read()
        self.offset += len(text.encode())
        return text.splitlines()


def pytest_configure(config) -> None:
    directory = Path(tempfile.mkdtemp(prefix="kataview-egress-"))
    record = directory / "refused.jsonl"
    record.touch()
    os.environ["KATAVIEW_EGRESS_ALLOW"] = EGRESS_ALLOWED
    os.environ["KATAVIEW_EGRESS_RECORD"] = str(record)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(EGRESS_SITE), *filter(None, [os.environ.get("PYTHONPATH")])])
    config.egress_site = load_egress_site()  # installs the fence in this process
    config.egress_record = EgressRecord(record)
    config.egress_directory = directory


def pytest_sessionfinish(session, exitstatus) -> None:
    record = getattr(session.config, "egress_record", None)
    left = record.new_lines() if record is not None else []
    if left:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for line in ["egress fence: dials refused outside any test:", *left]:
            if reporter is not None:
                reporter.write_line(line, red=True)


def pytest_unconfigure(config) -> None:
    directory = getattr(config, "egress_directory", None)
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def egress_fence(request):
    """Fails the test when anything dialed outside the allowed networks during it (in this
    process or a child), or when the fence was taken off this process's sockets. A test that
    provokes refusals on purpose takes them with ``egress_fence.new_lines()``."""
    config = request.config
    record = config.egress_record
    earlier = record.new_lines()
    if earlier:  # a session fixture's, or the previous test's teardown's
        pytest.fail("egress fence: dials refused before this test:\n" + "\n".join(earlier),
                    pytrace=False)
    yield record
    installed = config.egress_site.fence_installed()
    refused = record.new_lines()
    if refused or not installed:
        pytest.fail("egress fence: " + ("the fence was removed from socket.socket; "
                                        if not installed else "") +
                    f"dials refused during this test (allowed: {EGRESS_ALLOWED}):\n" + "\n".join(refused),
                    pytrace=False)


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
