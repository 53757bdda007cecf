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
