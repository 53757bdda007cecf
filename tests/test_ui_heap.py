"""The heap policy frees garbage cycles even while it keeps a large heap frozen."""

import gc
import weakref

from kataview.ui.heap import HeapPolicy


class Node:
    pass


def make_cycle() -> weakref.ref:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_small_heaps_are_never_frozen():
    policy = HeapPolicy(threshold=100)
    policy.after_view(10)
    assert not policy.frozen and gc.get_freeze_count() == 0


def test_a_cycle_frozen_by_mistake_is_collected_at_the_next_full_collection():
    policy = HeapPolicy(threshold=100, interval=3600)
    try:
        alive = Node()
        alive.self = alive
        leaked = make_cycle()
        gc.disable()
        policy.after_view(1000)  # young collection runs first: the unreferenced cycle goes now
        assert leaked() is None
        holder = [Node()]
        holder[0].self = holder[0]
        ref = weakref.ref(holder[0])
        policy.after_view(1000)  # still referenced: survives, and gets frozen
        assert policy.frozen and gc.get_freeze_count() > 0
        holder.clear()  # becomes garbage while frozen
        gc.collect()
        assert ref() is not None, "frozen garbage is not collected by a plain collection"
        policy.interval = 0
        policy.after_view(1000)  # the periodic full collection unfreezes first
        assert ref() is None and policy.full_collections == 1
    finally:
        gc.enable()
        gc.unfreeze()


async def test_replaced_snapshots_are_freed_while_the_heap_is_frozen():
    """The view-building worker must not keep its snapshot: a frozen worker would keep it for good."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_ui_pilot import frozen_settings, started
    from ui_fixtures import classic_snapshot, classic_source

    from kataview.model.records import ClusterSnapshot
    from kataview.model.snapshot_analysis import _MEMO_SIZE
    from kataview.ui.app import make_app

    source = classic_source()
    app = make_app(frozen_settings(), source)
    app.heap = HeapPolicy(threshold=0, interval=3600)  # freeze after every view, as at 150k pods
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await started(pilot)
            for _ in range(6):
                source.push(classic_snapshot())
                await pilot.pause(0.3)
            gc.unfreeze()
            live = [obj for obj in gc.get_objects() if type(obj) is ClusterSnapshot]
            # the model memoises the analyses of the last few snapshots (one is on screen), and
            # a message may still hold one; the 6 pushes must not all stay alive
            assert len(live) <= _MEMO_SIZE + 1, f"{len(live)} snapshots alive"
    finally:
        gc.unfreeze()


def test_idle_ticks_collect_the_whole_heap_and_typing_postpones_it(monkeypatch):
    from kataview.ui import heap

    policy = HeapPolicy(threshold=0, interval=3600)
    try:
        policy.after_view(10)
        assert policy.frozen and policy.full_collections == 0
        policy.last_full -= heap.IDLE_COLLECT_EVERY_S + 1
        policy.on_tick(seconds_since_key=0.5)  # someone is typing: wait
        assert policy.full_collections == 0
        policy.on_tick(seconds_since_key=heap.IDLE_S + 1)
        assert policy.full_collections == 1 and policy.frozen
        policy.last_full -= heap.FORCE_S + 1
        policy.on_tick(seconds_since_key=0.0)  # never idle: forced at the latest
        assert policy.full_collections == 2
    finally:
        gc.unfreeze()
