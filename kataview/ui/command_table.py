"""The `:` commands (k9s style): one entry per command in COMMANDS, with its aliases, a line
of help, what completes its argument and what it does. The command bar (MainScreen) parses,
completes and runs from this table only, so a new command is one entry here.

`run(screen, argument)` gets the MainScreen and the text after the name; it returns an error
line for the bar to show, or None when the command ran."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from textual.suggester import Suggester

Run = Callable[[Any, str], "str | None"]
Arguments = Callable[[Any], Iterable[str]]  # app -> the values the argument completes from


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Run
    aliases: tuple[str, ...] = ()
    arguments: Arguments | None = None
    usage: str = ""  # e.g. "NAME|all"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def show_pane(pane_id: str) -> Run:
    def run(screen, argument: str) -> str | None:
        screen.action_show_pane(pane_id)
        return None
    return run


def open_events(screen, argument: str) -> str | None:
    from kataview.ui.screens.events import EventsScreen

    screen.app.push_screen(EventsScreen())
    return None


def choose_namespace(screen, argument: str) -> str | None:
    app = screen.app
    if not argument:
        app.action_namespace()
        return None
    if argument == "all":
        app.set_namespace(None)
        return None
    known = app.view.namespaces if app.view is not None else {}
    if argument not in known:
        return f"no pods in namespace {argument!r} (namespaces: {', '.join(known) or 'none yet'}; :ns all for every one)"
    app.set_namespace(argument)
    return None


def switch_context(screen, argument: str) -> str | None:
    if not argument:
        return "usage: :ctx NAME (Tab completes the kubeconfig's contexts)"
    return screen.app.switch_context(argument)


def namespaces(app) -> list[str]:
    return ["all", *(app.view.namespaces if app.view is not None else ())]


def contexts(app) -> list[str]:
    names = getattr(app.source, "context_names", None)
    return list(names()) if names is not None else []


def show_log(screen, argument: str) -> str | None:
    screen.app.action_log()
    return None


def show_problems(screen, argument: str) -> str | None:
    screen.app.action_show_problems()
    return None


def quit_app(screen, argument: str) -> str | None:
    screen.app.exit()
    return None


COMMANDS: list[Command] = [
    Command("pods", "the pods by runtime", show_pane("pods"), aliases=("po", "pod")),
    Command("nodes", "the nodes and their runtime handlers", show_pane("nodes"), aliases=("no", "node")),
    Command("rc", "the RuntimeClasses", show_pane("runtime-classes"), aliases=("runtimeclasses", "runtimeclass")),
    Command("findings", "what is wrong or risky", show_pane("findings"), aliases=("fi",)),
    Command("problems", "the pods that are not well, and why (also ctrl+z)", show_problems,
            aliases=("pr", "faults")),
    Command("events", "the events kataview watches (sandbox failures)", open_events, aliases=("ev",)),
    Command("ns", "show one namespace, or all", choose_namespace, aliases=("namespace",), arguments=namespaces,
            usage="NAME|all"),
    Command("ctx", "switch to another kubeconfig context (reconnects)", switch_context, aliases=("context",),
            arguments=contexts, usage="NAME"),
    Command("log", "kataview's own log: watch states and errors", show_log),
    Command("quit", "quit kataview", quit_app, aliases=("q", "q!")),
]


def find_command(name: str) -> Command | None:
    return next((command for command in COMMANDS if name in command.names), None)


def parse(line: str) -> tuple[Command | None, str, str]:
    """(command, argument, the name typed) of a bar line; a leading ':' is allowed."""
    name, _, argument = line.strip().lstrip(":").strip().partition(" ")
    return find_command(name), argument.strip(), name


def completion(line: str, app) -> str | None:
    """The whole line completed (the first name or argument that starts with what is typed),
    or None. Names complete before a space, the argument after it."""
    if " " not in line:
        for command in COMMANDS:
            for name in command.names:
                if line and name.startswith(line) and name != line:
                    return name
        return None
    typed_name, _, typed = line.partition(" ")
    command = find_command(typed_name)
    if command is None or command.arguments is None:
        return None
    typed = typed.lstrip()
    for value in command.arguments(app):
        if value.startswith(typed) and value != typed:
            return f"{typed_name} {value}"
    return None


class LineCompletion(Suggester):
    """The command bar's grey completion: `completion` of the whole line."""

    def __init__(self, app) -> None:
        # no cache: namespaces and contexts change while the app runs; names are case-sensitive
        super().__init__(use_cache=False, case_sensitive=True)
        self.app = app

    def complete(self, value: str) -> str | None:
        return completion(value, self.app)

    async def get_suggestion(self, value: str) -> str | None:
        return self.complete(value)
