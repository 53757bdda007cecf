"""Messages that cross widget boundaries. Data announcements are past tense."""

from __future__ import annotations

from textual.message import Message

from kataview.model.records import ClusterSnapshot, WatchState


class ClusterSnapshotFetched(Message):
    """A source published a snapshot. Replaces an unhandled older one, so a burst costs one
    rebuild."""

    def __init__(self, snapshot: ClusterSnapshot, state: WatchState, generation: int = 0) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.state = state
        self.generation = generation  # the app's context generation when it was sent

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ClusterSnapshotFetched) and message.generation == self.generation


class ObjectOpenRequested(Message):
    """Open the detail screen of one object: kind is "Pod" (key = uid), "Node" or "RuntimeClass"
    (key = name)."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__()
        self.kind = kind
        self.key = key
