"""kataview.model.changes: the change log an informer keeps, and pod diffs taken from it
agreeing with a full comparison of the two mappings."""

from __future__ import annotations

import dataclasses
import random

from kataview.demo.generator import generated_objects
from kataview.model.changes import ChangeLog, Store, pod_changes
from kataview.sources.static import snapshot_from_objects


def test_the_log_gives_the_keys_between_two_versions():
    log = ChangeLog(keep=4)
    for key in "abc":
        log.record(key)
    assert log.version == 3
    assert log.since(0, 3) == ["a", "b", "c"] and log.since(1, 2) == ["b"] and log.since(3, 3) == []
    assert log.since(2, 1) is None and log.since(0, 4) is None  # backwards; not there yet
    for key in "defgh":
        log.record(key)
    assert log.version == 8
    assert log.since(0, 8) is None, "trimmed: the log no longer reaches back to 0"
    assert log.since(4, 8) == ["e", "f", "g", "h"]


class FakeInformer:
    """The informer's copy-on-write protocol (kataview.kube.informer.Informer), small."""

    def __init__(self, pods: dict) -> None:
        self.store, self.log, self.frozen = Store(pods), ChangeLog(keep=200), False

    def freeze(self) -> Store:
        self.frozen = True
        return self.store.stamp(self.log)

    def write(self, uid: str, pod) -> None:
        if self.frozen:
            self.store, self.frozen = Store(self.store), False
        if pod is None:
            self.store.pop(uid, None)
        else:
            self.store[uid] = pod
        self.log.record(uid)


def as_set(changes) -> set:
    return {(uid, id(old), id(new)) for uid, old, new in changes}


def test_diffs_from_the_log_equal_full_comparisons():
    snapshot = snapshot_from_objects(generated_objects(10, 300, seed=5))
    informer = FakeInformer(dict(snapshot.pods))
    rng = random.Random(11)
    frozen = [informer.freeze()]
    for _ in range(60):
        for _ in range(rng.choice((0, 1, 4, 30))):
            uid = rng.choice(list(informer.store))
            move = rng.randrange(3)
            if move == 0:
                informer.write(uid, None)
            elif move == 1:
                informer.write(uid, dataclasses.replace(informer.store[uid], phase="Failed"))
            else:
                informer.write(uid, informer.store[uid])  # rewritten, same record: no change
                informer.write(f"new-{rng.randrange(10**9)}", informer.store[uid])
        frozen.append(informer.freeze())
    used_log = 0
    for _ in range(200):
        i, j = sorted(rng.sample(range(len(frozen)), 2))
        before = dataclasses.replace(snapshot, pods=frozen[i])
        after = dataclasses.replace(snapshot, pods=frozen[j])
        plain = (dataclasses.replace(snapshot, pods=dict(frozen[i])),
                 dataclasses.replace(snapshot, pods=dict(frozen[j])))
        from_log, compared = pod_changes(before, after, 10**6), pod_changes(*plain, 10**6)
        assert as_set(from_log) == as_set(compared), (i, j)
        used_log += frozen[j].log.since(frozen[i].version, frozen[j].version) is not None
    assert 50 < used_log < 200, used_log  # both ways: from the log, and compared (trimmed log)


def test_the_log_is_trusted_and_only_for_stamped_stores_of_one_log():
    snapshot = snapshot_from_objects(generated_objects(5, 50, seed=2))
    informer = FakeInformer(dict(snapshot.pods))
    first = informer.freeze()
    uid = next(iter(first))
    informer.write(uid, dataclasses.replace(first[uid], phase="Failed"))
    second = informer.freeze()
    # a change the log was not told about (which the informer never does) goes unseen: proof
    # that the diff came from the log, not from comparing every pod
    other = list(second)[1]
    dict.__setitem__(second, other, dataclasses.replace(second[other], phase="Unknown"))
    before, after = (dataclasses.replace(snapshot, pods=first), dataclasses.replace(snapshot, pods=second))
    assert [change[0] for change in pod_changes(before, after, 100)] == [uid]
    # an edited snapshot (unstamped mapping) or another log (a relist) is compared in full
    edited = dataclasses.replace(snapshot, pods=dict(second))
    assert {change[0] for change in pod_changes(before, edited, 100)} == {uid, other}
    relisted = Store(second).stamp(ChangeLog())
    assert {change[0] for change in pod_changes(
        before, dataclasses.replace(snapshot, pods=relisted), 100)} == {uid, other}
    # more changes than the limit: None, the caller recomputes from scratch
    assert pod_changes(before, edited, 1) is None
