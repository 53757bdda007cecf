"""Trust an unknown SSH host key, after the operator has compared its fingerprint.

Shown only for an *unknown* key (``UnknownHostKey``) and never in read-only mode. The
screen writes nothing itself: it dismisses with True (trust) or False, and the caller
appends the key to known_hosts with ``trust_host_key``. A changed key never gets here.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kataview.hosts.errors import UnknownHostKey
from kataview.hosts.hostkeys import known_hosts_name
from kataview.model.terminal_text import terminal_safe
from kataview.ui.theme import styles_dir


class HostKeyScreen(ModalScreen[bool]):
    CSS_PATH = [styles_dir() / "vm.tcss"]
    BINDINGS = [
        Binding("y", "trust", "Trust", id="trust-host-key"),
        Binding("n,escape", "refuse", "Refuse", id="refuse-host-key"),
    ]

    def __init__(self, error: UnknownHostKey) -> None:
        super().__init__()
        self.error = error

    def compose(self) -> ComposeResult:
        error = self.error
        key_type = error.key.get_algorithm() if error.key is not None else "?"
        owner = "jump host" if error.jump_host else "node"
        with Vertical(id="host-key-box"):
            yield Static(Content.styled("Unknown SSH host key", "bold"), id="host-key-title")
            yield Static(Content.assemble(
                *((("jump host    ", "$text-muted"), terminal_safe(error.jump_host), "\n") if error.jump_host else ()),
                ("node         ", "$text-muted"), terminal_safe(error.node), "\n",
                ("host         ", "$text-muted"), terminal_safe(error.host), "\n",
                ("port         ", "$text-muted"), str(error.port), "\n",
                ("key type     ", "$text-muted"), terminal_safe(key_type), "\n",
                ("fingerprint  ", "$text-muted"), (error.fingerprint, "bold $warning"), "\n",
                ("known_hosts  ", "$text-muted"), terminal_safe(error.known_hosts),
            ), id="host-key-facts")
            yield Static(Content(terminal_safe(
                f"kataview has never seen this host. Compare the fingerprint with the {owner}'s own "
                f"(on the {owner}: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub, or ask its owner). "
                f"Trusting appends one line for {known_hosts_name(error.host, error.port)} to "
                "known_hosts; nothing else is changed.")), id="host-key-help")
            with Horizontal(id="host-key-buttons"):
                yield Button("Trust and connect (y)", variant="warning", id="trust")
                yield Button("Refuse (n)", variant="default", id="refuse")

    def on_mount(self) -> None:
        self.query_one("#refuse", Button).focus()  # the safe choice is the default

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "trust")

    def action_trust(self) -> None:
        self.dismiss(True)

    def action_refuse(self) -> None:
        self.dismiss(False)
