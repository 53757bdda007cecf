"""Chaos: the TUI, headless, against the API server double while faults are injected.

    python bench/chaos.py                 # about 3 minutes: prints the figures
    python bench/chaos.py --minutes 60    # the one-hour soak (memory, tasks, threads, fds)

The same engine (`run_chaos`) runs in CI, shorter, from tests/test_chaos.py.

What runs: `make_app(settings, LiveSource)` under `App.run_test()` (Textual's headless
driver) against `serve_in_thread(classic scenario)` over HTTPS, logged in through an exec
credential plugin that prints the token in a file. The cluster keeps changing (pods created and
deleted every second, a node label flipped) while, in rounds:

- every watch is dropped every few seconds (the connection aborted mid-stream);
- 410 Gone on the next watches, and the history compacted (continue tokens / resourceVersions
  expire);
- 429 with Retry-After; bursts of 500s; 10-second stalls on every response;
- the token is rotated: the old one now gets 401, the plugin prints the new one;
- (optional) SSH test hosts go away and come back, with a VMDetailGatherer loop alongside.

Then a long outage (every request 500) measures the reconnect rate, the faults stop, and the
time until the app's snapshot equals the double's store (pods, nodes, RuntimeClasses) is
measured. Memory (RSS), asyncio tasks, threads and open file descriptors are sampled after the
warm-up round and at the end.
"""

from __future__ import annotations

import argparse
import copy
import asyncio
import gc
import json
import os
import random
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kataview.cli.logsetup import setup_logging  # noqa: E402
from kataview.demo.apiserver import ApiServerDouble, serve_in_thread  # noqa: E402
from kataview.demo.scenario import classic_objects  # noqa: E402
from kataview.sources.live import LiveSource  # noqa: E402
from kataview.sources.logged import LoggedSource  # noqa: E402
from kataview.sources.settings import Settings  # noqa: E402

USER = "system:serviceaccount:kataview:kataview-monitor"
NODE = "k8s-worker"


@dataclass
class ChaosConfig:
    warmup_seconds: float = 8.0  # one short round before the baseline sample
    round_seconds: float = 20.0  # one round of the fault mix
    soak_seconds: float = 20.0  # rounds are repeated until this much time has passed
    outage_seconds: float = 30.0  # every request 500: the reconnect rate is measured here
    converge_timeout: float = 60.0
    drop_every: float = 3.0
    stall_seconds: float = 10.0
    sample_every: float = 60.0  # resource samples during the soak
    size: tuple[int, int] = (160, 48)


@dataclass
class ChaosResult:
    samples: list[dict[str, Any]] = field(default_factory=list)  # label, t, rss_kib, ...
    phases_seen: set[str] = field(default_factory=set)
    stale_on_screen: bool = False
    unhandled: list[str] = field(default_factory=list)
    outage_buckets: list[int] = field(default_factory=list)  # requests per 10 s
    outage_rate_per_minute: float = 0.0  # after the first minute's fast retries
    outage_first_minute: int = 0
    converge_seconds: float | None = None
    converged: bool = False
    mismatch: str = ""
    token_rotations: int = 0
    unauthorized: int = 0
    plugin_runs: int = 0
    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    log_path: str = ""
    screen_text: str = ""
    ssh: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        first, last = self.samples[0], self.samples[-1]
        return {
            "requests": self.requests,
            "outage requests per 10 s": self.outage_buckets,
            "outage requests/min (steady)": round(self.outage_rate_per_minute, 1),
            "outage requests in the first minute": self.outage_first_minute,
            "converge seconds": None if self.converge_seconds is None else round(self.converge_seconds, 2),
            "rss KiB start/end": (first["rss_kib"], last["rss_kib"]),
            "tasks start/end": (first["tasks"], last["tasks"]),
            "threads start/end": (first["threads"], last["threads"]),
            "fds start/end": (first["fds"], last["fds"]),
            "phases seen": sorted(self.phases_seen),
            "token rotations / 401s / plugin runs": (self.token_rotations, self.unauthorized,
                                                     self.plugin_runs),
            "faults": self.faults,
            "ssh": self.ssh,
        }


# -- the world ----------------------------------------------------------------------------------


def exec_plugin(directory: Path, token_file: Path) -> Path:
    script = directory / "token-plugin.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"echo run >> {directory / 'plugin-runs.log'}\n"
        "printf '{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", "
        f"\"status\": {{\"token\": \"%s\"}}}}\\n' \"$(cat {token_file})\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def exec_kubeconfig(directory: Path, api: ApiServerDouble, plugin: Path) -> Path:
    path = directory / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "chaos", "cluster": {"server": api.url,
                                                   "certificate-authority": str(api.ca_path)}}],
        "users": [{"name": "monitor", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
            "interactiveMode": "Never"}}}],
        "contexts": [{"name": "chaos", "context": {"cluster": "chaos", "user": "monitor"}}],
        "current-context": "chaos"}))
    path.chmod(0o600)
    return path


def chaos_pod(index: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"chaos-{index}", "namespace": "default",
                         "labels": {"app": "chaos"}},
            "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": "Running"}}


def truth(api: ApiServerDouble) -> dict[str, set]:
    store = api.store
    return {
        "pods": {(o["metadata"].get("namespace"), o["metadata"]["name"], o["metadata"]["uid"])
                 for o in store.list("Pod")},
        "nodes": {(o["metadata"]["name"], tuple(sorted((o["metadata"].get("labels") or {}).items())))
                  for o in store.list("Node")},
        "runtimeclasses": {(o["metadata"]["name"], o.get("handler")) for o in store.list("RuntimeClass")},
    }


def seen(app: Any) -> dict[str, set] | None:
    if app.view is None:
        return None
    snapshot = app.view.snapshot
    return {
        "pods": {(p.namespace, p.name, p.uid) for p in snapshot.pods.values()},
        "nodes": {(n.name, tuple(sorted(n.labels.items()))) for n in snapshot.nodes.values()},
        "runtimeclasses": {(rc.name, rc.handler) for rc in snapshot.runtime_classes.values()},
    }


def difference(want: dict[str, set], got: dict[str, set] | None) -> str:
    if got is None:
        return "no view yet"
    parts = []
    for kind in want:
        missing, extra = want[kind] - got[kind], got[kind] - want[kind]
        if missing or extra:
            parts.append(f"{kind}: {len(missing)} missing, {len(extra)} extra")
    return "; ".join(parts)


def sample(label: str, started: float) -> dict[str, Any]:
    gc.collect()
    rss = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return {"label": label, "t": round(time.monotonic() - started, 1), "rss_kib": rss,
            "tasks": len(asyncio.all_tasks()), "threads": threading.active_count(),
            "fds": len(os.listdir("/proc/self/fd"))}


def screen_text(app: Any) -> str:
    """What the header and visible panes say (the header carries the watch state)."""
    from textual.widgets import Static

    texts = []
    for widget in app.screen.query(Static):
        try:
            texts.append(str(widget.render()))
        except Exception:  # noqa: BLE001 - a widget mid-update; the next sample catches it
            pass
    return "\n".join(texts)


# -- the run ------------------------------------------------------------------------------------


class Chaos:
    def __init__(self, api: ApiServerDouble, app: Any, directory: Path, token_file: Path,
                 config: ChaosConfig, result: ChaosResult, say: Callable[[str], None]) -> None:
        self.api, self.app, self.directory, self.token_file = api, app, directory, token_file
        self.config, self.result, self.say = config, result, say
        self.pod_index = 0
        self.label_flip = False
        self.rng = random.Random(7)

    def count(self, fault: str) -> None:
        self.result.faults[fault] = self.result.faults.get(fault, 0) + 1

    def mutate(self) -> None:
        store = self.api.store
        store.apply(chaos_pod(self.pod_index))
        if self.pod_index >= 5:
            store.delete("Pod", "default", f"chaos-{self.pod_index - 5}")
        self.pod_index += 1
        if self.pod_index % 5 == 0:
            node = copy.deepcopy(store.get("Node", None, NODE))
            if node is not None:
                self.label_flip = not self.label_flip
                node.setdefault("metadata", {}).setdefault("labels", {})["chaos/flip"] = str(self.label_flip).lower()
                store.apply(node)

    def rotate_token(self) -> None:
        token = f"tok-{self.result.token_rotations + 1}-{os.urandom(6).hex()}"
        self.token_file.write_text(token)
        self.api.users.clear()
        self.api.users[token] = USER
        self.result.token_rotations += 1
        self.api.faults.drop_watches()  # so the next requests carry the now-refused token

    def observe(self) -> None:
        view = self.app.view
        if view is None:
            return
        self.result.phases_seen.add(view.state.phase)
        if view.state.phase == "stale" and "stale" in screen_text(self.app):
            self.result.stale_on_screen = True

    async def round(self, seconds: float, stall: bool = True) -> None:
        """One round of the fault mix; the cluster changes every second meanwhile."""
        faults = self.api.faults
        plan = [
            (0.1, "drop watches", faults.drop_watches),
            (0.2, "410 Gone", lambda: (faults.gone_next("*", times=5), faults.compact())),
            (0.3, "token rotated (401)", self.rotate_token),
            (0.4, "429 Retry-After", lambda: faults.throttle("*", retry_after=2, times=10)),
            (0.5, "500 burst", lambda: faults.error("*", 500, times=30)),
            (0.6, "10 s stall", lambda: faults.delay("*", self.config.stall_seconds)),
            (0.6 + self.config.stall_seconds / max(seconds, 1e-9) * 0.5, "stall over",
             lambda: faults.delay("*", 0)),
            (0.85, "500 burst", lambda: faults.error("*", 503, times=30)),
        ]
        if not stall:  # the warm-up round: the quick faults only, so it settles fast
            plan = [step for step in plan if "stall" not in step[1] and "500" not in step[1]]
        start = time.monotonic()
        next_drop, next_mutation, done = start + self.config.drop_every, start + 1.0, 0
        while (now := time.monotonic()) - start < seconds:
            while done < len(plan) and now - start >= plan[done][0] * seconds:
                name, action = plan[done][1], plan[done][2]
                action()
                self.count(name)
                done += 1
            if now >= next_drop:
                faults.drop_watches()
                self.count("drop watches")
                next_drop = now + self.config.drop_every
            if now >= next_mutation:
                self.mutate()
                next_mutation = now + 1.0
            self.observe()
            await asyncio.sleep(0.25)
        faults.delay("*", 0)

    async def outage(self, seconds: float) -> None:
        faults = self.api.faults
        faults.error("*", 500, times=10**6)
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            self.observe()
            await asyncio.sleep(0.5)
        end = time.monotonic()
        faults.clear()
        times = [r.at for r in list(self.api.requests) if start <= r.at < end]
        buckets = [0] * max(1, int((end - start) // 10))
        for at in times:
            index = int((at - start) // 10)
            if index < len(buckets):
                buckets[index] += 1
        self.result.outage_buckets = buckets
        self.result.outage_first_minute = sum(1 for at in times if at - start < 60)
        late = [at for at in times if at - start >= min(60.0, (end - start) / 2)]
        window = end - (start + min(60.0, (end - start) / 2))
        self.result.outage_rate_per_minute = len(late) / window * 60 if window > 0 else 0.0

    async def converge(self, timeout: float) -> None:
        start = time.monotonic()
        want = truth(self.api)
        while time.monotonic() - start < timeout:
            got = seen(self.app)
            view = self.app.view
            if view is not None and view.state.phase == "live" and not difference(want, got):
                self.result.converged = True
                self.result.mismatch = ""
                self.result.converge_seconds = time.monotonic() - start
                return
            await asyncio.sleep(0.1)
        self.result.mismatch = difference(want, seen(self.app)) or f"phase {self.app.view.state.phase}"


def ssh_outages(directory: Path, every: float = 8.0, down: float = 3.0,
                fetch_every: float = 0.5) -> Callable[[], Any]:
    """SSH hosts going away and coming back: the demo's SSH node (one server for every node)
    is stopped for `down` seconds every `every` seconds while VM detail is fetched in a loop.
    Returns counts; each fetch is bounded, so a hang would show as a missing count, not a
    stuck test."""
    from kataview.demo.sshnode import DemoSSHNode
    from kataview.hosts.errors import NodeError
    from kataview.hosts.ssh import SSHOptions, SSHPool
    from kataview.hosts.vmfacts import VMDetailGatherer
    from kataview.kube.decode import record_from_dict

    objects = classic_objects()

    def lister(kind: str) -> list[dict]:
        return [obj for obj in objects if obj["kind"] == kind]

    pod = record_from_dict("pods", next(obj for obj in objects if obj["kind"] == "Pod"
                                        and obj["spec"].get("runtimeClassName") == "kata"))
    node = record_from_dict("nodes", next(obj for obj in objects if obj["kind"] == "Node"
                                          and obj["metadata"]["name"] == pod.node_name))

    awaiting_recovery = [False]

    async def toggle(server: DemoSSHNode, port: int, counts: dict[str, int]) -> None:
        while True:
            await asyncio.sleep(every)
            await server.stop()
            counts["outages"] += 1
            awaiting_recovery[0] = True
            await asyncio.sleep(down)
            await server.start(port)

    async def loop() -> dict[str, int]:
        # recoveries: outages after which a fetch succeeded again (the pool reconnected)
        counts = {"ok": 0, "failed": 0, "outages": 0, "recoveries": 0}
        server = DemoSSHNode(lister)
        await server.start()
        options = SSHOptions.from_settings(Settings(), connect_timeout=2.0, command_timeout=5.0,
                                           **server.write_client_files(directory / "ssh"))
        pool = SSHPool(options)
        gatherer = VMDetailGatherer(pool)
        toggler = asyncio.create_task(toggle(server, server.port, counts), name="chaos-ssh-toggle")
        try:
            while True:
                try:
                    await asyncio.wait_for(gatherer.fetch(pod, node), 10)
                    counts["ok"] += 1
                    if awaiting_recovery[0]:
                        counts["recoveries"] += 1
                        awaiting_recovery[0] = False
                except (NodeError, asyncio.TimeoutError):
                    counts["failed"] += 1
                await asyncio.sleep(fetch_every)
        except asyncio.CancelledError:
            return counts
        finally:
            toggler.cancel()
            await asyncio.gather(toggler, return_exceptions=True)
            await pool.close()
            await server.stop()

    return loop


async def run_chaos(directory: Path, config: ChaosConfig = ChaosConfig(),
                    say: Callable[[str], None] = print,
                    ssh_loop: Callable[[], Any] | None = None) -> ChaosResult:
    """Run the whole scenario in the current event loop; returns what was measured.
    ssh_loop: an optional coroutine function run alongside (SSH hosts going away)."""
    from kataview.ui.app import make_app

    directory.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_STATE_HOME", str(directory / "state"))
    log_path = setup_logging(interactive=True)
    result = ChaosResult(log_path=str(log_path or ""))
    loop = asyncio.get_running_loop()
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: result.unhandled.append(
        f"{context.get('message')}: {context.get('exception')!r}"))
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: result.unhandled.append(
        f"thread {args.thread.name if args.thread else '?'}: {args.exc_value!r}")
    token_file = directory / "token"
    first = f"tok-0-{os.urandom(6).hex()}"
    token_file.write_text(first)
    started = time.monotonic()
    try:
        with serve_in_thread(classic_objects(), users={first: USER}) as api:
            kubeconfig = exec_kubeconfig(directory, api, exec_plugin(directory, token_file))
            settings = Settings(kubeconfig=str(kubeconfig), read_only=True)
            app = make_app(settings, LoggedSource(LiveSource(settings, str(kubeconfig))))
            chaos = Chaos(api, app, directory, token_file, config, result, say)
            async with app.run_test(size=config.size) as pilot:
                side = asyncio.create_task(ssh_loop(), name="chaos-ssh") if ssh_loop else None
                await chaos.converge(30)
                if not result.converged:
                    raise AssertionError(f"the app never went live: {result.mismatch}")
                say(f"live in {result.converge_seconds:.1f} s; warm-up round")
                await chaos.round(config.warmup_seconds, stall=False)
                await chaos.converge(config.converge_timeout)
                await pilot.pause(1.0)
                result.samples.append(sample("baseline", started))
                soak_start, rounds = time.monotonic(), 0
                next_sample = soak_start + config.sample_every
                while rounds == 0 or time.monotonic() - soak_start < config.soak_seconds:
                    await chaos.round(config.round_seconds)
                    rounds += 1
                    if time.monotonic() >= next_sample:
                        result.samples.append(sample(f"round {rounds}", started))
                        say(f"  {result.samples[-1]}")
                        next_sample += config.sample_every
                say(f"{rounds} round(s) of faults done; outage for {config.outage_seconds:g} s")
                await chaos.outage(config.outage_seconds)
                result.converged = False
                await chaos.converge(config.converge_timeout)
                say(f"converged: {result.converged} in {result.converge_seconds} s {result.mismatch}")
                await pilot.pause(2.0)
                result.screen_text = screen_text(app)
                if side is not None:
                    side.cancel()
                    ssh = await asyncio.gather(side, return_exceptions=True)
                    result.ssh = ssh[0] if isinstance(ssh[0], dict) else {"error": repr(ssh[0])}
                result.samples.append(sample("end", started))
                if app._exception is not None:  # noqa: SLF001 - what run_test would re-raise
                    result.unhandled.append(f"app: {app._exception!r}")
            result.requests = len(api.requests)
            result.unauthorized = sum(1 for r in list(api.requests) if r.status == 401)
    finally:
        loop.set_exception_handler(previous_handler)
        threading.excepthook = previous_hook
    runs = directory / "plugin-runs.log"
    result.plugin_runs = len(runs.read_text().splitlines()) if runs.exists() else 0
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the fault soak")
    parser.add_argument("--outage", type=float, default=120.0, help="seconds of total outage")
    parser.add_argument("--dir", default=None, help="work directory (default: a temp dir)")
    args = parser.parse_args(argv)
    import tempfile

    directory = Path(args.dir or tempfile.mkdtemp(prefix="kataview-chaos-"))
    config = ChaosConfig(soak_seconds=args.minutes * 60, outage_seconds=args.outage,
                         sample_every=60.0, converge_timeout=90.0)
    result = asyncio.run(run_chaos(directory, config, say=lambda text: print(text, flush=True),
                                   ssh_loop=ssh_outages(directory)))
    print(json.dumps(result.figures(), indent=2, default=list))
    for entry in result.samples:
        print(entry)
    ok = result.converged and not result.unhandled
    print("unhandled:", result.unhandled or "none")
    print("log:", result.log_path)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
