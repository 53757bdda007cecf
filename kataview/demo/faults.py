"""Fault injection and RBAC denials for the API server double. Thread-safe: tests on another
thread (see `serve_in_thread`) may call these while the server runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from .resources import resource_for

ANY = "*"


def _plural(resource: str | None) -> str:
    return ANY if resource in (None, ANY) else resource_for(resource).plural


@dataclass
class _Shot:
    times: int
    value: int


class Faults:
    """One-shot and standing faults, keyed by resource plural (`pods`) or `*` for all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gone: dict[str, int] = {}
        self._throttle: dict[str, _Shot] = {}
        self._error: dict[str, _Shot] = {}
        self._delay: dict[str, float] = {}
        self._watch_body: dict[str, str] = {}
        self._list_body: dict[str, str] = {}
        self._initial_pace: dict[str, tuple[float, int]] = {}
        self._held: set[str] = set()
        self.on_drop_watches: Callable[[], None] = lambda: None
        self.on_compact: Callable[[], None] = lambda: None

    def drop_watches(self) -> None:
        """Close every open watch abruptly (the connection is aborted mid-stream)."""
        self.on_drop_watches()

    def gone_next(self, resource: str, times: int = 1) -> None:
        """The next `times` watches on `resource` answer a 410 Expired ERROR event."""
        with self._lock:
            key = _plural(resource)
            self._gone[key] = self._gone.get(key, 0) + times

    def throttle(self, resource: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` requests on `resource` get 429 with Retry-After."""
        with self._lock:
            self._throttle[_plural(resource)] = _Shot(times, retry_after)

    def error(self, resource: str, status: int = 500, times: int = 1) -> None:
        """The next `times` requests on `resource` get `status` (500, 503, ...)."""
        with self._lock:
            self._error[_plural(resource)] = _Shot(times, status)

    def delay(self, resource: str, seconds: float) -> None:
        """Every response on `resource` waits `seconds` first (0 removes the delay)."""
        with self._lock:
            key = _plural(resource)
            if seconds > 0:
                self._delay[key] = seconds
            else:
                self._delay.pop(key, None)

    def slow_initial_events(self, resource: str, seconds: float, every: int = 500) -> None:
        """A watch-list on `resource` sends its initial events `every` at a time, waiting
        `seconds` before each batch after the first (a slow list, event by event). 0 removes
        it, and releases a stream waiting at that moment."""
        with self._lock:
            key = _plural(resource)
            if seconds > 0:
                self._initial_pace[key] = (seconds, max(1, every))
            else:
                self._initial_pace.pop(key, None)

    def hold_continued_lists(self, resource: str, hold: bool = True) -> None:
        """While held, a LIST page of `resource` asked with a continue token waits: the first
        page arrives, the rest when released (a list stalled mid-way)."""
        with self._lock:
            (self._held.add if hold else self._held.discard)(_plural(resource))

    def continued_list_held(self, plural: str) -> bool:
        with self._lock:
            return plural in self._held or ANY in self._held

    def initial_pace_for(self, plural: str) -> tuple[float, int] | None:
        with self._lock:
            return self._initial_pace.get(plural, self._initial_pace.get(ANY))

    WATCH_BODIES = ("empty", "junk", "silent", "abort")

    def watch_body(self, resource: str, mode: str | None) -> None:
        """From now on every watch on `resource` is answered 200 and then: "empty" ends at
        once, "junk" sends a few lines that are no watch events and ends, "silent" sends
        nothing ever (a black hole), "abort" drops the connection. None: normal again."""
        if mode is not None and mode not in self.WATCH_BODIES:
            raise ValueError(f"unknown watch body {mode!r}")
        with self._lock:
            key = _plural(resource)
            if mode is None:
                self._watch_body.pop(key, None)
            else:
                self._watch_body[key] = mode

    LIST_BODIES = ("html", "truncated", "garbage", "bad-item")

    def list_body(self, resource: str, mode: str | None) -> None:
        """From now on every LIST of `resource` is answered 200 with: "html" a proxy's error
        page, "truncated" the first half of the JSON, "garbage" bytes that are no JSON,
        "bad-item" the real list plus one item that is no object. None: normal again."""
        if mode is not None and mode not in self.LIST_BODIES:
            raise ValueError(f"unknown list body {mode!r}")
        with self._lock:
            key = _plural(resource)
            if mode is None:
                self._list_body.pop(key, None)
            else:
                self._list_body[key] = mode

    def list_body_for(self, plural: str) -> str | None:
        with self._lock:
            return self._list_body.get(plural, self._list_body.get(ANY))

    def compact(self) -> None:
        """Forget the change history: older resourceVersions and continue tokens get 410."""
        self.on_compact()

    def clear(self) -> None:
        with self._lock:
            self._gone.clear(), self._throttle.clear(), self._error.clear(), self._delay.clear()
            self._watch_body.clear(), self._list_body.clear()

    # -- consumed by the server ---------------------------------------------------------------

    def _take(self, table: dict[str, _Shot], plural: str) -> int | None:
        with self._lock:
            for key in (plural, ANY):
                shot = table.get(key)
                if shot is not None:
                    shot.times -= 1
                    if shot.times <= 0:
                        del table[key]
                    return shot.value
        return None

    def take_throttle(self, plural: str) -> int | None:
        return self._take(self._throttle, plural)

    def take_error(self, plural: str) -> int | None:
        return self._take(self._error, plural)

    def take_gone(self, plural: str) -> bool:
        with self._lock:
            for key in (plural, ANY):
                if self._gone.get(key, 0) > 0:
                    self._gone[key] -= 1
                    return True
        return False

    def watch_body_for(self, plural: str) -> str | None:
        with self._lock:
            return self._watch_body.get(plural, self._watch_body.get(ANY))

    def delay_for(self, plural: str) -> float:
        with self._lock:
            return self._delay.get(plural, self._delay.get(ANY, 0.0))


class Rbac:
    """Everything is allowed unless denied: deny(resource, verb=None, user=None). A user whose
    ClusterRole rules were loaded (`load_rules`) is allowed only what those rules grant."""

    VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._denied: set[tuple[str, str, str]] = set()
        self._rules: dict[str, list[tuple[frozenset, frozenset, frozenset]]] = {}

    def deny(self, resource: str, verb: str | None = None, user: str | None = None) -> None:
        if verb is not None and verb not in self.VERBS + ("deletecollection",):
            raise ValueError(f"unknown verb {verb!r}")
        with self._lock:
            self._denied.add((_plural(resource), verb or ANY, user or ANY))

    def load_rules(self, user: str, rules: Iterable[Mapping]) -> None:
        """RBAC as the real server evaluates a ClusterRole bound to `user`: only what the
        rules grant (apiGroups x resources x verbs, `*` wildcards) is allowed for that user.
        `rules` is a ClusterRole's `rules` list as parsed from YAML."""
        table = [(frozenset(rule.get("apiGroups") or ()), frozenset(rule.get("resources") or ()),
                  frozenset(rule.get("verbs") or ())) for rule in rules]
        with self._lock:
            self._rules[user] = table

    def allow_all(self) -> None:
        with self._lock:
            self._denied.clear()
            self._rules.clear()

    def allowed(self, user: str, plural: str, verb: str) -> bool:
        with self._lock:
            if any((r in (plural, ANY)) and (v in (verb, ANY)) and (u in (user, ANY))
                   for r, v, u in self._denied):
                return False
            rules = self._rules.get(user)
            if rules is None:
                return True
            group = _group(plural)
            return any((group in groups or ANY in groups) and (plural in resources or ANY in resources)
                       and (verb in verbs or ANY in verbs) for groups, resources, verbs in rules)


def _group(plural: str) -> str:
    try:
        return resource_for(plural).group
    except KeyError:
        return ""
