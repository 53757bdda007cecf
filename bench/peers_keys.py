"""Key-to-screen latency, the same way for every TUI: send-keys, then capture-pane until the
screen shows the key's effect.

- Cursor move: Down and Up alternate (the cursor stays on the first rows, no scrolling), and
  the effect is a line whose text is unchanged but whose styling changed (the highlight moved).
  Text-only changes elsewhere (a ticking clock, an age column) do not count.
- Filter keystroke: `/` opens the prompt (waited for, not timed), then one character is timed
  twice: until it is echoed (a changed line holds more of that character than before), and
  until the pods count in the title differs from the unfiltered one (the filter applied).
  Escape then clears the filter and the count is waited back.

The clock starts just before `tmux send-keys` runs, so every figure includes one tmux client
round trip and each poll one capture-pane (a few ms on this machine; the same for both tools).
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field

from peers_screen import Count, Tmux

POLL_LIMIT_S = 5.0


ESCAPE = re.compile(r"\x1b\[[0-9;:]*[A-Za-z]")
DIGITS = re.compile(r"\d")


def masked(styled_line: str) -> tuple[str, str]:
    """(text, text with its styling) of one capture-pane -e line, digits in the text masked:
    ages and clocks tick ("46s" -> "47s") in both TUIs, and such a tick must neither count as
    the key's effect nor hide it when it lands in the same frame."""
    parts = ESCAPE.split(styled_line)
    codes = ESCAPE.findall(styled_line)
    texts = [DIGITS.sub("#", part) for part in parts]
    styled = "".join(t + (codes[i] if i < len(codes) else "") for i, t in enumerate(texts))
    return "".join(texts), styled


def style_only_change(before: str, after: str) -> bool:
    """Some line kept its text (digits aside) but changed its styling: the highlight moved."""
    old, new = before.splitlines(), after.splitlines()
    if len(old) != len(new):
        return False
    for old_line, new_line in zip(old, new):
        if old_line == new_line:
            continue
        (old_text, old_styled), (new_text, new_styled) = masked(old_line), masked(new_line)
        if old_text == new_text and old_styled != new_styled:
            return True
    return False


def echoed(before: str, after: str, char: str) -> bool:
    """A line changed and now holds more of `char` than it did."""
    old, new = before.splitlines(), after.splitlines()
    return any(i >= len(old) or (new[i] != old[i] and new[i].count(char) > old[i].count(char))
               for i in range(len(new)))


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Samples:
    values_ms: list[float] = field(default_factory=list)
    timeouts: int = 0

    def summary(self) -> dict:
        return {"n": len(self.values_ms), "timeouts": self.timeouts,
                "median_ms": round(statistics.median(self.values_ms), 1) if self.values_ms else None,
                "p95_ms": round(percentile(self.values_ms, 0.95), 1) if self.values_ms else None}


def cursor_latency(tmux: Tmux, session: str, samples: int = 30, budget_s: float = 1e9) -> Samples:
    """`budget_s`: no new sample starts after that long (a tool taking seconds a key would
    hold the run for many minutes); the summary's n says how many were taken."""
    result = Samples()
    begun = time.monotonic()
    for index in range(samples):
        if time.monotonic() - begun > budget_s:
            break
        time.sleep(0.15)  # let the previous key's frame (and any refresh) settle
        before = tmux.screen(session, styled=True)
        started = time.monotonic()
        tmux.keys(session, "Down" if index % 2 == 0 else "Up")
        while time.monotonic() - started < POLL_LIMIT_S:
            after = tmux.screen(session, styled=True)
            if after != before and style_only_change(before, after):
                result.values_ms.append((time.monotonic() - started) * 1000)
                break
        else:
            result.timeouts += 1
    return result


def _wait_for(predicate, limit: float = POLL_LIMIT_S) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.01)
    return None


def filter_latency(tmux: Tmux, session: str, count_of, full: int, char: str = "v",
                   samples: int = 30, budget_s: float = 1e9) -> tuple[Samples, Samples]:
    """(echo, applied) samples; `count_of(screen)` reads the tool's pods count. `budget_s`
    as for cursor_latency."""
    echo, applied = Samples(), Samples()
    begun = time.monotonic()
    for _ in range(samples):
        if time.monotonic() - begun > budget_s:
            break
        before = tmux.screen(session)
        tmux.keys(session, "/")
        if _wait_for(lambda: tmux.screen(session) != before) is None:
            echo.timeouts += 1
            continue
        time.sleep(0.15)
        before = tmux.screen(session)
        started = time.monotonic()
        tmux.keys(session, char)
        echo_s = applied_s = None
        while time.monotonic() - started < POLL_LIMIT_S * 2 and applied_s is None:
            screen = tmux.screen(session)
            now = time.monotonic() - started
            if echo_s is None and echoed(before, screen, char):
                echo_s = now
            count: Count | None = count_of(screen)
            if count is not None and count.shown != full:
                applied_s = now
                echo_s = now if echo_s is None else echo_s
        for samples_of, value in ((echo, echo_s), (applied, applied_s)):
            if value is None:
                samples_of.timeouts += 1
            else:
                samples_of.values_ms.append(value * 1000)
        tmux.keys(session, "Escape")
        _wait_for(lambda: (count_of(tmux.screen(session)) or Count(-1, None, False)).shown == full
                  and "</" not in tmux.screen(session), limit=30)
    return echo, applied
