"""The API double held to the real kube-apiserver (issue 14.4): both serve the same scenario and
get the same requests (kataview's and kubectl's); status codes, Status bodies and watch event
sequences must agree. Where they differ on purpose, DELIBERATE_DIFFERENCES says so and the
comparison leaves that part out; that table is the only place such differences are listed.

One control plane of this module's own: the last test compacts etcd and restarts the apiserver.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from apiwire import TABLE_ACCEPT, Wire

pytestmark = pytest.mark.integration

# What the double does differently from kube-apiserver v1.37.2, on purpose (and why).
DELIBERATE_DIFFERENCES = {
    "managedFields": "the double keeps none (kataview and kubectl -o json never show them)",
    "generation": "the real server sets metadata.generation on pods (1.33+); the double keeps "
                  "the scenario's objects as given (server-made, like uid)",
    "bookmark frequency": "the real watch cache sends a BOOKMARK about once a minute and 2 s "
                          "before timeoutSeconds, and only when the resourceVersion moved; the "
                          "double every bookmark_interval (1 s) so tests need not wait minutes",
    "bookmark body": "the real server's BOOKMARK object is an empty typed object (e.g. a Pod "
                     "with spec.containers null and status {}); the double sends kind, "
                     "apiVersion and metadata only",
    "selector parse errors": "a malformed labelSelector is a 400 BadRequest on both; the "
                             "message names the parse failure in different words",
    "invalid continue token message": "400 BadRequest on both, the detail after 'invalid "
                                      "continue token: ' differs (Go's JSON decoder error)",
    "history": "the real watch cache serves watches and continue tokens from before an etcd "
               "compaction until it is rebuilt (apiserver restart); the double forgets its "
               "history at compact(). Compared here after compaction + restart",
    "old watch on a fresh cache": "the real server replays old resourceVersions its cache "
                                  "still holds; the double's history starts at its load",
}
SERVER_MADE = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")
TOO_OLD = re.compile(r"^too old resource version: \d+ \(\d+\)$")
NS = "protocol-test"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """{"real": Wire, "double": Wire} with the same scenario, plus the control plane and double."""
    from kataview.demo.apiserver import serve_in_thread
    from realbuilds import control_plane_binaries
    from realparts.controlplane import start_control_plane
    from realparts.scenario_load import load_scenario

    with start_control_plane(control_plane_binaries()) as plane:
        loaded = load_scenario(plane)
        users = {token: user for user, token in plane.tokens.items()}
        with serve_in_thread(loaded.objects, users=users) as double:
            for user in plane.tokens:
                if user != "admin":
                    double.rbac.load_rules(user, [])  # no binding: nothing allowed
            plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
            double.store.apply({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": NS}})
            yield {"real": Wire(plane.url, plane.admin_token, plane.ca_path),
                   "double": Wire(double.url, plane.admin_token, double.ca_path),
                   "plane": plane, "double_server": double}


def both(servers) -> dict[str, Wire]:
    return {"real": servers["real"], "double": servers["double"]}


def each(servers, method: str, path: str, **kwargs) -> dict[str, tuple[int, object]]:
    return {name: wire.call(method, path, **kwargs)[:2] for name, wire in both(servers).items()}


def without_server_made(obj):
    if isinstance(obj, list):
        return [without_server_made(item) for item in obj]
    if not isinstance(obj, dict):
        return obj
    return {key: without_server_made(value) for key, value in obj.items() if key not in SERVER_MADE}


def names(body: dict) -> list[str]:
    return [item["metadata"]["name"] for item in body["items"]]


def continue_start(token: str) -> str:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["start"]


# -- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/namespaces/default/pods/nope", "/api/v1/nodes/nope",
                                  "/apis/node.k8s.io/v1/runtimeclasses/nope"])
def test_not_found_is_the_same_status(servers, path):
    got = each(servers, "GET", path)
    assert got["real"][0] == 404
    assert got["double"] == got["real"]


@pytest.mark.parametrize("path", ["/api/v1/pods", "/api/v1/namespaces/default/pods",
                                  "/api/v1/namespaces/default/pods/x", "/api/v1/nodes",
                                  "/apis/node.k8s.io/v1/runtimeclasses", "/api/v1/pods?watch=true"])
def test_forbidden_is_the_same_status(servers, path):
    token = servers["plane"].tokens["viewer"]
    got = each(servers, "GET", path, token=token)
    assert got["real"][0] == 403
    assert got["double"] == got["real"]


def test_unauthorized_is_the_same_status(servers):
    got = each(servers, "GET", "/api/v1/pods", token="not-a-token")
    assert got["real"][0] == 401
    assert got["double"] == got["real"]


# -- lists -----------------------------------------------------------------------------------

def walk_pages(wire: Wire, path: str, limit: int) -> list[dict]:
    pages, token = [], None
    while True:
        query = f"limit={limit}" + (f"&continue={token}" if token else "")
        page = wire.get(f"{path}?{query}")
        pages.append(page)
        token = page["metadata"].get("continue")
        if not token:
            return pages


@pytest.mark.parametrize("path,limit", [("/api/v1/pods", 5), ("/api/v1/pods", 1),
                                        ("/api/v1/namespaces/sandboxed/pods", 2),
                                        ("/api/v1/nodes", 3)])
def test_pages_are_the_same(servers, path, limit):
    walked = {name: walk_pages(wire, path, limit) for name, wire in both(servers).items()}
    shape = {name: [(names(p), p["metadata"].get("remainingItemCount"), "continue" in p["metadata"])
                    for p in pages] for name, pages in walked.items()}
    assert shape["double"] == shape["real"]
    for pages in walked.values():  # every page is of the first page's resourceVersion
        assert len({p["metadata"]["resourceVersion"] for p in pages}) == 1
    starts = {name: [continue_start(p["metadata"]["continue"]) for p in pages[:-1]]
              for name, pages in walked.items()}
    assert starts["double"] == starts["real"]  # the token's key, relative to the resource


def test_a_bad_continue_token_is_a_bad_request(servers):
    got = each(servers, "GET", "/api/v1/pods?limit=2&continue=garbage")
    for status, body in got.values():
        assert status == 400 and body["reason"] == "BadRequest"
        assert body["message"].startswith("invalid continue token: ")


SELECTORS = ["labelSelector=app%3Dnginx-trusted", "labelSelector=app%21%3Dnginx-trusted",
             "labelSelector=app+in+%28nginx-untrusted%2Cnginx-trusted%29", "labelSelector=k8s-app",
             "labelSelector=%21k8s-app", "fieldSelector=spec.nodeName%3Dk8s-worker",
             "fieldSelector=status.phase%3DRunning,spec.nodeName%21%3Dk8s-worker-kata",
             "fieldSelector=metadata.namespace%3Dsandboxed",
             "fieldSelector=status.phase%3DPending&labelSelector=app"]


@pytest.mark.parametrize("query", SELECTORS)
def test_selectors_pick_the_same_pods(servers, query):
    got = {name: sorted(names(wire.get(f"/api/v1/pods?{query}"))) for name, wire in both(servers).items()}
    assert got["double"] == got["real"]


@pytest.mark.parametrize("path", ["/api/v1/nodes?fieldSelector=metadata.name%3Dk8s-worker",
                                  "/api/v1/nodes?labelSelector=node-role.kubernetes.io%2Fcontrol-plane",
                                  "/apis/node.k8s.io/v1/runtimeclasses?fieldSelector=metadata.name%3Dgvisor"])
def test_selectors_pick_the_same_cluster_objects(servers, path):
    got = {name: names(wire.get(path)) for name, wire in both(servers).items()}
    assert got["real"] and got["double"] == got["real"]


def test_an_unsupported_field_selector_is_the_same_bad_request(servers):
    got = each(servers, "GET", "/api/v1/pods?fieldSelector=spec.bogus%3Dx")
    assert got["real"][0] == 400
    assert got["double"] == got["real"]


def test_a_malformed_label_selector_is_a_bad_request(servers):
    for status, body in each(servers, "GET", "/api/v1/pods?labelSelector=a%3D%3D%3Db").values():
        assert status == 400 and body["reason"] == "BadRequest"
        assert body["message"].startswith("unable to parse requirement: ")


# -- kubectl's Table -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/pods?limit=500", "/api/v1/nodes?limit=500",
                                  "/apis/node.k8s.io/v1/runtimeclasses?limit=500",
                                  "/api/v1/namespaces/sandboxed/pods/gvisor-sandbox"])
def test_tables_are_the_same(servers, path):
    got = {name: wire.call("GET", path, accept=TABLE_ACCEPT) for name, wire in both(servers).items()}
    (real_status, real, real_type), (status, double, content_type) = got["real"], got["double"]
    assert real_status == status == 200 and content_type == real_type
    assert double["columnDefinitions"] == real["columnDefinitions"]
    age = [c["name"] for c in real["columnDefinitions"]].index("Age")
    cells = {name: [row["cells"][:age] + row["cells"][age + 1:] for row in table["rows"]]
             for name, table in (("real", real), ("double", double))}
    assert cells["double"] == cells["real"]
    objects = {name: [without_server_made(row["object"]) for row in table["rows"]]
               for name, table in (("real", real), ("double", double))}
    assert objects["double"] == objects["real"]
    assert {k for k in double if k != "metadata"} == {k for k in real if k != "metadata"}


# -- watches ---------------------------------------------------------------------------------

def watch_while(wire: Wire, path: str, change, until, seconds: float = 20) -> list[dict]:
    """Open a watch, make `change()` once it is open, return the events read."""
    opened, result = threading.Event(), {}

    def run() -> None:
        result["got"] = wire.watch(path, until, seconds, on_open=opened.set)

    reader = threading.Thread(target=run, daemon=True)
    reader.start()
    assert opened.wait(10), "the watch did not open"
    time.sleep(0.3)  # the server registers the watcher after the 200
    change()
    reader.join(seconds + 5)
    status, events = result["got"]
    assert status == 200, events
    return events


def pod_body(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": "probe"}},
            "spec": {"nodeName": "k8s-worker", "containers": [{"name": "c", "image": "busybox"}]}}


def pod_lifecycle(wire: Wire, name: str):
    def change() -> None:
        base = f"/api/v1/namespaces/{NS}/pods"
        assert wire.call("POST", base, pod_body(name))[0] == 201
        patch = {"metadata": {"labels": {"phase": "two"}}}
        assert wire.call("PATCH", f"{base}/{name}", patch,
                         content_type="application/merge-patch+json")[0] == 200
        assert wire.call("DELETE", f"{base}/{name}?gracePeriodSeconds=0")[0] == 200
    return change


def summary(events: list[dict]) -> list[tuple[str, str | None]]:
    return [(e["type"], e["object"]["metadata"].get("name")) for e in events if e["type"] != "BOOKMARK"]


SELECTOR_IDS = {"": 0, "&labelSelector=app%3Dprobe": 1, "&labelSelector=phase%3Dtwo": 2,
                "&fieldSelector=metadata.name%3Dnone": 3}


def on_both(servers, run) -> dict:
    """run(name, wire) against both servers at once (watches wait for their timeout)."""
    with ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(run, name, wire) for name, wire in both(servers).items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("selector", list(SELECTOR_IDS))
def test_watch_from_a_resource_version_sees_the_same_events(servers, selector):
    def run(name: str, wire: Wire) -> list[tuple[str, str]]:
        rv = wire.get(f"/api/v1/namespaces/{NS}/pods")["metadata"]["resourceVersion"]
        pod = f"probe-{SELECTOR_IDS[selector]}-{name}"
        events = watch_while(wire, f"/api/v1/namespaces/{NS}/pods?watch=true&resourceVersion={rv}"
                                   f"&allowWatchBookmarks=true&timeoutSeconds=4{selector}",
                             pod_lifecycle(wire, pod), until=lambda e: False, seconds=8)
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert rvs == sorted(rvs) and all(r > int(rv) for r in rvs), name
        return [(kind, obj_name.replace(pod, "probe")) for kind, obj_name in summary(events)]

    got = on_both(servers, run)
    assert selector.endswith("none") or got["real"][-1] == ("DELETED", "probe")
    assert got["double"] == got["real"]


def test_watch_list_sends_the_initial_events_then_the_end_bookmark(servers):
    path = ("/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
            "&allowWatchBookmarks=true&timeoutSeconds=10")
    until_end = lambda events: any(e["type"] == "BOOKMARK" for e in events)  # noqa: E731
    got = {name: wire.watch(path, until_end)[1] for name, wire in both(servers).items()}
    assert summary(got["double"]) == summary(got["real"])
    assert all(kind == "ADDED" for kind, _ in summary(got["real"]))
    for name, events in got.items():
        bookmark = events[-1]
        assert bookmark["type"] == "BOOKMARK"
        meta = bookmark["object"]["metadata"]
        assert meta["annotations"] == {"k8s.io/initial-events-end": "true"}
        assert set(meta) == {"resourceVersion", "annotations"}, name
        assert bookmark["object"]["kind"] == "Pod" and bookmark["object"]["apiVersion"] == "v1"


def test_a_bookmark_carries_the_resource_version_reached(servers):
    """Both send BOOKMARKs (when, differs: see DELIBERATE_DIFFERENCES) of the latest RV and
    never one lower than an event already sent."""
    def run(name: str, wire: Wire) -> None:
        rv = wire.get("/api/v1/pods?limit=1")["metadata"]["resourceVersion"]
        events = watch_while(wire, f"/api/v1/pods?watch=true&resourceVersion={rv}"
                                   "&allowWatchBookmarks=true&timeoutSeconds=5",
                             pod_lifecycle(wire, f"bookmarked-{name}"), until=lambda e: False,
                             seconds=10)
        marks = [e for e in events if e["type"] == "BOOKMARK"]
        assert marks, f"{name}: no bookmark before the timeout"
        seen = 0
        for event in events:
            value = int(event["object"]["metadata"]["resourceVersion"])
            assert value >= seen, name
            seen = value
        assert set(marks[-1]["object"]["metadata"]) == {"resourceVersion"}, name

    on_both(servers, run)


WATCH_LIST = ("/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
              "&allowWatchBookmarks=true&timeoutSeconds=5")


@pytest.mark.parametrize("path", [
    "/api/v1/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&timeoutSeconds=5",
    "/api/v1/pods?watch=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=5",
    "/api/v1/pods?sendInitialEvents=true",
], ids=["without NotOlderThan", "match without sendInitialEvents", "on a list"])
def test_watch_list_parameters_are_refused_alike(servers, path):
    got = each(servers, "GET", path)
    assert got["real"][0] == 422, got["real"]
    assert got["double"] == got["real"]


def test_with_the_watch_list_gate_off_both_refuse_the_watch_list_alike(servers):
    """What kataview falls back to pages on: kube-apiserver with --feature-gates=WatchList=false
    (on by default in 1.37) and the double with watch_list off."""
    plane, double = servers["plane"], servers["double_server"]
    gate = "--feature-gates=WatchList=false"
    plane.apiserver_args.append(gate)
    double.watch_list = False
    try:
        plane.restart_apiserver()
        got = each(servers, "GET", WATCH_LIST)
    finally:
        plane.apiserver_args.remove(gate)
        double.watch_list = True
        plane.restart_apiserver()
    assert got["real"][0] == 422 and "WatchList feature gate" in got["real"][1]["message"], got
    assert got["double"] == got["real"]


# -- after compaction (last: restarts the apiserver) -----------------------------------------

def compact_etcd(plane) -> int:
    """Compact etcd at its current revision through its v3 HTTP gateway."""
    def post(path: str, body: dict) -> dict:
        request = urllib.request.Request(plane.etcd_url + path, json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    revision = int(post("/v3/kv/range", {"key": base64.b64encode(b"/").decode()})["header"]["revision"])
    post("/v3/kv/compaction", {"revision": revision, "physical": True})
    return revision


def test_after_compaction_old_tokens_and_watches_get_410(servers):
    plane, double = servers["plane"], servers["double_server"]
    first = {name: wire.get("/api/v1/pods?limit=3") for name, wire in both(servers).items()}
    for name, wire in both(servers).items():  # move past the first page's resourceVersion
        assert wire.call("POST", f"/api/v1/namespaces/{NS}/pods", pod_body(f"after-{name}"))[0] == 201
    compact_etcd(plane)
    plane.restart_apiserver()  # the watch cache would still serve its own history
    double.store.compact()
    gone = {}
    for name, wire in both(servers).items():
        token = first[name]["metadata"]["continue"]
        status, body, _ = wire.call("GET", f"/api/v1/pods?limit=3&continue={token}")
        assert status == 410, (name, body)
        assert body["metadata"].pop("continue")  # the token to go on inconsistently
        gone[name] = body
        rv = first[name]["metadata"]["resourceVersion"]
        status, events = wire.watch(f"/api/v1/pods?watch=true&resourceVersion={rv}", seconds=10)
        assert status == 200 and len(events) == 1 and events[0]["type"] == "ERROR", (name, events)
        error = events[0]["object"]
        assert TOO_OLD.match(error.pop("message")), (name, error)
        gone[f"{name} watch"] = error
    assert gone["double"] == gone["real"]
    assert gone["double watch"] == gone["real watch"] == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "reason": "Expired", "code": 410}
