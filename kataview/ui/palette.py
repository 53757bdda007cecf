"""Command palette providers, named "area: verb": open a pod, node or RuntimeClass by name;
switch context, namespace, theme, log and help; run any `:` command.

Textual asks each provider's `search` for hits on every keystroke and scores nothing itself:
what a provider leaves out is never shown. So a query's words are looked for in the whole
prompt ("pod: open sandboxed/nginx-kata-..."), the area word included: `pod kata` and
`node kata` name the area and a part of the name."""

from __future__ import annotations

from functools import partial
from typing import Iterable

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from kataview.model.terminal_text import terminal_safe

MAX_HITS = 50


def highlighted(matcher: Matcher, plain: str) -> Content:
    """plain text with the query's fuzzy match marked. Matcher.highlight reads its candidate
    as markup, and no escaping makes every cluster name safe markup ('=\\x1a[/x' raised
    MarkupError in the palette's worker): prompts are Content, never markup."""
    content = Content(plain)
    score, offsets = matcher.fuzzy_search.match(matcher.query, plain)
    if score:
        for offset in offsets:
            if not plain[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class ObjectCommands(Provider):
    """Fuzzy-match object names; the matcher only scores what a cheap substring test kept."""

    kind = ""
    verb = ""
    fuzzy = True  # pods: substring words only, since fuzzy-scoring 150,000 names is too slow

    def candidates(self) -> Iterable[tuple[str, str]]:
        """(text shown, key to open)."""
        return ()

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        words = query.lower().split()
        verb = self.verb.lower()
        found = 0
        for text, key in self.candidates():
            lowered = f"{verb} {text.lower()}"
            if words and not all(word in lowered for word in words):
                if not self.fuzzy or not matcher.match(f"{self.verb} {text}"):
                    continue
            score = matcher.match(f"{self.verb} {text}") or matcher.match(text) or 0.5
            shown = terminal_safe(f"{self.verb} {text}")
            yield Hit(score, highlighted(matcher, shown), partial(self.app.open_object, self.kind, key),
                      help=f"open the {self.kind} detail screen")
            found += 1
            if found >= MAX_HITS:
                break

    async def discover(self) -> Hits:
        for number, (text, key) in enumerate(self.candidates()):
            if number >= 10:
                break
            yield DiscoveryHit(Content(terminal_safe(f"{self.verb} {text}")), partial(self.app.open_object, self.kind, key))


class PodCommands(ObjectCommands):
    kind, verb = "Pod", "pod: open"
    fuzzy = False

    def candidates(self) -> Iterable[tuple[str, str]]:
        view = self.app.view
        if view is not None:
            for pod in view.snapshot.pods.values():
                yield f"{pod.namespace}/{pod.name}", pod.uid


class NodeCommands(ObjectCommands):
    kind, verb = "Node", "node: open"

    def candidates(self) -> Iterable[tuple[str, str]]:
        view = self.app.view
        if view is not None:
            for name in sorted(view.snapshot.nodes):
                yield name, name


class RuntimeClassCommands(ObjectCommands):
    kind, verb = "RuntimeClass", "runtimeclass: open"

    def candidates(self) -> Iterable[tuple[str, str]]:
        view = self.app.view
        if view is not None:
            for name in sorted(view.snapshot.runtime_classes):
                yield name, name


class ListedCommands(Provider):
    """A short list of (prompt, help, callback), fuzzy-matched on the prompt."""

    def commands(self) -> list[tuple[str, str, object]]:
        return []

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, highlighted(matcher, name), callback, help=help_text)

    async def discover(self) -> Hits:
        for name, help_text, callback in self.commands():
            yield DiscoveryHit(Content(name), callback, help=help_text)


class ContextCommands(ListedCommands):
    """`context: switch to NAME` for each context of the source's kubeconfig (as `:ctx NAME`)."""

    def commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        names = getattr(app.source, "context_names", None)
        current = app.source.info.context
        return [(terminal_safe(f"context: switch to {name}"),
                 "the current context" if name == current else "reconnect to this kubeconfig context (:ctx)",
                 partial(self.switch, name)) for name in (names() if names is not None else [])]

    def switch(self, name: str) -> None:
        error = self.app.switch_context(name)
        if error:
            self.app.notify(terminal_safe(error), severity="error", timeout=15)



class BarCommands(ListedCommands):
    """Every `:` command (kataview.ui.command_table): one without an argument runs, one with
    an argument opens the bar with its name typed."""

    def commands(self) -> list[tuple[str, str, object]]:
        from kataview.ui.command_table import COMMANDS

        return [(f"command: :{command.name}" + (f" {command.usage}" if command.usage else ""),
                 command.help, partial(self.run, command.name, bool(command.usage))) for command in COMMANDS]

    def run(self, name: str, takes_argument: bool) -> None:
        from kataview.ui.screens.main import MainScreen

        self.app.action_command_bar()
        screen = self.app.screen
        if not isinstance(screen, MainScreen):
            return
        if takes_argument:
            bar = screen.query_one("#command-input")
            bar.value = f"{name} "
            bar.cursor_position = len(bar.value)
        else:
            screen.close_command_bar()
            screen.run_command(name)


class ViewCommands(ListedCommands):
    """The app's own actions, so every binding is reachable from the palette too."""

    def commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        return [
            ("namespace: pick", "choose the namespace to show (key n)", app.action_namespace),
            ("namespace: all", "show every namespace (-A)", partial(app.set_namespace, None)),
            ("theme: toggle", "switch between dark and light (ctrl+t)", app.action_toggle_theme),
            ("theme: choose", "pick any theme; the choice is remembered", app.action_change_theme),
            ("log: show", "watch state history and errors (:log)", app.action_log),
            ("help: keys", "every key binding (key ?)", app.action_help),
        ]

