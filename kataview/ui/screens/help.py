"""The `?` screen: every binding that works on the screen below (the app's, unless that screen
is modal; its own; the lists' if it shows one), with its id (for [keys] in the config file) and
its current keys (after the keymap)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from kataview.ui.widgets.virtual_table import VirtualTable

INTRO = ("Remap any key in $XDG_CONFIG_HOME/kataview/config.toml, e.g.\n"
         "  [keys]\n  quit = \"ctrl+q\"\n  filter = \"slash,f\"\n"
         "Filter: text matches any column shown (a runtime, handler or family word picks its groups:\n"
         "  /kata is the Kata pods); !text inverts; -l app=nginx,tier!=db is a label selector;\n"
         "  -f node=NAME one column; /regex/ or re:regex for a regex. Esc clears it.")


def binding_lines(app, title: str, bindings: list[Binding], keymap: dict[str, str]) -> list[Content]:
    lines = [Content.styled(title, "bold $accent")]
    for binding in bindings:
        raw = keymap.get(binding.id, binding.key) if binding.id else binding.key
        keys = ", ".join(app.get_key_display(Binding(key.strip(), "")) for key in raw.split(","))
        lines.append(Content.assemble((f"  {keys:<18}", "bold"), f"{binding.description or binding.action:<22}",
                                      (binding.id or "", "$text-muted")))
    return lines


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="close-help")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(id="help-text")

    def on_mount(self) -> None:
        box = self.query_one("#help-box")
        box.border_title = "Keys  (key · action · binding id)"
        box.border_subtitle = "Esc closes"
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        keymap = dict(self.app.settings.keymap)
        sections = []
        if below is None or not below.is_modal:  # a modal screen (the guided setup) binds its App keys itself
            sections.append(binding_lines(self.app, "Everywhere", list(self.app.BINDINGS), keymap))
        if below is not None:
            sections.append(binding_lines(self.app, "This screen", list(type(below).BINDINGS), keymap))
        if below is None or below.query(VirtualTable):
            sections.append(binding_lines(self.app, "Lists", list(VirtualTable.BINDINGS), keymap))
        sections.append([Content.styled("Palette", "bold $accent"),
                         Content("  ctrl+p              open pod/node/RuntimeClass by name, themes, namespace")])
        lines = [line for section in sections for line in section + [Content("")]]
        self.query_one("#help-text", Static).update(Content("\n").join(lines + [Content(INTRO)]))
