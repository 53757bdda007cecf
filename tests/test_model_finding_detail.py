"""model.finding_detail: a finding's full text split into what is wrong and what to do, the
check's explanation, and the objects involved, on the demo scenario (issue 16.4c)."""

from __future__ import annotations

from kataview.model.analysis import analyze
from kataview.model.finding_detail import finding_detail
from kataview.sources.static import classic_demo_snapshot
from ui_fixtures import FROZEN_NOW, classic_snapshot


def test_every_finding_keeps_its_whole_text_and_has_advice_and_a_check():
    for snapshot in (classic_demo_snapshot(FROZEN_NOW), classic_snapshot()):
        found = analyze(snapshot)
        for finding in found.findings():
            detail = finding_detail(finding, found)
            assert detail.advice and detail.check
            rebuilt = f"{detail.statement[:-1]}; {detail.advice[0].lower()}{detail.advice[1:]}"
            assert rebuilt == finding.message
            first = detail.objects[0]
            assert (first.kind, first.namespace, first.name) == (finding.kind, finding.namespace, finding.name)


def test_objects_come_from_the_snapshot():
    snapshot = classic_demo_snapshot(FROZEN_NOW)
    found = analyze(snapshot)
    by_code = {finding.code: finding for finding in found.findings()}
    # a missing RuntimeClass: the pods that ask for it, openable by uid
    missing = finding_detail(by_code["KV004"], found)
    askers = {pod.uid for pod in snapshot.pods.values() if pod.runtime_class_name == by_code["KV004"].name}
    assert askers and {item.key for item in missing.objects if item.kind == "Pod"} == askers
    assert missing.objects[0].key == ""  # it does not exist: nothing to open
    # no nodeSelector: the RuntimeClass, the reachable nodes without its handler, those with it
    loose = by_code["KV002"]
    detail = finding_detail(loose, found)
    fits = found.runtime_class_nodes(snapshot.runtime_classes[loose.name])
    lacking = {fit.node for fit in fits if fit.schedulable and not fit.has_handler}
    having = {fit.node for fit in fits if fit.has_handler}
    assert {item.name for item in detail.objects if item.role.startswith("lacks")} == lacking
    assert {item.name for item in detail.objects if item.role.startswith("has")} == having
    assert all(item.key == item.name for item in detail.objects if item.kind == "Node")
    # a stuck pod: the pod, its node, its RuntimeClass
    stuck = finding_detail(by_code["KV003"], found)
    pod = next(p for p in snapshot.pods.values() if p.name == by_code["KV003"].name)
    assert [(item.kind, item.key) for item in stuck.objects] == [
        ("Pod", pod.uid), ("Node", pod.node_name), ("RuntimeClass", pod.runtime_class_name)]
