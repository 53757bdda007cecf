"""Command palette providers, named "area: verb": open a pod, node or RuntimeClass by name;
switch namespace, theme, log and help."""

from __future__ import annotations

from functools import partial
from typing import Iterable

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from kataview.model.terminal_text import terminal_safe

MAX_HITS = 50


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
        found = 0
        for text, key in self.candidates():
            lowered = text.lower()
            if words and not all(word in lowered for word in words):
                if not self.fuzzy or not matcher.match(text):
                    continue
            score = matcher.match(f"{self.verb} {text}") or matcher.match(text) or 0.5
            # the palette reads prompts as markup: a name from the cluster is escaped
            shown = escape(terminal_safe(f"{self.verb} {text}"))
            yield Hit(score, matcher.highlight(shown), partial(self.app.open_object, self.kind, key),
                      help=f"open the {self.kind} detail screen")
            found += 1
            if found >= MAX_HITS:
                break

    async def discover(self) -> Hits:
        for number, (text, key) in enumerate(self.candidates()):
            if number >= 10:
                break
            yield DiscoveryHit(escape(terminal_safe(f"{self.verb} {text}")), partial(self.app.open_object, self.kind, key))


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


class ViewCommands(Provider):
    """The app's own actions, so every binding is reachable from the palette too."""

    def commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        return [
            ("namespace: pick", "choose the namespace to show (key n)", app.action_namespace),
            ("namespace: all", "show every namespace (-A)", partial(app.set_namespace, None)),
            ("theme: toggle", "switch between dark and light (ctrl+t)", app.action_toggle_theme),
            ("theme: choose", "pick any theme; the choice is remembered", app.action_change_theme),
            ("log: show", "watch state history and errors (key l)", app.action_log),
            ("help: keys", "every key binding (key ?)", app.action_help),
        ]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)

    async def discover(self) -> Hits:
        for name, help_text, callback in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)
