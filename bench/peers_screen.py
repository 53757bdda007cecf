"""Terminals for bench/peers.py: tools in tmux (our own server, -L), screens read with
capture-pane, and what a screen says (pod rows, counts) for k9s, kataview and kubectl.

Every tool runs in its own session of one private tmux server; the server is ended with
kill-server on that socket alone, never the user's tmux.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field

WIDTH, HEIGHT = 200, 60
# A generated pod's name (kataview.demo.generator): "<app>-NNNN-<10 hex>-<5 suffix>" or
# "kube-proxy-<5 suffix>"; the suffix alphabet is the ReplicaSet one.
POD_NAME = re.compile(r"(?:kube-proxy|[a-z][a-z-]*-\d{4}-[0-9a-f]{10})-[bcdfghjklmnpqrstvwxz2456789]{5}\b")
K9S_POD_TITLE = re.compile(r"\bpods\((?P<ns>[^)]*)\)\[(?P<count>[\d,]+)\](?P<filter>\s*</[^>]*>)?")
KATAVIEW_POD_TITLE = re.compile(r"Pods by runtime \((?P<inner>[^)]*)\)(?P<rest>[^─╮]*)")
NOT_DONE_WORDS = ("loading", "~", "provisional", "syncing")
KUBECTL_DONE = re.compile(r"__peers_done__ rc=(\d+)")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def pod_rows(screen: str) -> int:
    """Lines on the screen that show a pod by name."""
    return sum(1 for line in screen.splitlines() if POD_NAME.search(line))


@dataclass(frozen=True)
class Count:
    shown: int  # pods the pane or title says it shows
    total: int | None  # when the tool says "N of M"
    complete: bool  # the tool claims nothing more is coming


def k9s_count(screen: str) -> Count | None:
    """k9s's pods view title: ' pods(all)[150,000] ' (AsThousands), ' pods(all)[225] </v> '
    when filtered. k9s shows no loading state: the count is what its table holds."""
    match = K9S_POD_TITLE.search(screen)
    if match is None:
        return None
    return Count(number(match["count"]), None, match["filter"] is None)


def kataview_count(screen: str) -> Count | None:
    """kataview's pods pane title: '4 Pods by runtime (1,000)', '(225 of 1,000)' when filtered;
    while the list still arrives, words such as 'loading' follow (issue 17.1) or the total has
    a '~': then the count is not complete."""
    match = KATAVIEW_POD_TITLE.search(screen)
    if match is None:
        return None
    numbers = [number(n) for n in re.findall(r"\d[\d,]*", match["inner"])]
    if not numbers:
        return None
    title = match.group(0)
    total = numbers[1] if len(numbers) > 1 and " of " in match["inner"] else None
    return Count(numbers[0], total, not any(word in title for word in NOT_DONE_WORDS))


def kataview_nodes_shown(screen: str) -> bool:
    """The nodes pane holds at least one node ('1 Nodes (34)')."""
    match = re.search(r"Nodes \((\d[\d,]*)", screen)
    return bool(match) and number(match.group(1)) > 0


def kubectl_done(screen: str) -> int | None:
    """The exit code kubectl's wrapper printed after it returned, or None while it runs."""
    match = KUBECTL_DONE.search(screen)
    return int(match.group(1)) if match else None


class Tmux:
    """One private tmux server (`tmux -L <name>`), sessions WIDTH x HEIGHT."""

    def __init__(self, socket_name: str) -> None:
        self.socket_name = socket_name

    def run(self, *args: str, timeout: float = 10) -> str:
        return subprocess.run(["tmux", "-L", self.socket_name, *args], check=True,
                              capture_output=True, text=True, timeout=timeout).stdout

    def start(self, session: str, argv: list[str], env: dict[str, str]) -> int:
        """Start `argv` under `env` (and nothing else of ours) in a new session; the PID of
        the pane's process (`env` exec's the tool, so it is the tool's PID)."""
        command = "exec env -i " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items()) + \
            " " + " ".join(shlex.quote(a) for a in argv)
        self.run("new-session", "-d", "-s", session, "-x", str(WIDTH), "-y", str(HEIGHT), command)
        self.run("set-option", "-t", session, "remain-on-exit", "on")
        return int(self.run("display-message", "-p", "-t", session, "#{pane_pid}").strip())

    def screen(self, session: str, styled: bool = False) -> str:
        args = ["capture-pane", "-p", "-t", session] + (["-e"] if styled else [])
        return self.run(*args)

    def keys(self, session: str, *keys: str) -> None:
        self.run("send-keys", "-t", session, *keys)

    def kill_session(self, session: str) -> None:
        subprocess.run(["tmux", "-L", self.socket_name, "kill-session", "-t", session],
                       capture_output=True, timeout=10)

    def kill_server(self) -> None:
        subprocess.run(["tmux", "-L", self.socket_name, "kill-server"], capture_output=True,
                       timeout=10)


@dataclass
class Arrival:
    first_row_s: float | None = None
    full_s: float | None = None
    gave_up_s: float | None = None  # not complete when the limit was reached
    last_count: int | None = None
    polls: int = 0
    marks: dict = field(default_factory=dict)  # name -> seconds when its predicate first held
    stopped: str = ""  # why on_poll ended the wait early (e.g. the tool's RSS over the cap)


def watch_arrival(read_screen, count_of, expected: int, limit_s: float, interval: float = 0.07,
                  started: float | None = None, on_poll=None, marks=None) -> Arrival:
    """Poll the screen until `count_of(screen)` says `expected` pods, complete, or `limit_s`.

    count_of: screen -> Count | None, or for kubectl screen -> bool (it returned).
    on_poll: called between polls; a truthy answer (a reason) ends the wait as a give-up."""
    started = time.monotonic() if started is None else started
    arrival = Arrival()
    while True:
        screen = read_screen()
        now = time.monotonic() - started
        arrival.polls += 1
        if arrival.first_row_s is None and pod_rows(screen):
            arrival.first_row_s = now
        for name, predicate in (marks or {}).items():
            if name not in arrival.marks and predicate(screen):
                arrival.marks[name] = now
        count = count_of(screen)
        if isinstance(count, Count):
            arrival.last_count = count.shown
            done = count.shown == expected and count.complete and count.total is None
        else:
            done = bool(count)
        if done:
            arrival.full_s = now
            return arrival
        if now > limit_s:
            arrival.gave_up_s = now
            return arrival
        stop = on_poll() if on_poll is not None else None
        if stop:  # on_poll returns a reason to stop waiting
            arrival.gave_up_s, arrival.stopped = now, stop
            return arrival
        time.sleep(interval)
