"""What the pane titles add while the first lists are still arriving (issue 17.1): the panes
fill page by page (or event by event), so a count alone would claim a cluster smaller than it
is, and findings drawn from half the pods could be wrong either way."""

from __future__ import annotations

from kataview.model.records import WatchState

PANE_KINDS = {"nodes": "nodes", "runtime-classes": "runtimeclasses", "pods": "pods"}


def pane_note(pane_id: str, state: WatchState) -> str:
    """" · loading 55,000 of ~150,000" on a pane whose kind is still being listed (the
    estimate when the server gave one); " · provisional: pods loading" on the findings
    until every list is complete; "" otherwise."""
    if not state.unsynced or state.never_connected:
        return ""
    if pane_id == "findings":
        return f" · provisional: {', '.join(state.unsynced)} loading"
    kind = PANE_KINDS.get(pane_id)
    return f" · loading {state.loading(kind)}" if kind in state.unsynced else ""
