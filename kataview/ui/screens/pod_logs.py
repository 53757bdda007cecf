"""`l` on a pod: a container's log, read with GET pods/NAME/log through the source's
PodReader (a GET: --read-only allows it). It starts on the container kubectl logs would pick
(the default-container annotation, else the first) and follows; c picks another container,
f stops or resumes following, p shows the previous (terminated) run, w wraps long lines. The
buffer keeps the last MAX_LINES lines and says how many went; the server's refusals (400 for
a previous run that never ended, 403, 404) are shown in place. Every line is terminal-safe."""

from __future__ import annotations

from functools import partial

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from kataview.model.pod_containers import LogContainer, default_container, log_containers
from kataview.model.terminal_text import terminal_safe
from kataview.sources.base import LogRequest
from kataview.ui.formatting import clock, plural
from kataview.ui.screens.pod_text import PodTextScreen, error_text
from kataview.ui.widgets.text_pager import PagerLine, plain_line

MAX_LINES = 10_000  # the buffer; also the tailLines asked for, so the first read is bounded
FLUSH_SECONDS = 0.1  # lines reach the pager in batches at most ten times a second


class ContainerPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(self, containers: list[LogContainer], current: str | None) -> None:
        super().__init__()
        self.containers, self.current = containers, current

    def compose(self) -> ComposeResult:
        yield OptionList(id="containers-picker")

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        picker.border_title = "Container"
        picker.border_subtitle = "Enter picks · Esc cancels"
        picker.add_options([Option(Content(terminal_safe(
            f"{c.name}  {c.kind}, {c.state}" + (f", {c.restarts} restarts" if c.restarts else ""))), id=c.name)
            for c in self.containers])
        names = [c.name for c in self.containers]
        picker.highlighted = names.index(self.current) if self.current in names else 0
        picker.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class PodLogsScreen(PodTextScreen):
    what = "Logs"
    max_lines = MAX_LINES
    BINDINGS = [  # the base's too, written out: help lists a screen's own BINDINGS
        *PodTextScreen.BINDINGS,
        Binding("c", "pick_container", "Container", id="logs-container"),
        Binding("f", "toggle_follow", "Follow", id="logs-follow"),
        Binding("p", "toggle_previous", "Previous", id="logs-previous"),
        Binding("w", "toggle_wrap", "Wrap", id="logs-wrap"),
    ]

    def __init__(self, uid: str, namespace: str, name: str) -> None:
        super().__init__(uid, namespace, name)
        self.containers: list[LogContainer] = []
        self.container: str | None = None
        self.follow = True
        self.previous = False
        self.streaming = False
        self.ended = ""  # why the stream stopped, for the status line
        self._pending: list[PagerLine] = []
        self._generation = 0  # the read that may still change the screen (a cancelled one may not)

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(FLUSH_SECONDS, self.flush)

    # ---- reading -------------------------------------------------------------------------

    def load(self) -> None:
        reader = self.reader()
        if reader is None:
            self.pager.set_lines(self.no_reader_lines())
            return
        self._generation += 1
        # a factory, not a coroutine: a worker cancelled before it starts leaves nothing unawaited
        self.run_worker(partial(self.read, reader, self._generation), group="pod-logs", exclusive=True,
                        exit_on_error=False,
                        description=f"log of pod {self.pod_namespace}/{self.pod_name}")

    def request(self) -> LogRequest:
        return LogRequest(container=self.container, follow=self.follow and not self.previous,
                          previous=self.previous, tail_lines=MAX_LINES)

    async def read(self, reader, generation: int) -> None:
        """The worker: learn the containers once (a GET of the pod), then read the log."""
        if not self.containers:
            try:
                pod = await reader.pod_object(self.pod_namespace, self.pod_name)
            except Exception as error:  # 404, 403, a broken connection: shown in place
                if generation == self._generation:
                    self.show_error(f"GET pod {self.pod_namespace}/{self.pod_name}", error)
                return
            if generation != self._generation:
                return
            self.containers = log_containers(pod)
            self.container = self.container or default_container(pod)
        self._pending.clear()
        self.pager.set_lines([])
        self.pager.empty_text = "reading…"
        self.streaming, self.ended = True, ""
        self.update_status()
        request = self.request()
        try:
            async for line in reader.pod_log(self.pod_namespace, self.pod_name, request):
                self._pending.append(plain_line(line))
                if len(self._pending) >= MAX_LINES:
                    self.flush()
        except Exception as error:  # the server's refusal (400, 403, 404) or a broken stream
            if generation != self._generation:
                return
            self.flush()
            self.ended = "the server refused" if getattr(error, "status", None) else "the stream broke"
            what = f"GET pods/{self.pod_name}/log" + (f" (container {self.container})" if self.container else "")
            if self.pager.lines:
                self.pager.append([plain_line(f"{what}: {error_text(error)}", "error")])
                self.app.record("error", f"log of pod {self.pod_namespace}/{self.pod_name}: {error_text(error)}")
            else:
                self.show_error(what, error)
        else:
            if generation != self._generation:
                return
            self.flush()
            self.ended = (f"the stream ended at {clock(self.app.now())}" if request.follow
                          else "read whole" if not self.previous else "the previous run's log")
        finally:
            if generation == self._generation:
                self.streaming = False
        self.pager.empty_text = "the log is empty"
        self.pager.refresh()
        self.update_status()

    def flush(self) -> None:
        if self._pending:
            lines, self._pending = self._pending, []
            self.pager.append(lines)
            self.update_status()

    def restart(self) -> None:
        self.stop_reading()
        self.load()

    def stop_reading(self) -> None:
        self._generation += 1
        self.workers.cancel_group(self, "pod-logs")
        self.streaming, self.ended = False, ""

    # ---- status --------------------------------------------------------------------------

    def update_status(self) -> None:
        pager = self.pager
        names = [c.name for c in self.containers]
        following = self.follow and not self.previous
        parts = [f"f follow {'on' if following else 'off'}{', streaming' if following and self.streaming else ''}",
                 f"p previous {'on' if self.previous else 'off'}", f"w wrap {'on' if pager.wrap else 'off'}",
                 plural(len(pager.lines), "line")]
        if pager.dropped:
            parts.append(f"{pager.dropped:,} earlier lines dropped (keeps the last {MAX_LINES:,})")
        if self.ended and not self.streaming:
            parts.append(self.ended)
        self.note = " · ".join(parts)
        which = f"container {self.container or '?'}" + (", previous run" if self.previous else "")
        if len(names) > 1 and self.container in names:
            which += f" ({names.index(self.container) + 1} of {len(names)}, c picks)"
        self.set_title(which)
        super().update_status()

    # ---- keys ----------------------------------------------------------------------------

    def action_pick_container(self) -> None:
        if not self.containers:
            self.notify("The pod's containers are not known yet.", timeout=3)
            return
        if len(self.containers) == 1:
            self.notify(f"The pod has one container: {terminal_safe(self.containers[0].name)}.", timeout=3)
            return
        self.app.push_screen(ContainerPicker(self.containers, self.container), callback=self.container_chosen)

    def container_chosen(self, name: str | None) -> None:
        if name and name != self.container:
            self.container = name
            self.restart()

    def action_toggle_follow(self) -> None:
        if self.previous:
            self.notify("The previous run has ended: there is nothing to follow (p shows the current one).",
                        timeout=4)
            return
        self.follow = not self.follow
        if self.follow:
            self.restart()  # read again from the tail, then follow
        else:
            self.stop_reading()
            self.flush()
            self.ended = f"stopped following at {clock(self.app.now())}"
            self.update_status()

    def action_toggle_previous(self) -> None:
        self.previous = not self.previous
        self.restart()

    def action_toggle_wrap(self) -> None:
        self.pager.set_wrap(not self.pager.wrap)
        self.update_status()
