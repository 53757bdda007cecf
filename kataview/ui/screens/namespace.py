"""The `n` picker: all namespaces, or one (with its pod count). Dismisses with (namespace,)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from kataview.model.terminal_text import terminal_safe

ALL = "\0all"


class NamespacePicker(ModalScreen[tuple[str | None] | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def compose(self) -> ComposeResult:
        yield OptionList(id="namespaces")

    def on_mount(self) -> None:
        view = self.app.view
        namespaces = view.namespaces if view is not None else {}
        picker = self.query_one("#namespaces", OptionList)
        picker.border_title = "Namespace"
        picker.border_subtitle = "Enter picks · Esc cancels"
        total = sum(namespaces.values())
        picker.add_options([Option(f"all namespaces ({total:,} pods)", id=ALL)] +
                           [Option(Content(terminal_safe(f"{name} ({number:,})")), id=name)
                            for name, number in namespaces.items()])
        current = self.app.namespace
        names = list(namespaces)
        picker.highlighted = 1 + names.index(current) if current in names else 0
        picker.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        chosen = event.option.id
        self.dismiss((None if chosen == ALL else chosen,))
