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
