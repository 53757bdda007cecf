"""The VM panel: one Kata pod's VM as gathered over SSH, or why there is none.

The panel only renders; the pod detail screen runs the gathering worker and calls
``show_loading`` / ``show_detail`` / ``show_error`` / ``show_message``. An error after a
good fetch keeps the last detail on screen, marked stale, with the error above it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from kataview.hosts import errors
from kataview.model.redaction import redact
from kataview.model.terminal_text import terminal_safe, terminal_safe_record
from kataview.model.vm import VMDetail, mib_text, number_text, uptime_text
from kataview.ui.formatting import clock

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Spinner(Static):
    """A one-line spinner with a message; still (first frame) on a frozen clock."""

    def __init__(self, *, animate: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.animate = animate
        self.message: Content | str = ""
        self._frame = 0
        self._timer = None

    def on_mount(self) -> None:
        if self.animate:
            self._timer = self.set_interval(0.1, self._tick, pause=not self.display)

    def spin(self, message: Content | str) -> None:
        self.message = message
        self.display = True
        if self._timer is not None:
            self._timer.resume()
        self._draw()

    def stop(self) -> None:
        self.display = False
        if self._timer is not None:
            self._timer.pause()

    def _tick(self) -> None:
        self._frame = (self._frame + 1) % len(SPINNER)
        self._draw()

    def _draw(self) -> None:
        message = self.message if isinstance(self.message, Content) else terminal_safe(self.message)
        self.update(Content.assemble((SPINNER[self._frame], "$accent"), " ", message))


# ---- what to do about an error -------------------------------------------------------------

def error_line(error: BaseException, node: str, read_only: bool, retry: str = "r",
               trust_hint: str = "Press r to be asked again.") -> tuple[Content, bool]:
    """(one line saying what went wrong and what to do, loud?) for the panel; the error's
    text may quote a node or a server: terminal-safe."""
    text = terminal_safe(redact(str(error) or type(error).__name__))
    node = terminal_safe(node)
    if isinstance(error, errors.HostKeyChanged):
        what = "REVOKED" if isinstance(error, errors.HostKeyRevoked) else "CHANGED"
        return Content.styled(f"⚠ HOST KEY {what} — {text}", "bold $error"), True
    if isinstance(error, errors.UnknownHostKey):
        if read_only:
            text += " Read-only mode: kataview writes nothing, add the key yourself."
        else:
            text += " " + trust_hint
    elif isinstance(error, errors.NodeUnreachable):
        text += (f"; check the node's address ([nodes.{node}] address in kataview's config.toml, "
                 "or HostName in the ssh config) and that this machine can reach it")
    elif isinstance(error, (errors.SSHFailure, errors.CommandTimeout, errors.VMGone)):
        text += f"; press {retry} to try again"
    elif not isinstance(error, errors.NodeError):
        text = f"internal error ({type(error).__name__}: {text}); press l for the log and report it"
    return Content.assemble(("✗ ", "bold $error"), (text, "$error")), False


# ---- the facts --------------------------------------------------------------------------



duration = uptime_text


def _from(detail: VMDetail, *names: str) -> Content:
    """A muted mark when a value came from persist.json rather than the command line."""
    sources = {detail.sources.get(name) for name in names} - {None, "cmdline", "ps"}
    return Content.styled(f"  (from {', '.join(sorted(sources)).replace('persist', 'persist.json')})",
                          "$text-muted") if sources else Content("")


def overhead_cost(detail: VMDetail) -> Content:
    """The pod's declared overhead next to what the VM costs the host."""
    if detail.overhead_source is None:
        declared = Content.styled("no overhead declared (no RuntimeClass overhead)", "$warning")
    else:
        cpu = f"{detail.overhead_cpu_millis}m CPU" if detail.overhead_cpu_millis is not None else "? CPU"
        declared = Content(f"{cpu}, {mib_text(detail.overhead_memory_mib)} ({detail.overhead_source})")
    rss, cpu_pct = detail.host_rss_mib, detail.host_cpu_recent_percent
    cpu_pct = detail.host_cpu_percent if cpu_pct is None else cpu_pct
    measured = f"measured RSS {mib_text(rss)}, CPU {'?' if cpu_pct is None else f'{cpu_pct * 10:,.0f}m'}"
    parts = [declared, Content("  vs  "), Content(measured)]
    limit = detail.overhead_memory_mib
    if rss is not None and limit is not None and rss > limit:
        parts.append(Content.styled(f"  ▲ {rss - limit:,.0f} MiB over: the scheduler counts less "
                                    "than the VM uses", "$warning"))
    elif rss is not None and limit is not None:
        parts.append(Content.styled("  ✓ within the overhead", "$success"))
    return Content.assemble(*parts)


def guest_text(detail: VMDetail) -> Content:
    guest = detail.guest
    if guest is None:
        return Content.styled(detail.guest_error or "no guest metrics", "$text-muted")
    mib = lambda b: None if b is None else b / 2**20  # noqa: E731
    load = " ".join(number_text(v) for v in (guest.load1, guest.load5, guest.load15) if v is not None) or "?"
    return Content(f"memory {mib_text(mib(guest.mem_total_bytes))}, available "
                   f"{mib_text(mib(guest.mem_available_bytes))}, free {mib_text(mib(guest.mem_free_bytes))}"
                   f" · load {load}")


def detail_facts(detail: VMDetail) -> list[tuple[str, Content | str]]:
    sandbox = detail.sandbox
    host_cpu = "?" if detail.host_cpu_percent is None else f"{detail.host_cpu_percent:.1f}% average"
    if detail.host_cpu_recent_percent is not None:
        host_cpu += f", {detail.host_cpu_recent_percent:.1f}% now"
    rootfs = (f"image {detail.image}" if detail.image else "") + \
        ("  " if detail.image and detail.initrd else "") + (f"initrd {detail.initrd}" if detail.initrd else "")
    memory = f"{mib_text(detail.memory_mib)} boot / {mib_text(detail.memory_max_mib)} max"
    if detail.memory_slots:
        memory += f" ({detail.memory_slots} hotplug slots)"
    if detail.hotplugged_memory_mib:
        memory += f", +{detail.hotplugged_memory_mib:,} MiB hotplugged"
    vcpus = f"{number_text(detail.vcpus_boot)} boot / {number_text(detail.vcpus_max)} max"
    if detail.hotplugged_vcpus:
        vcpus += f", +{detail.hotplugged_vcpus} hotplugged"
    found = f"found by {sandbox.found_by}" + (f", {sandbox.state}" if sandbox.state else "")
    return [
        ("hypervisor", Content.assemble((detail.kind or "unknown", "bold"), "  ", detail.binary or "?",
                                        _from(detail, "kind", "binary"))),
        ("VMM process", f"PID {detail.pid or '?'}, up {duration(detail.uptime_seconds)}"
                        + (f", {detail.threads} threads" if detail.threads else "")),
        ("vCPUs", Content.assemble(vcpus, _from(detail, "vcpus_boot", "vcpus_max"))),
        ("memory", Content.assemble(memory, _from(detail, "memory_mib"))),
        ("kernel", Content.assemble(detail.kernel or "?", _from(detail, "kernel"))),
        ("rootfs", Content.assemble(rootfs or "?", _from(detail, "image", "initrd"))),
        ("shared fs", Content.assemble(detail.shared_fs or "?", _from(detail, "shared_fs"))),
        ("machine", Content.assemble(detail.machine or "?", _from(detail, "machine"))),
        ("host cost", f"RSS {mib_text(detail.host_rss_mib)}, CPU {host_cpu}"),
        ("processes", f"shim {detail.shim_pid or '-'}, virtiofsd "
                      f"{', '.join(map(str, detail.virtiofsd_pids)) or '-'}"),
        ("overhead", overhead_cost(detail)),
        ("guest", guest_text(detail)),
        ("sandbox", f"{sandbox.id} ({found})"),
        ("node", f"{detail.node} ({detail.address})"),
        *[("note", Content.styled(note, "$text-muted")) for note in (*sandbox.notes, *detail.notes)],
    ]


def facts_content(pairs: Iterable[tuple[str, Any]]) -> Content:
    pairs = [(label, value) for label, value in pairs if value not in (None, "")]
    width = max((len(label) for label, _ in pairs), default=0)
    return Content("\n").join(Content.assemble((label.ljust(width), "$text-muted"), "  ", value)
                              for label, value in pairs)


# ---- the widget -------------------------------------------------------------------------

class VMPanel(Vertical):
    """Border title "VM"; a status line (spinner, error or freshness) over the facts."""

    def __init__(self, *, animate: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.animate = animate
        self.detail: VMDetail | None = None
        self.error: BaseException | None = None
        self.loud = False

    def compose(self) -> ComposeResult:
        yield Spinner(id="vm-spinner", animate=self.animate)
        yield Static(id="vm-status")
        yield Static(id="vm-facts")

    def on_mount(self) -> None:
        self.border_title = "VM"
        self.query_one(Spinner).stop()

    def _parts(self) -> tuple[Spinner, Static, Static]:
        return self.query_one(Spinner), self.query_one("#vm-status", Static), self.query_one("#vm-facts", Static)

    def show_message(self, text: Content | str) -> None:
        """No VM to gather (runc, gVisor, not scheduled): just say so."""
        spinner, status, facts = self._parts()
        spinner.stop()
        self.detail, self.error = None, None
        self.set_classes("section")
        status.display = False
        facts.display = True
        facts.update(text if isinstance(text, Content) else Content(terminal_safe(text, lines=True)))
        self.border_subtitle = ""

    def show_loading(self, node: str, address: str) -> None:
        spinner, status, facts = self._parts()
        if self.detail is None:
            spinner.spin(f"gathering VM detail over SSH from {node} ({address})…")
            status.display = facts.display = False
        else:
            # a refresh keeps the facts in place; a spinner line would shift the screen below
            self.border_subtitle = Content(terminal_safe(f"refreshing from {node}…"))

    def show_detail(self, detail: VMDetail, at: datetime, every: float | None) -> None:
        """Every string of the detail was read from the node: made terminal-safe first."""
        detail = terminal_safe_record(detail)
        spinner, status, facts = self._parts()
        spinner.stop()
        self.detail, self.error, self.loud = detail, None, False
        self.set_classes("section")
        status.display = False
        facts.display = True
        facts.update(facts_content(detail_facts(detail)))
        took = f" in {detail.elapsed_ms:,.0f} ms" if detail.elapsed_ms is not None else ""
        again = f", every {every:g}s" if every else ""
        self.border_subtitle = f"updated {clock(at)}{took}{again} · r refresh"

    def show_error(self, error: BaseException, node: str, read_only: bool, at: datetime) -> None:
        spinner, status, facts = self._parts()
        spinner.stop()
        self.error = error
        line, self.loud = error_line(error, node, read_only)
        status.display = True
        status.update(line)
        classes = ["section", "-error"] + (["-loud"] if self.loud else [])
        if self.detail is not None:
            classes.append("-stale")
            self.border_subtitle = f"stale since {clock(at)} · r retry"
        else:
            facts.display = False
            self.border_subtitle = f"failed at {clock(at)} · r retry"
        self.set_classes(" ".join(classes))

    @property
    def text(self) -> str:
        """What the panel says, as plain text (tests)."""
        spinner, status, facts = self._parts()
        shown = [w for w in (spinner, status, facts) if w.display]
        return "\n".join(str(w.render()) if w is not spinner else f"{SPINNER[0]} {spinner.message}"
                         for w in shown)
