"""`LoggedSource`: a snapshot source that also logs the cluster's watch phase changes to
kataview's log (the log file itself is set up by kataview.cli.logsetup)."""

from __future__ import annotations

import logging
from typing import Any


class LoggedSource:
    """Wraps a snapshot source: logs each change of the cluster's watch phase (syncing, live,
    reconnecting, stale) and of the per-resource errors, then publishes as before. Every
    other attribute is the wrapped source's."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._last: tuple | None = None
        self._logger = logging.getLogger("kataview.watch")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    async def run(self, publish: Any) -> None:
        def logged(snapshot: Any, state: Any) -> None:
            try:
                self._note(state)
            finally:
                publish(snapshot, state)

        await self._source.run(logged)

    def _note(self, state: Any) -> None:
        text = f"cluster {state.phase} ({state.synced}/{state.total} resources synced)"
        if state.stale_since:
            text += f", stale since {state.stale_since:%H:%M:%S}"
        if getattr(state, "denied", ()):
            text += f", RBAC denies {', '.join(state.denied)}"
        # the line is the state: the informers log each error themselves, once
        if text == self._last:
            return
        self._last = text
        level = logging.WARNING if state.phase in ("stale", "reconnecting") else logging.INFO
        self._logger.log(level, text)
