"""realparts/build and the cache it fills: binaries are found under the key of the current
go.mod + go.sum + build flags, a warm cache builds nothing, and the pinned modules say what
REALPARTS facts require (a replace for every staging module, tool directives)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys

import pytest

from realparts import parts
from realparts.parts import PARTS

BUILD = parts.HERE / "build"
STAGING = ("api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider "
           "cluster-bootstrap code-generator component-base component-helpers controller-manager "
           "cri-api cri-client cri-streaming csi-translation-lib dynamic-resource-allocation "
           "endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy "
           "kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission "
           "sample-apiserver sample-cli-plugin sample-controller streaming").split()


def fake_cache(tmp_path, monkeypatch, names=("etcd",)) -> None:
    monkeypatch.setenv(parts.CACHE_ENV, str(tmp_path))
    for name in names:
        part = PARTS[name]
        (parts.build_dir(part) / "bin").mkdir(parents=True)
        for binary in part.binaries:
            path = parts.build_dir(part) / "bin" / binary
            path.write_text("#!/bin/sh\n")
            path.chmod(0o755)
        record = {"part": name, "version": part.version, "go": "go0", "seconds": 1.0,
                  "built": "2026-12-03T00:00:00Z", "key": part.key()}
        (parts.build_dir(part) / "build.json").write_text(json.dumps(record))


def test_locate_finds_a_binary_under_the_current_key_only(tmp_path, monkeypatch):
    fake_cache(tmp_path, monkeypatch)
    assert parts.locate("etcd") == tmp_path / "etcd" / PARTS["etcd"].key() / "bin" / "etcd"
    assert parts.locate("kube-apiserver") is None
    changed = dataclasses.replace(PARTS["etcd"], flags=("-trimpath",))
    assert changed.key() != PARTS["etcd"].key()  # other flags: another cache folder


def test_the_key_covers_go_sum(tmp_path, monkeypatch):
    module = tmp_path / "etcd"
    shutil.copytree(PARTS["etcd"].module, module)
    monkeypatch.setattr(parts, "HERE", tmp_path)
    before = PARTS["etcd"].key()
    with open(module / "go.sum", "a") as sums:
        sums.write("example.org/x v1.0.0 h1:AAAA=\n")
    assert PARTS["etcd"].key() != before


def test_cache_dir_defaults_to_the_checkout(monkeypatch):
    monkeypatch.delenv(parts.CACHE_ENV, raising=False)
    assert parts.cache_dir() == parts.REPOSITORY / ".realparts"
    ignored = subprocess.run(["git", "check-ignore", "-q", ".realparts/x"], cwd=parts.REPOSITORY)
    assert ignored.returncode == 0


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed")
def test_a_warm_cache_builds_nothing(tmp_path, monkeypatch):
    fake_cache(tmp_path, monkeypatch, names=[n for n, p in PARTS.items() if p.default])
    result = subprocess.run([sys.executable, str(BUILD)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "building" not in result.stdout
    assert all(f"{name} {PARTS[name].version}: cached" in result.stdout
               for name, part in PARTS.items() if part.default)
    assert "k9s" not in result.stdout  # optional: built only when named


def test_where_prints_a_built_binary_or_fails(tmp_path, monkeypatch):
    fake_cache(tmp_path, monkeypatch)
    found = subprocess.run([sys.executable, str(BUILD), "--where", "etcd"], capture_output=True, text=True)
    assert found.returncode == 0 and found.stdout.strip().endswith("/bin/etcd")
    missing = subprocess.run([sys.executable, str(BUILD), "--where", "ctr"], capture_output=True, text=True)
    assert missing.returncode == 1 and "not built" in missing.stderr


def test_kube_apiserver_module_replaces_every_staging_module():
    text = (PARTS["kube-apiserver"].module / "go.mod").read_text()
    replaced = re.findall(r"^\s*k8s\.io/([\w-]+) => k8s\.io/\1 v0\.37\.2$", text, re.M)
    assert sorted(replaced) == sorted(STAGING) and len(STAGING) == 33
    assert re.search(r"^\s*k8s\.io/kubernetes v1\.37\.2( // indirect)?$", text, re.M)


def test_every_module_keeps_its_binaries_as_tools():
    for part in PARTS.values():
        text = (part.module / "go.mod").read_text()
        assert (part.module / "go.sum").is_file()
        for package in part.binaries.values():
            assert re.search(rf"^\s*(tool\s+)?{re.escape(package)}$", text, re.M), (part.name, package)
