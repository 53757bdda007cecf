"""The pinned real parts, and the cache folder their binaries are built into.

Each part is a Go wrapper module in realparts/<folder>/ (go.mod + go.sum committed). A build lands
in <cache>/<part>/<key>/bin/, where the key hashes the module's go.mod, go.sum and the build
settings below, so any change to them selects a fresh folder and a warm machine rebuilds nothing.
The Go version is recorded in build.json but kept out of the key: locating a binary needs no Go.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
CACHE_ENV = "KATAVIEW_REALPARTS_DIR"


def _version_ldflags(version: str, major: str, minor: str) -> str:
    # What k/k's hack/lib/version.sh sets for both version packages; without it /version
    # reports v0.0.0-master.
    values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "gitTreeState": "clean"}
    return " ".join(f"-X '{package}.{key}={value}'"
                    for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version")
                    for key, value in values.items())


@dataclass(frozen=True)
class Part:
    name: str
    version: str
    binaries: dict[str, str]  # binary name -> Go package
    flags: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    default: bool = True  # built by `realparts/build` with no arguments (and by .ci/run)

    @property
    def module(self) -> Path:
        return HERE / self.name

    def key(self) -> str:
        digest = hashlib.sha256()
        for name in ("go.mod", "go.sum"):
            digest.update(name.encode() + b"\0" + (self.module / name).read_bytes() + b"\0")
        settings = {"binaries": self.binaries, "flags": self.flags, "env": self.env}
        digest.update(json.dumps(settings, sort_keys=True).encode())
        return digest.hexdigest()[:16]


PARTS: dict[str, Part] = {part.name: part for part in (
    Part("kube-apiserver", "v1.37.2",
         {"kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver"},
         # upstream's non-debug build (hack/lib/golang.sh): static, selinux,notest,grpcnotrace tags
         ("-trimpath", "-tags=selinux,notest,grpcnotrace",
          "-ldflags=all=" + _version_ldflags("v1.37.2", "1", "37") + " -s -w"),
         {"CGO_ENABLED": "0"}),
    Part("etcd", "v3.7.3", {"etcd": "go.etcd.io/etcd/server/v3"},
         ("-trimpath", "-ldflags=-s -w"), {"CGO_ENABLED": "0"}),
    Part("containerd", "v2.4.2",
         {"containerd": "github.com/containerd/containerd/v2/cmd/containerd",
          "ctr": "github.com/containerd/containerd/v2/cmd/ctr"},
         ("-trimpath", "-tags=urfave_cli_no_docs",
          "-ldflags=-X github.com/containerd/containerd/v2/version.Version=v2.4.2 -s -w"),
         {"CGO_ENABLED": "0"}),
    # its Makefile also sets -tags=netgo, redundant with CGO_ENABLED=0 (and it would recompile
    # everything that imports net); without the -X, `k9s version` says "dev"
    Part("k9s", "v0.50.16", {"k9s": "github.com/derailed/k9s"},
         ("-trimpath", "-ldflags=-s -w -X github.com/derailed/k9s/cmd.version=v0.50.16"),
         {"CGO_ENABLED": "0"}, default=False),
)}


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser().resolve() if configured else REPOSITORY / ".realparts"


def build_dir(part: Part) -> Path:
    return cache_dir() / part.name / part.key()


def locate(binary: str) -> Path | None:
    """The built binary of that name for the current go.mod/go.sum/flags, or None if not built."""
    for part in PARTS.values():
        if binary in part.binaries:
            path = build_dir(part) / "bin" / binary
            return path if os.access(path, os.X_OK) else None
    raise KeyError(f"no part builds a binary named {binary!r}")


def part_of(binary: str) -> Part:
    return next(part for part in PARTS.values() if binary in part.binaries)
