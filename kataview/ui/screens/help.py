"""The `?` screen: every binding active on the screen below, read from that screen's
`active_bindings` (Textual's own merge of the focused widget's, its ancestors', the screen's and,
unless the screen is modal, the App's), grouped by where each is bound, with its binding id (for
[keys] in the config file) and its current keys (after the keymap). Nothing here is a hand list:
a binding added anywhere shows up; the `:` commands come from ui/command_table.py."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static

from kataview.ui.command_table import COMMANDS
from kataview.ui.widgets.virtual_table import VirtualTable

INTRO = ("Remap any key in $XDG_CONFIG_HOME/kataview/config.toml, e.g.\n"
         "  [keys]\n  quit = \"ctrl+q\"\n  filter = \"slash,f\"\n"
         "Filter: text matches any column shown (a runtime, handler or family word picks its groups:\n"
         "  /kata is the Kata pods); !text inverts; -l app=nginx,tier!=db is a label selector;\n"
         "  -f node=NAME one column; /regex/ or re:regex for a regex. Esc clears it.")


def where_bound(node, screen) -> str:
    if node is screen:
        return "This screen"
    if node is screen.app:
        return "Everywhere"
    kind = "list" if isinstance(node, (VirtualTable, OptionList)) else "field" if isinstance(node, Input) \
        else type(node).__name__
    return f"This {kind}" + (f" ({node.id})" if node.id else "")


def grouped_bindings(screen) -> list[tuple[str, list[tuple[list[str], Binding]]]]:
    """(where, [(keys, binding)]) in the order Textual resolves them (focused widget first);
    one line per binding, its keys together."""
    groups: dict[str, dict[tuple, tuple[list[str], Binding]]] = {}
    for key, active in screen.active_bindings.items():
        lines = groups.setdefault(where_bound(active.node, screen), {})
        binding = active.binding
        line = lines.setdefault((binding.id, binding.action, binding.description), ([], binding))
        line[0].append(key)
    return [(where, list(lines.values())) for where, lines in groups.items()]


def binding_lines(app, title: str, bindings: list[tuple[list[str], Binding]]) -> list[Content]:
    lines = [Content.styled(title, "bold $accent")]
    for keys, binding in bindings:
        shown = ", ".join(app.get_key_display(Binding(key, "")) for key in keys)
        lines.append(Content.assemble((f"  {shown:<18}", "bold"), f"{binding.description or binding.action:<24}",
                                      (binding.id or "", "$text-muted")))
    return lines


def command_lines() -> list[Content]:
    lines = [Content.styled("Commands (: opens the bar, Tab completes)", "bold $accent")]
    for command in COMMANDS:
        names = " ".join(f":{name}" for name in command.names) + (f" {command.usage}" if command.usage else "")
        lines.append(Content.assemble((f"  {names:<30}", "bold"), command.help))
    return lines


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="close-help")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(id="help-text")

    def on_mount(self) -> None:
        box = self.query_one("#help-box")
        box.border_title = "Keys of this screen  (key · action · binding id)"
        box.border_subtitle = "Esc closes"
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        sections = [binding_lines(self.app, where, bindings)
                    for where, bindings in (grouped_bindings(below) if below is not None else [])]
        if below is not None and below.is_modal:  # a modal page (the guided setup): no dashboard extras
            extras = []
        else:
            extras = [command_lines(), [Content.styled("Palette", "bold $accent"),
                                        Content("  ctrl+p              open pod/node/RuntimeClass by name, contexts, "
                                                "commands, themes, namespace")]]
        lines = [line for section in sections + extras for line in section + [Content("")]]
        self.query_one("#help-text", Static).update(Content("\n").join(lines + [Content(INTRO)]))
