"""The shape of the screens that read a pod's workload (`y` YAML, `d` describe, `l` logs):
the cluster header, a title, a TextPager, a status line, the `/` search field and the
footer. `/` searches (Enter keeps it, Esc drops it), n and N go to the next and previous
match, Esc goes back. The pod is read through the source's PodReader (single GETs), never
through the kube layer; subclasses say what to read in `load`."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from kataview.model.cluster_view import ClusterView
from kataview.model.terminal_text import terminal_safe
from kataview.sources.base import PodReader
from kataview.ui.theme import styles_dir
from kataview.ui.widgets.cluster_header import ClusterHeader
from kataview.ui.widgets.text_pager import PagerLine, TextPager, plain_line


def error_text(error: BaseException) -> str:
    """An error from a read as one line: the server's own words, with its HTTP status."""
    status = getattr(error, "status", None)
    message = str(error) or type(error).__name__
    return f"HTTP {status}: {message}" if status and f"{status}" not in message else message


class PodTextScreen(Screen):
    CSS_PATH = [styles_dir() / "pager.tcss"]
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("slash", "search", "Search", id="pager-search"),
        Binding("n", "next_match(1)", "Next match", show=False, id="pager-next"),
        Binding("N", "next_match(-1)", "Prev match", show=False, id="pager-previous"),
    ]
    what = ""  # "YAML", "Describe", "Logs"
    max_lines: int | None = None

    def __init__(self, uid: str, namespace: str, name: str) -> None:
        super().__init__(classes="pod-text")
        self.uid, self.pod_namespace, self.pod_name = uid, namespace, name
        self.note = ""  # what the status line says besides the search

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield Static(id="title")
        yield TextPager(id="pager", max_lines=self.max_lines, empty_text="reading…")
        yield Static(id="pager-status")
        yield Input(id="search-input", select_on_focus=False, placeholder="search: text (Enter keeps, Esc drops)")
        yield Footer()

    @property
    def pager(self) -> TextPager:
        return self.query_one(TextPager)

    def on_mount(self) -> None:
        self.app.view_changed.subscribe(self, self.show_view)
        self.show_view(self.app.view)
        self.pager.focus()
        self.load()

    def show_view(self, view: ClusterView | None) -> None:
        app = self.app
        self.query_one(ClusterHeader).show(view, app.source.info, app.namespace, app.settings.read_only, app.now())

    def set_title(self, detail: str) -> None:
        self.query_one("#title", Static).update(Content.assemble(
            (f"{self.what} ", "bold $accent"), (terminal_safe(f"{self.pod_namespace}/{self.pod_name}"), "bold"),
            ("  " + terminal_safe(detail) if detail else "", "$text-muted")))

    def reader(self) -> PodReader | None:
        """The source's PodReader; None while it cannot read (not connected, a fixed snapshot)."""
        pod_reader = getattr(self.app.source, "pod_reader", None)
        return pod_reader() if pod_reader is not None else None

    def no_reader_lines(self) -> list[PagerLine]:
        return [plain_line(f"cannot read pod {self.pod_namespace}/{self.pod_name} now: the source is not connected "
                           "to a cluster (see the header)", "error")]

    def load(self) -> None:
        """Start reading (a worker); subclasses fill the pager."""

    def show_error(self, what: str, error: BaseException) -> None:
        text = f"{what}: {error_text(error)}"
        self.app.record("error", f"{self.what} of pod {self.pod_namespace}/{self.pod_name}: {text}")
        self.pager.set_lines([plain_line(text, "error")])
        self.update_status()

    # ---- status line and search ----------------------------------------------------------

    def update_status(self) -> None:
        pager = self.pager
        parts = [self.note] if self.note else []
        if pager.term:
            ordinal, total = pager.match_position()
            shown = terminal_safe(pager.term)
            parts.append(f"/{shown}: {ordinal} of {total:,}" if total else f"/{shown}: no match")
        self.query_one("#pager-status", Static).update(Content(" · ".join(parts)))

    def action_search(self) -> None:
        field = self.query_one("#search-input", Input)
        field.value = self.pager.term
        field.add_class("-open")
        self.set_focus(field)

    @on(Input.Changed, "#search-input")
    def search_changed(self, event: Input.Changed) -> None:
        self.pager.search(event.value)
        self.update_status()

    @on(Input.Submitted, "#search-input")
    def search_submitted(self) -> None:
        self.close_search(keep=True)

    def close_search(self, keep: bool) -> None:
        field = self.query_one("#search-input", Input)
        field.remove_class("-open")
        if not keep:
            self.pager.search("")
        self.pager.focus()
        self.update_status()

    def on_key(self, event) -> None:
        field = self.query_one("#search-input", Input)
        if event.key == "escape" and field.has_focus:
            event.stop()
            self.close_search(keep=False)

    def action_next_match(self, step: int) -> None:
        if not self.pager.term:
            self.notify("Nothing searched yet: / searches.", timeout=3)
            return
        if not self.pager.goto_match(step):
            self.notify(f"No match for {terminal_safe(self.pager.term)!r}.", timeout=3)
        self.update_status()

    def action_back(self) -> None:
        self.dismiss()


class ServedPodScreen(PodTextScreen):
    """A screen of the pod object as the server serves it now (a fresh GET, read in a worker;
    r reads it again); subclasses turn it into lines in `show_pod`."""

    def load(self) -> None:
        reader = self.reader()
        if reader is None:
            self.pager.set_lines(self.no_reader_lines())
            return
        self.set_title("reading…")
        self.run_worker(self.read(reader), group=f"pod-{self.what.lower()}", exclusive=True,
                        exit_on_error=False,
                        description=f"{self.what} of pod {self.pod_namespace}/{self.pod_name}")

    async def read(self, reader: PodReader) -> None:
        try:
            pod = await reader.pod_object(self.pod_namespace, self.pod_name)
        except Exception as error:  # the server's answer (404, 403) or a broken connection: shown
            self.set_title("")
            self.show_error(f"GET pod {self.pod_namespace}/{self.pod_name}", error)
            return
        self.show_pod(pod)
        self.note = "/ search · n/N next/previous · r reload · esc back"
        self.update_status()

    def show_pod(self, pod: dict) -> None:
        """Fill the pager and the title from the pod as served."""

    def action_reload(self) -> None:
        self.load()
