"""A stand-in node for the guided setup's screenshots and snapshot tests: files in memory, a
canned preflight and CRI status, a cluster that answers GETs. Never used against a real node."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from kataview.kube.errors import NotFound
from kataview.model.records import Node, NodeAddress
from kataview.setup.cri_status import CriStatus, RuntimeCondition
from kataview.setup.executor import CommandResult
from kataview.setup.guidance import install_guidance
from kataview.setup.preflight import PreflightReport
from kataview.setup.session import Guided
from kataview.setup.steps.base import SetupContext
from kataview.setup.steps.kube import IsolateNamespace, SetupFlow
from kataview.setup.steps.smoke import SmokeTest
from kataview.setup.transcript import Transcript

FROZEN_NOW = datetime(2025, 3, 14, 12, 30, 0, tzinfo=timezone.utc)

CONFIG_TEXT = ("# containerd config (Debian's package, then edited)\nversion = 2\n\n"
               '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n\n'
               '  [plugins."io.containerd.grpc.v1.cri".containerd]\n    default_runtime_name = "runc"\n\n'
               '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
               '      runtime_type = "io.containerd.runc.v2"\n')
NODES = [Node("k8s-worker", addresses=(NodeAddress("InternalIP", "192.168.122.11"),),
              container_runtime_version="containerd://1.6.20")]


class MemoryExecutor:
    name = "k8s-worker"

    def __init__(self) -> None:
        self.files = {"/etc/containerd/config.toml": CONFIG_TEXT}

    async def read_text(self, path):
        return self.files.get(path)

    async def list_files(self, directory):
        return sorted(p for p in self.files if p.rsplit("/", 1)[0] == directory)

    async def write_text(self, path, text, *, before_rename=None):
        self.files[path] = text

    async def backup(self, path, directory=None):
        saved = f"{path}.kataview-20250314T123000Z.bak"
        self.files[saved] = self.files[path]
        return saved

    async def restore(self, backup_path, path):
        self.files[path] = self.files[backup_path]

    async def remove(self, path):
        self.files.pop(path, None)

    async def run(self, argv, timeout=120.0):
        return CommandResult(tuple(argv), 0, "", "")


class ClusterThatAnswersGets:
    read_only = False

    async def get_json_bytes(self, path, query=None):
        if path == "/api/v1/nodes/k8s-worker":
            return json.dumps({"metadata": {"name": "k8s-worker", "labels": {}, "resourceVersion": "7"},
                               "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}).encode()
        raise NotFound(404, f"{path} not found", path)


async def runc_only() -> CriStatus:
    return CriStatus((RuntimeCondition("RuntimeReady", True),),
                     {"config": json.dumps({"containerd": {"runtimes": {"runc": {"runtimeType": "io.containerd.runc.v2"}}}})})


REPORT = PreflightReport(
    "k8s-worker", os="Debian GNU/Linux 12 (bookworm)", kernel="6.1.0-18-amd64", arch="x86_64",
    virt_flag="vmx", kvm="character special file a:e8 660 root:kvm", distribution="containerd",
    runtime_running=True, runtime_version="1.6.20~ds1", configs_found=("/etc/containerd/config.toml",),
    config_path="/etc/containerd/config.toml", config_version=2)


class DemoSetupSession:
    def __init__(self, read_only: bool = False) -> None:
        self.read_only = read_only

    async def preflight(self, node):
        return REPORT

    async def start(self, node, report=None):
        ctx = SetupContext(executor=MemoryExecutor(), transcript=Transcript(None, clock=lambda: FROZEN_NOW),
                           status_source=runc_only, node=node.name, transport=ClusterThatAnswersGets(),
                           restart_timeout=1, read_only=self.read_only)
        flow = SetupFlow(ctx)
        steps = [*flow.steps, SmokeTest(ctx, timeout=1), IsolateNamespace(ctx)]
        return Guided(ctx, flow, steps, report, install_guidance(report))

    async def close(self):
        pass



