"""The App: wiring only. It runs the source, turns snapshots into a ClusterView off the UI
thread (at most ~10 a second), publishes the view to the screens, and maps keys, themes and
the palette. Screens own their handlers."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import logging
import os
import signal
import time
from collections import deque
from datetime import datetime

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.filter import Monochrome
from textual.message import Message
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from kataview.model.cluster_view import ClusterView, build_view
from kataview.model.records import ClusterSnapshot, WatchState
from kataview.model.vm_cost import VMSeen, seen_vm
from kataview.sources.base import SnapshotSource
from kataview.sources.settings import Settings, remember_theme
from kataview.ui.formatting import clock, utc_now
from kataview.ui.heap import HeapPolicy
from kataview.ui.palette import (
    BarCommands, ContextCommands, NodeCommands, PodCommands, RuntimeClassCommands, ViewCommands,
)
from kataview.ui.theme import DEFAULT_THEME, kataview_theme, semantic_defaults, stylesheet_paths

logger = logging.getLogger("kataview")
REPAINT_INTERVAL = 0.1  # seconds: at most ~10 view updates a second
LOADING_BUILD_SHARE = 0.25  # while a first list arrives, view builds take at most this share
LOG_LENGTH = 500


class ClusterSnapshotFetched(Message):
    """The source published a snapshot (posted and handled by the app, so it queues behind the
    UI's work). Replaces an unhandled older one, so a burst costs one rebuild."""

    def __init__(self, snapshot: ClusterSnapshot, state: WatchState, generation: int = 0) -> None:
        super().__init__()
        self.snapshot, self.state = snapshot, state
        self.generation = generation  # the app's context generation when it was sent

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ClusterSnapshotFetched) and message.generation == self.generation


class KataviewApp(App):
    TITLE = "kataview"
    CSS_PATH = stylesheet_paths()
    COMMANDS = App.COMMANDS | {PodCommands, NodeCommands, RuntimeClassCommands, ContextCommands, BarCommands,
                               ViewCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="quit-ctrl-c"),
        Binding("question_mark", "help", "Help", id="help"),
        # k9s's ctrl+z toggles "faults"; early in the footer so that 80 columns still show it
        Binding("ctrl+z", "show_problems", "Problems", id="problems"),
        Binding("n", "namespace", "Namespace", id="namespace"),
        Binding("colon", "command_bar", "Command", id="command-bar"),
        # l is a pod's container log (k9s); kataview's own log is L (and :log)
        Binding("L", "log", "kataview log", id="log"),
        Binding("ctrl+t", "toggle_theme", "Theme", id="toggle-theme"),
    ]

    def __init__(self, settings: Settings, source: SnapshotSource) -> None:
        super().__init__()
        self.settings = settings
        self.source = source
        self.view: ClusterView | None = None
        self.namespace = None if settings.all_namespaces else (settings.namespace or source.info.namespace)
        self.view_changed: Signal[ClusterView | None] = Signal(self, "view-changed")
        self.vm_seen: dict[str, VMSeen] = {}  # pod uid -> its VM as last gathered over SSH
        self.log_entries: deque[tuple[datetime, str, str]] = deque(maxlen=LOG_LENGTH)
        self._pending: tuple[ClusterSnapshot, WatchState] | None = None
        self.generation = 0  # one per context: what an earlier context sent or built is dropped
        self.heap = HeapPolicy()
        self._last_key = time.monotonic()
        self._built: list[ClusterView] = []  # the build worker's result, see _start_build
        self._building = False
        self._build_timer = None
        self._last_build = 0.0
        self._build_took = 0.0  # seconds the last view build took (start to shown)
        self._build_ended = 0.0
        self._failure: tuple[str, datetime] | None = None  # the source stopped: data stays stale
        self._hangup: asyncio.Future | None = None
        self._remembered_theme = ""
        self.vm_details = None  # VMDetailGatherer over the app's one SSHPool, made on first use
        self.register_theme(kataview_theme())

    # ---- clock, theme, colour ------------------------------------------------------------

    def now(self) -> datetime:
        return self.settings.frozen_now or utc_now()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return semantic_defaults(self.current_theme)

    def on_mount(self) -> None:
        if self.settings.no_color and not self.no_color:
            self.no_color = True
            self._filters.append(Monochrome())
        wanted = self.settings.theme or DEFAULT_THEME
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))
        self._remembered_theme = self.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.record("info", f"connecting to {self.source.info.server} (context {self.source.info.context})")
        self.run_worker(self._run_source(), name="source", group="source", description="run the source",
                        exit_on_error=False)
        self.heap.start()
        if not self.is_headless:
            # A plain `kill` (SIGTERM) ends the app as `q` does; a closed terminal (SIGHUP) too,
            # without restoring a terminal that is gone. Either way the source's clean-up runs
            # (the demo's temp dir and servers).
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, self.exit)
            loop.add_signal_handler(signal.SIGHUP, self._terminal_closed)
        self.set_interval(5.0, lambda: self.heap.on_tick(time.monotonic() - self._last_key))

    def _terminal_closed(self) -> None:
        logger.info("the terminal closed (SIGHUP): stopping")
        self._hangup = asyncio.ensure_future(self._leave_without_terminal())

    async def _leave_without_terminal(self) -> None:
        # Textual's shutdown writes to the terminal to restore it, and with the terminal gone
        # its writer thread can block for good (seen: textual 8.2.8, tmux kill-server). So the
        # source is stopped here, and the process leaves without that shutdown.
        for worker in [w for w in self.workers if w.group == "source"]:
            worker.cancel()
            with contextlib.suppress(Exception):
                await worker.wait()
        self.heap.stop()
        # what a normal exit runs: the official client's atexit removes the temp files it
        # wrote the kubeconfig's certificate data to; logging's flushes the log
        atexit._run_exitfuncs()
        os._exit(128 + signal.SIGHUP)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._last_key = time.monotonic()  # the heap policy collects while nobody types
        await super().on_event(event)

    def get_default_screen(self):
        from kataview.ui.screens.main import MainScreen

        return MainScreen()

    def _theme_changed(self, theme) -> None:
        if theme.name != self._remembered_theme:
            self._remembered_theme = theme.name
            remember_theme(theme.name)

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else DEFAULT_THEME

    # ---- snapshots -----------------------------------------------------------------------

    async def _run_source(self) -> None:
        await self.source.run(self._publish)

    def _publish(self, snapshot: ClusterSnapshot, state: WatchState) -> None:
        self.post_message(ClusterSnapshotFetched(snapshot, state, self.generation))

    def on_cluster_snapshot_fetched(self, message: ClusterSnapshotFetched) -> None:
        if message.generation != self.generation:
            return  # queued before a context switch: the previous cluster's
        self._pending = (message.snapshot, message.state)
        if self._build_timer is not None and not message.state.unsynced:
            # The load just completed: the spacing kept for a growing list must not hold back
            # the complete view (up to 3x the last build, many seconds at 150,000 pods).
            self._build_timer.stop()
            self._build_timer = None
        self._schedule_build()

    def _schedule_build(self) -> None:
        if self._building or self._build_timer is not None or self._pending is None:
            return
        wait = self._build_wait()
        if wait > 0:
            self._build_timer = self.set_timer(wait, self._start_build)
        else:
            self._start_build()

    def _build_wait(self) -> float:
        """Seconds before the next build may start: ~10 a second; but while a first list is
        still arriving (the pending state names kinds not listed yet) the builds are spaced so
        that they take at most LOADING_BUILD_SHARE of the time. A view of a growing 150,000-pod
        cluster takes a second or more to build, and back to back the builds held the GIL the
        list's decoding needed: all pods on screen took ~3x `kataview report` (issue 17.1)."""
        now = time.monotonic()
        wait = REPAINT_INTERVAL - (now - self._last_build)
        if self._pending is not None and self._pending[1].unsynced:
            spacing = self._build_took * (1 / LOADING_BUILD_SHARE - 1)
            wait = max(wait, spacing - (now - self._build_ended))
        return wait

    def _start_build(self) -> None:
        self._build_timer = None
        if self._pending is None or self._building:
            return
        snapshot, state = self._pending
        self._pending = None
        self._last_build = time.monotonic()
        self._note_state(state)
        if self.view is not None and snapshot is self.view.snapshot:
            self._show(dataclasses.replace(self.view, state=state))
            return
        self._building = True
        # A Worker sits in a reference cycle (worker, task, context), so whatever it holds
        # lives until a full collection, or for good once frozen: hand it the inputs through
        # a list it empties and take the view out of self._built, so it holds neither.
        job = [snapshot, state, self.view, self.now()]
        generation = self.generation

        def work() -> None:
            inputs = list(job)
            job.clear()
            try:
                self._built.append((generation, build_view(*inputs)))
            finally:
                inputs = None  # an error's traceback keeps this frame: not the snapshot too

        # An explicit description: Textual would otherwise repr() the work.
        self.run_worker(work, thread=True, name="build-view", group="view",
                        description="build the cluster view", exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "view" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._building = False
            self._build_ended = time.monotonic()
            self._build_took = self._build_ended - self._last_build
            if event.state == WorkerState.SUCCESS:
                generation, view = self._built.pop()
                if generation == self.generation:
                    self._show(view)
            else:
                self._mark_stale(f"could not analyse the snapshot: {worker.error!r}")
            self._schedule_build()
        elif worker.group == "source" and event.state == WorkerState.ERROR:
            self._mark_stale(f"the source stopped: {worker.error}", permanent=True)

    def _show(self, view: ClusterView) -> None:
        if self._failure is not None and view.state.phase != "stale":
            error, since = self._failure
            state = dataclasses.replace(view.state, phase="stale", last_error=error,
                                        stale_since=view.state.stale_since or since)
            view = dataclasses.replace(view, state=state)
        self.view = view
        self.heap.after_view(len(view.snapshot.pods))
        self.view_changed.publish(view)

    def _mark_stale(self, error: str, permanent: bool = False) -> None:
        """Keep the last good data, marked stale; a stopped source keeps it stale for good."""
        self.record("error", error)
        if permanent:
            self._failure = (error, self.now())
        if self.view is not None:
            state = dataclasses.replace(self.view.state, phase="stale", last_error=error,
                                        stale_since=self.view.state.stale_since or self.now())
            self._show(dataclasses.replace(self.view, state=state))

    def _note_state(self, state: WatchState) -> None:
        previous = self.view.state if self.view is not None else None
        if previous is not None and (previous.phase, previous.errors, previous.last_error) == \
                (state.phase, state.errors, state.last_error):
            return
        text = state.phase if state.phase != "syncing" else f"syncing {state.synced}/{state.total}"
        if state.stale_since:
            text += f" (stale since {clock(state.stale_since)})"
        self.record("error" if state.phase in ("stale", "reconnecting") else "info", text)
        for resource, reason in sorted(state.errors.items()):
            self.record("error", f"{resource}: {reason}")
        if state.last_error:
            self.record("error", state.last_error)

    def record(self, level: str, text: str) -> None:
        self.log_entries.append((self.now(), level, text))

    # ---- nodes over SSH ------------------------------------------------------------------

    def remember_vm(self, pod_uid: str, vm) -> None:
        """A VM gathered over SSH (a VMDetail or VMSummary): the pods list shows its figures."""
        self.vm_seen[pod_uid] = seen_vm(vm)

    def vm_gatherer(self):
        """The app's VMDetailGatherer; its SSHPool comes from settings (plus the source's
        overrides: the demo points it at its own SSH node) on first use. None for a source
        without nodes to reach (a fixed snapshot), unless a gatherer was set."""
        if self.vm_details is None and hasattr(self.source, "ssh_overrides"):
            from kataview.hosts.ssh import SSHOptions, SSHPool
            from kataview.hosts.vmfacts import VMDetailGatherer

            overrides = self.source.ssh_overrides()
            self.vm_details = VMDetailGatherer(SSHPool(SSHOptions.from_settings(self.settings, **overrides)))
        return self.vm_details

    async def on_unmount(self) -> None:
        self.heap.stop()
        pool = getattr(self.vm_details, "pool", None)
        if pool is not None:
            await pool.close()

    # ---- navigation ----------------------------------------------------------------------

    def set_namespace(self, namespace: str | None) -> None:
        self.namespace = namespace
        from kataview.ui.screens.main import MainScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.apply_namespace(namespace)

    def open_object(self, kind: str, key: str) -> None:
        from kataview.ui.screens import detail_screen_for

        screen = detail_screen_for(kind, key)
        if screen is not None:
            self.push_screen(screen)

    def action_command_bar(self) -> None:
        """`:` anywhere: back to the dashboard, its command bar open."""
        from kataview.ui.screens.main import MainScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, MainScreen):
            self.pop_screen()
        if isinstance(self.screen, MainScreen):
            self.screen.open_command_bar()

    def switch_context(self, name: str) -> str | None:
        """`:ctx NAME`: the source closes its connection and informers and watches context
        `name` (sources/ does the kube side); the old cluster's data is dropped, not shown
        under the new name. Returns an error line, or None."""
        from kataview.sources.base import ContextError

        switch = getattr(self.source, "switch_context", None)
        if switch is None:
            return "this source reads no kubeconfig: there is no context to switch to"
        if name == self.source.info.context:
            return None
        try:
            info = switch(name)
        except ContextError as error:
            self.record("error", f"context switch to {name}: {error}")
            return str(error)
        self.record("info", f"switched to context {info.context}: connecting to {info.server}")
        self.generation += 1
        self._pending, self._failure, self.view = None, None, None
        self.view_changed.publish(None)
        if not any(worker.group == "source" and not worker.is_finished for worker in self.workers):
            # the previous context's watch had stopped for good: start the source again
            self.run_worker(self._run_source(), name="source", group="source", description="run the source",
                            exit_on_error=False)
        return None

    def action_help(self) -> None:
        from kataview.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_log(self) -> None:
        from kataview.ui.screens.log import LogScreen

        self.push_screen(LogScreen())

    def action_show_problems(self) -> None:
        """ctrl+z (k9s's toggle faults) or `:problems`: the pods that are not well, and why."""
        from kataview.ui.screens.problems import ProblemsScreen

        if not isinstance(self.screen, ProblemsScreen):
            self.push_screen(ProblemsScreen())

    def action_namespace(self) -> None:
        from kataview.ui.screens.namespace import NamespacePicker

        self.push_screen(NamespacePicker(), callback=self._namespace_chosen)

    def _namespace_chosen(self, choice: tuple[str | None] | None) -> None:
        if choice is not None:
            self.set_namespace(choice[0])


def make_app(settings: Settings, source: SnapshotSource, start: str = "main") -> KataviewApp:
    """The one way to build the App (CLI, tests, screenshots, demo). start="setup": the guided
    setup screen instead of the dashboard (`kataview setup`)."""
    app = KataviewApp(settings, source)
    if start == "setup":
        from kataview.ui.screens.setup import SetupScreen

        app.get_default_screen = SetupScreen  # type: ignore[method-assign]
    return app
