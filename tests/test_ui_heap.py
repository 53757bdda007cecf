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


def test_cycles_made_after_the_freeze_are_collected_as_usual():
    """The leak this policy exists to avoid: views after the first must not freeze again, or
    every cycle on screen at that moment (Textual's strips) dies frozen."""
    policy = HeapPolicy(threshold=100)
    policy.start()
    try:
        policy.after_view(1000)
        assert policy.frozen and gc.get_freeze_count() > 0
        frozen = gc.get_freeze_count()
        holder = [Node()]
        holder[0].self = holder[0]
        ref = weakref.ref(holder[0])
        policy.after_view(1000)  # a later view: no freeze unless the collector asked
        assert gc.get_freeze_count() == frozen and policy.refreezes == 0
        holder.clear()
        gc.collect(1)  # not even a full collection is needed
        assert ref() is None
    finally:
        policy.stop()
        gc.unfreeze()


def test_a_slow_full_collection_makes_the_next_view_freeze_again():
    policy = HeapPolicy(threshold=100, slow_full_s=0.0, min_refreeze_s=0.0)
    policy.start()
    try:
        policy.after_view(1000)
        assert not policy.refreeze_due
        gc.collect()  # the collector's own full collection, slower than 0 s
        assert policy.refreeze_due
        before = gc.get_freeze_count()
        keep = [Node() for _ in range(100)]
        policy.after_view(1000)
        assert policy.refreezes == 1 and not policy.refreeze_due
        assert gc.get_freeze_count() >= before + len(keep)
    finally:
        policy.stop()
        gc.unfreeze()


def test_refreezes_are_rate_limited_and_the_callback_goes_with_stop():
    policy = HeapPolicy(threshold=100, slow_full_s=0.0, min_refreeze_s=3600)
    callbacks = list(gc.callbacks)
    policy.start()
    try:
        assert len(gc.callbacks) == len(callbacks) + 1
        policy.after_view(1000)
        gc.collect()
        policy.after_view(1000)
        assert policy.refreeze_due and policy.refreezes == 0  # too soon after the last freeze
    finally:
        policy.stop()
        gc.unfreeze()
    assert gc.callbacks == callbacks


def test_a_cycle_frozen_by_mistake_is_collected_by_the_idle_full_collection(monkeypatch):
    from kataview.ui import heap

    policy = HeapPolicy(threshold=100)
    try:
        holder = [Node()]
        holder[0].self = holder[0]
        ref = weakref.ref(holder[0])
        policy.after_view(1000)  # alive: frozen with the heap
        holder.clear()  # becomes garbage while frozen
        gc.collect()
        assert ref() is not None, "frozen garbage is not collected by a plain collection"
        policy.last_full -= heap.IDLE_COLLECT_EVERY_S + 1
        policy.on_tick(seconds_since_key=0.5)  # someone is typing: wait
        assert ref() is not None and policy.full_collections == 0
        policy.on_tick(seconds_since_key=heap.IDLE_S + 1)
        assert ref() is None and policy.full_collections == 1 and policy.frozen
        policy.last_full -= heap.IDLE_COLLECT_EVERY_S + 1
        policy.on_tick(seconds_since_key=heap.IDLE_S + 1)  # nothing frozen since: nothing to do
        assert policy.full_collections == 1
    finally:
        gc.unfreeze()


async def test_replaced_snapshots_are_freed_while_the_heap_is_frozen():
    """The view-building worker must not keep its snapshot: a frozen worker would keep it for good."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_ui_pilot import frozen_settings, started
    from ui_fixtures import classic_snapshot, classic_source

    from kataview.model.records import ClusterSnapshot
    from kataview.model.analysis import MEMO_SIZE
    from kataview.ui.app import make_app

    source = classic_source()
    app = make_app(frozen_settings(), source)
    app.heap = HeapPolicy(threshold=0, slow_full_s=0.0, min_refreeze_s=0.0)  # freeze often
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
            assert len(live) <= MEMO_SIZE + 1, f"{len(live)} snapshots alive"
    finally:
        gc.unfreeze()
