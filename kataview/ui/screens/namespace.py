"""The `n` picker: all namespaces, or one (with its pod count). Typing filters the list
(type-ahead: the letters typed are in the title, Backspace takes one back), up/down move,
Enter picks, Esc clears what was typed and then cancels. Dismisses with (namespace,)."""

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
    BINDINGS = [Binding("escape", "back", "Clear / cancel", id="cancel"),
                Binding("backspace", "erase", "Erase a letter", show=False, id="erase")]

    def __init__(self) -> None:
        super().__init__()
        self.typed = ""

    def compose(self) -> ComposeResult:
        yield OptionList(id="namespaces")

    def on_mount(self) -> None:
        self.show_options()
        current = self.app.namespace
        names = [option.id for option in self.picker.options]
        self.picker.highlighted = names.index(current) if current in names else 0
        self.picker.focus()

    @property
    def picker(self) -> OptionList:
        return self.query_one("#namespaces", OptionList)

    def show_options(self) -> None:
        view = self.app.view
        namespaces = view.namespaces if view is not None else {}
        total = sum(namespaces.values())
        options = [Option(f"all namespaces ({total:,} pods)", id=ALL)] if not self.typed else []
        options += [Option(Content(terminal_safe(f"{name} ({number:,})")), id=name)
                    for name, number in namespaces.items() if self.typed in name]
        picker = self.picker
        picker.clear_options()
        picker.add_options(options)
        if options:
            picker.highlighted = 0
        picker.border_title = f"Namespace  {terminal_safe(self.typed)}▏" if self.typed else "Namespace"
        picker.border_subtitle = ("type to filter · Enter picks · Esc clears" if self.typed
                                  else "type to filter · Enter picks · Esc cancels")

    def on_key(self, event) -> None:
        if event.is_printable and event.character and not event.character.isspace():
            event.stop()
            self.typed += event.character
            self.show_options()

    def action_erase(self) -> None:
        if self.typed:
            self.typed = self.typed[:-1]
            self.show_options()

    def action_back(self) -> None:
        """Esc: one step back: what was typed first, then the picker."""
        if self.typed:
            self.typed = ""
            self.show_options()
        else:
            self.dismiss(None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        chosen = event.option.id
        self.dismiss((None if chosen == ALL else chosen,))
