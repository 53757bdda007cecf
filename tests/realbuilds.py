"""Where the tests find the real parts built from Go modules (realparts/build): the cache folder
of realparts/parts.py for the current go.mod, go.sum and build flags. A part that is not built
skips its tests (saying why), or fails them under KATAVIEW_REQUIRE_INTEGRATION=1.

(Not named realparts.py: tests/ comes first on sys.path and would hide the realparts package.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import REQUIRE_INTEGRATION
from realparts.parts import cache_dir, locate, part_of


def missing_reason(binary: str) -> str:
    part = part_of(binary)
    where = f"{binary} ({part.name} {part.version}) is not built in {cache_dir()}"
    if shutil.which("go") is None:
        return f"{where}: Go is not installed (the real parts are built from Go modules by realparts/build)"
    return f"{where}: run realparts/build (or `make cluster`) first"


def require_built(binary: str) -> str:
    path = locate(binary)
    if path is not None:
        return str(path)
    message = missing_reason(binary)
    if REQUIRE_INTEGRATION:
        pytest.fail(message + " and KATAVIEW_REQUIRE_INTEGRATION=1")
    pytest.skip(message)


def control_plane_binaries():
    """realparts.controlplane.Binaries of the built etcd and kube-apiserver (or skip/fail)."""
    from realparts.controlplane import Binaries

    return Binaries(etcd=Path(require_built("etcd")),
                    kube_apiserver=Path(require_built("kube-apiserver")))
