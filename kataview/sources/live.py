"""Glue between the command line and the cluster: a real one, or the embedded demo.

The demo is not a shortcut around the real path: it starts the API server double on
loopback (HTTPS, bearer token), writes a throw-away kubeconfig and then goes through the
same kubeconfig loading, transport and informers as a production cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from kataview.kube.cluster import ClusterWatcher, fetch_once
from kataview.kube.connection import Connection, ConnectionSettings, connect, context_names, load_configuration
from kataview.kube.errors import KubeConfigError
from kataview.kube.pod_reads import KubePodReader
from kataview.model.records import ClusterSnapshot
from kataview.sources.base import ContextError, Publish, SourceInfo
from kataview.sources.settings import Settings

DEMO_CONTEXT = "kataview-demo"
Then = Callable[[SourceInfo, ClusterSnapshot, dict[str, Any]], Awaitable[Any]]


def connection_settings(settings: Settings, kubeconfig: str | None = None, *,
                        for_setup: bool = False) -> ConnectionSettings:
    """Read-only everywhere except the setup path, which honours --read-only (plan only)."""
    return ConnectionSettings(kubeconfig=kubeconfig or settings.kubeconfig, context=settings.context,
                              connect_timeout=settings.connect_timeout,
                              read_only=settings.read_only if for_setup else True)


async def setup_connection(settings: Settings, kubeconfig: str | None = None) -> Connection:
    """The guided setup's connection to the cluster a source watches: writable unless
    --read-only (then plan only). The caller closes it."""
    return await connect(connection_settings(settings, kubeconfig, for_setup=True))


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def demo_cluster(demo_size: tuple[int | None, int | None] = (None, None), *,
                       motion: bool = True, port: int = 0,
                       ssh: Callable[[dict[str, Any]], None] | None = None) -> AsyncIterator[Path]:
    """Run the demo (kataview.demo.session: API server double, SSH node, motion) with the demo
    scenario in a temp dir; yield the kubeconfig path for it.

    With ``ssh``, the demo's nodes answer over SSH too (kataview.demo.sshnode): ``ssh`` gets
    the SSHOptions overrides (client key, known_hosts, ssh config in the temp dir)."""
    from kataview.demo.scenario import classic_objects, generated_objects
    from kataview.demo.session import running_demo

    nodes, pods = demo_size
    if nodes or pods:  # seconds at 150,000 pods: in a thread, so a screen can show meanwhile
        objects = await asyncio.to_thread(generated_objects, nodes or 50, pods or 1000)
    else:
        objects = classic_objects()
    directory = Path(tempfile.mkdtemp(prefix="kataview-demo-"))
    try:
        async with running_demo(objects, directory / "kubeconfig", port=port, motion=motion,
                                ssh_directory=directory / "ssh" if ssh else None,
                                context=DEMO_CONTEXT) as demo:
            if ssh is not None:
                ssh(demo.ssh_overrides)
            yield demo.kubeconfig
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def namespace_of(settings: Settings) -> str | None:
    return None if settings.all_namespaces else settings.namespace


async def gather_once(settings: Settings, then: Then | None = None) -> Any:
    """List everything once (GET only, paginated): the data behind `kataview report`, returned
    as (SourceInfo, ClusterSnapshot).

    With ``then``, return ``await then(info, snapshot, ssh_overrides)`` instead, run while the
    cluster is still there: with --demo the demo's SSH node answers for its Kata nodes and
    ``ssh_overrides`` (SSHOptions overrides: client key, known_hosts, ssh config) point at it;
    for a real cluster they are empty (`kataview vm`)."""
    async with contextlib.AsyncExitStack() as stack:
        kubeconfig = None
        overrides: dict[str, Any] = {}
        if settings.demo:
            demo = demo_cluster(motion=False, ssh=overrides.update if then is not None else None)
            kubeconfig = str(await stack.enter_async_context(demo))
        connection: Connection = await connect(connection_settings(settings, kubeconfig))
        stack.push_async_callback(connection.close)
        snapshot = await fetch_once(connection, namespace_of(settings),
                                    pod_selectors=(settings.label_selector, settings.field_selector))
        info = SourceInfo(connection.context, connection.server, namespace_of(settings))
        if then is not None:
            return await then(info, snapshot, dict(overrides))
        return info, snapshot


class LiveSource:
    """Watches a cluster through the informers; publishes coalesced snapshots. `switch_context`
    moves the running source to another context of its kubeconfig."""

    def __init__(self, settings: Settings, kubeconfig: str | None = None,
                 info: SourceInfo | None = None) -> None:
        self.settings = settings
        self.kubeconfig = kubeconfig
        if info is None:
            # Blocking but quick, and it makes a bad kubeconfig fail before the TUI starts.
            loaded = load_configuration(connection_settings(settings, kubeconfig))
            info = SourceInfo(loaded.context, loaded.configuration.host, namespace_of(settings))
        self.info = info
        self._reader: KubePodReader | None = None  # while connected
        self._switched = asyncio.Event()
        self._generation = 0  # one per context: a closing watch publishes nothing more

    def pod_reader(self) -> KubePodReader | None:
        """The pod screens' GETs (YAML, describe, logs) over this source's connection."""
        return self._reader

    def ssh_overrides(self) -> dict[str, Any]:
        """Nodes are reached over SSH as the settings say (a fixed snapshot has no nodes to reach)."""
        return {}

    def context_names(self) -> list[str]:
        try:
            return context_names(connection_settings(self.settings, self.kubeconfig))
        except KubeConfigError:
            return []

    def for_context(self, name: str) -> LiveSource:
        """A live source for context `name` of the same kubeconfig (loaded now: an unknown
        context raises ContextError here, before anything is closed)."""
        known = self.context_names()
        if known and name not in known:  # said short: the error line is one terminal line
            raise ContextError(f"context {name!r} not found (known contexts: {', '.join(known)})")
        try:
            return LiveSource(replace(self.settings, context=name), self.kubeconfig)
        except KubeConfigError as error:
            raise ContextError(str(error)) from None

    def switch_context(self, name: str) -> SourceInfo:
        target = self.for_context(name)
        self.settings, self.info = target.settings, target.info
        self._generation += 1
        self._switched.set()  # run() closes the connection and informers, and opens new ones
        return self.info

    async def run(self, publish: Publish) -> None:
        while True:
            self._switched.clear()
            watching = asyncio.ensure_future(self._watch(publish))
            switched = asyncio.ensure_future(self._switched.wait())
            try:
                await asyncio.wait({watching, switched}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (watching, switched):
                    task.cancel()
                await asyncio.gather(watching, switched, return_exceptions=True)
            if not self._switched.is_set():
                watching.result()  # the watch ended by itself: its error is the source's
                return

    async def _watch(self, publish: Publish) -> None:
        generation = self._generation

        def current_only(snapshot, state) -> None:
            if generation == self._generation:
                publish(snapshot, state)

        connection = await connect(connection_settings(self.settings, self.kubeconfig))
        self._reader = KubePodReader(connection.transport)
        try:
            watcher = ClusterWatcher(connection, namespace_of(self.settings), on_snapshot=current_only)
            async with watcher:
                await asyncio.Event().wait()  # until cancelled: the app quits or the context changes
        finally:
            self._reader = None
            await connection.close()


class DemoSource:
    """The embedded demo cluster, watched through the real informers."""

    def __init__(self, settings: Settings, demo_size: tuple[int | None, int | None] = (None, None)) -> None:
        self.settings = settings
        self.demo_size = demo_size
        self.port = free_loopback_port()
        self.info = SourceInfo(DEMO_CONTEXT, f"https://127.0.0.1:{self.port}", namespace_of(settings))
        self.kubeconfig: str | None = None  # the demo's temp kubeconfig, while it runs
        self._ssh: dict[str, Any] = {}
        self._live: LiveSource | None = None

    def pod_reader(self) -> KubePodReader | None:
        return self._live.pod_reader() if self._live is not None else None

    def ssh_overrides(self) -> dict[str, Any]:
        """SSHOptions overrides pointing at the demo's SSH node (empty until it runs)."""
        return dict(self._ssh)

    def context_names(self) -> list[str]:
        """The demo kubeconfig's contexts (kataview.demo.kubeconfig writes two), once it runs."""
        return self._live.context_names() if self._live is not None else []

    def switch_context(self, name: str) -> SourceInfo:
        if self._live is None:
            raise ContextError("the demo cluster is not running yet")
        self.info = self._live.switch_context(name)
        return self.info

    async def run(self, publish: Publish) -> None:
        async with demo_cluster(self.demo_size, port=self.port, ssh=self._ssh.update) as kubeconfig:
            self.kubeconfig = str(kubeconfig)
            self._live = LiveSource(self.settings, self.kubeconfig, self.info)
            try:
                await self._live.run(publish)
            finally:
                self.kubeconfig, self._live = None, None


def build_source(settings: Settings, demo_size: tuple[int | None, int | None] | None = None):
    """The source for these settings: the embedded demo or a live cluster."""
    if settings.demo or demo_size:
        return DemoSource(settings, demo_size or (None, None))
    return LiveSource(settings)
