"""Server-side Table output from cached row parts: byte for byte the plain rendering (tables.row +
tables.table, what the double served before the cache), invalidated when an object changes, and
with the ages (AGE, RESTARTS' "(5m ago)", an event's LAST SEEN / FIRST SEEN) computed per request."""

from __future__ import annotations

import copy
import ssl
from datetime import datetime, timedelta, timezone

import aiohttp
import msgspec
import pytest

from kataview.demo import reads, tables
from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.resources import BY_KIND
from kataview.demo.scenario import classic_objects
from kataview.demo.store import ObjectStore

NOW = datetime(2025, 1, 15, 12, 0, 0, tzinfo=timezone.utc)
KINDS = ("Pod", "Node", "RuntimeClass", "Namespace", "NetworkPolicy", "Event")
INCLUDES = (None, "Metadata", "Object", "None", "bogus")
encode = msgspec.json.Encoder().encode
decode = msgspec.json.Decoder().decode


def reference_list(target: reads.Target, page: reads.Page, output: reads.Output,
                   query: dict[str, str], now: datetime) -> bytes:
    """The double's Table list rendering before the cache (reads.render_list, table branch)."""
    include = query.get("includeObject", "Metadata")
    rows = [tables.row(target.resource, body, include, now, target.version) for _, body in page.items]
    meta: dict = {"resourceVersion": str(page.rv)}
    if page.next_key is not None:
        meta["continue"] = reads.encode_continue(page.rv, page.next_key)
        if page.remaining is not None:
            meta["remainingItemCount"] = page.remaining
    doc = tables.table(target.resource, rows, meta)
    doc["apiVersion"] = f"meta.k8s.io/{output.version}"
    return encode(doc)


def target_for(kind: str, version: str | None = None, namespace: str | None = None) -> reads.Target:
    resource = BY_KIND[kind]
    return reads.Target(resource, version or resource.versions[0], namespace, None)


def pages(store: ObjectStore, target: reads.Target, query: dict[str, str], now: datetime,
          output: reads.Output = reads.Output("table", "v1")) -> list[tuple[bytes, bytes]]:
    """(cached rendering, reference rendering) of every page of a list, following continue."""
    result, query = [], dict(query)
    while True:
        page = reads.collect(store, target, query)
        result.append((reads.render_list(store, target, page, output, query, lambda: now),
                       reference_list(target, page, output, query, now)))
        if page.next_key is None:
            return result
        query["continue"] = reads.encode_continue(page.rv, page.next_key)


def assert_same(store: ObjectStore, target: reads.Target, query: dict[str, str], now: datetime,
                output: reads.Output = reads.Output("table", "v1")) -> list[bytes]:
    rendered = pages(store, target, query, now, output)
    for cached, reference in rendered:
        assert cached == reference
    return [cached for cached, _ in rendered]


def pod_rows(store: ObjectStore, now: datetime, query: dict | None = None) -> dict[str, list]:
    data = assert_same(store, target_for("Pod"), query or {}, now)
    return {r["cells"][0]: r["cells"] for page in data for r in decode(page)["rows"]}


@pytest.mark.parametrize("kind", KINDS)
def test_cached_table_is_byte_for_byte_the_plain_rendering(kind):
    store = ObjectStore(classic_objects(NOW))
    for now in (NOW, NOW + timedelta(seconds=1), NOW + timedelta(minutes=7, seconds=3),
                NOW + timedelta(days=400), NOW - timedelta(hours=1)):
        for include in INCLUDES:
            query = {} if include is None else {"includeObject": include}
            for version in BY_KIND[kind].versions:
                for table_version in ("v1", "v1beta1"):
                    output = reads.Output("table", table_version)
                    target = target_for(kind, version)
                    assert_same(store, target, query, now, output)  # cold, then warm
                    assert_same(store, target, query, now, output)
                    assert_same(store, target, {**query, "limit": "2"}, now, output)
    assert store.derived_cache(kind)  # the parts are cached per object


def test_paged_namespaced_and_selected_lists_match():
    store = ObjectStore(classic_objects(NOW))
    assert_same(store, target_for("Pod", namespace="default"), {"limit": "1"}, NOW)
    assert_same(store, target_for("Pod"), {"limit": "3", "labelSelector": "app"}, NOW)
    assert_same(store, target_for("Pod"), {"fieldSelector": "status.phase=Running"}, NOW)
    assert len(assert_same(store, target_for("Pod"), {"limit": "4"}, NOW)) == 4


def _restarted(store: ObjectStore) -> dict:
    return next(p for p in store.list("Pod")
                if any(c.get("restartCount") for c in p["status"].get("containerStatuses") or ()))


def test_a_changed_pod_shows_its_new_status_and_restarts():
    store = ObjectStore(classic_objects(NOW))
    pod = _restarted(store)
    name = pod["metadata"]["name"]
    before = pod_rows(store, NOW)[name]
    assert before[2] == "Running" and before[3].startswith("3 (")
    key = f"{pod['metadata']['namespace']}/{name}"
    cached = store.derived_cache("Pod")[key]

    pod["status"]["containerStatuses"][0]["restartCount"] += 2
    pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["finishedAt"] = \
        (NOW - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pod["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
    pod["status"]["containerStatuses"][0]["ready"] = False
    store.apply(pod)
    assert key not in store.derived_cache("Pod")  # the change dropped the cached parts
    after = pod_rows(store, NOW)[name]
    assert after[1:4] == [f"{int(before[1][0]) - 1}/{before[1].split('/')[1]}",
                          "CrashLoopBackOff", "5 (30s ago)"]
    assert store.derived_cache("Pod")[key] is not cached

    # an owned apply (how the demo's motion changes pods: {**body, ...}) is seen too
    body = store.body(BY_KIND["Pod"], key)
    store.apply({"kind": "Pod", **body, "metadata": {**body["metadata"], "deletionTimestamp":
                                                     "2025-01-15T11:59:00Z"}}, owned=True)
    assert pod_rows(store, NOW)[name][2] == "Terminating"
    store.delete("Pod", pod["metadata"]["namespace"], name)
    assert name not in pod_rows(store, NOW) and key not in store.derived_cache("Pod")


def test_a_continue_token_serves_the_old_state_uncached():
    store = ObjectStore(classic_objects(NOW))
    target = target_for("Pod")
    first = reads.collect(store, target, {"limit": "1"})
    token = reads.encode_continue(first.rv, first.next_key)
    first_name = first.items[0][1]["metadata"]["name"]
    old = pod_rows(store, NOW)  # warms the cache with the current bodies
    for pod in store.list("Pod"):
        if pod["metadata"]["name"] != first_name:
            pod["status"]["phase"] = "Failed"
            pod["status"].pop("containerStatuses", None)
            store.apply(pod)
    rest = assert_same(store, target, {"limit": "500", "continue": token}, NOW)
    assert {r["cells"][0]: r["cells"] for r in decode(rest[0])["rows"]} == {
        n: cells for n, cells in old.items() if n != first_name}
    now = pod_rows(store, NOW)
    assert all(cells[2] == "Failed" for n, cells in now.items() if n != first_name)
    assert now[first_name] == old[first_name]


def test_ages_are_computed_per_request_not_cached():
    store = ObjectStore(classic_objects(NOW))
    name = _restarted(store)["metadata"]["name"]
    early = pod_rows(store, NOW)
    later = pod_rows(store, NOW + timedelta(days=3, minutes=1))
    assert early[name][3] == "3 (42m ago)" and later[name][3] == "3 (3d ago)"
    assert all(early[n][4] != later[n][4] for n in early)  # AGE
    assert all(early[n][:4] + early[n][5:] == later[n][:4] + later[n][5:]
               for n in early if not early[n][3].endswith("ago)"))
    events = [decode(p) for p in assert_same(store, target_for("Event"), {}, NOW)]
    events_later = [decode(p) for p in assert_same(store, target_for("Event"), {},
                                                   NOW + timedelta(days=3))]
    for row, row_later in zip(events[0]["rows"], events_later[0]["rows"]):
        assert row["cells"][0] != row_later["cells"][0] and row["cells"][7] != row_later["cells"][7]
        assert row["cells"][1:7] == row_later["cells"][1:7]


def test_a_cell_that_looks_like_a_placeholder_falls_back_to_the_plain_rendering():
    objects = classic_objects(NOW)
    event = next(o for o in objects if o["kind"] == "Event")
    deferred = tables.Deferred()  # what the parts hold where an age goes: the tenth (#9) is more
    placeholder = [deferred.defer(NOW) for _ in range(10)][-1]  # ages than an event row has
    event["message"] = f"odd {placeholder} text"
    store = ObjectStore(objects)
    odd = next(e for e in store.list("Event") if e["message"].startswith("odd"))
    assert tables.row_parts(BY_KIND["Event"], odd) is None
    for include in INCLUDES:
        query = {} if include is None else {"includeObject": include}
        assert_same(store, target_for("Event"), query, NOW)


# -- over HTTP: list, get, watch ------------------------------------------------------------


@pytest.fixture
async def api():
    server = ApiServerDouble(classic_objects(NOW), history=50)
    server.clock = lambda: NOW
    async with server:
        yield server


@pytest.fixture
async def session(api):
    ctx = ssl.create_default_context(cafile=str(api.ca_path))
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {api.token}"},
                                     connector=aiohttp.TCPConnector(ssl=ctx)) as s:
        yield s


TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


async def test_http_get_one_and_watch_match_the_plain_rendering(api, session):
    pod = _restarted(api.store)
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    resource = BY_KIND["Pod"]
    for include in INCLUDES:
        params = {} if include is None else {"includeObject": include}
        async with session.get(f"{api.url}/api/v1/namespaces/{ns}/pods/{name}", params=params,
                               headers={"Accept": TABLE}) as r:
            got = await r.read()
        body = api.store.body(resource, f"{ns}/{name}")
        doc = tables.table(resource, [tables.row(resource, body, include or "Metadata", NOW, "v1")],
                           {"resourceVersion": body["metadata"]["resourceVersion"]})
        assert got == encode(doc)

    rv = api.store.resource_version
    for count in (4, 5):
        changed = copy.deepcopy(pod)
        changed["status"]["containerStatuses"][0]["restartCount"] = count
        api.store.apply(changed)
    deleted = api.store.delete("Pod", ns, name)
    async with session.get(f"{api.url}/api/v1/pods", headers={"Accept": TABLE},
                           params={"watch": "true", "resourceVersion": str(rv),
                                   "timeoutSeconds": "1"}) as r:
        lines = [line async for line in r.content]
    assert len(lines) == 3
    watcher, changes, _ = api.store.subscribe(resource, rv)  # the changes a watch from rv gets
    api.store.unsubscribe(watcher)
    states = [change.obj for change in changes]
    for i, (line, obj) in enumerate(zip(lines, states)):
        obj = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        table = tables.table(resource, [tables.row(resource, obj, "Metadata", NOW, "v1")],
                             {"resourceVersion": obj["metadata"]["resourceVersion"]},
                             columns=i == 0)
        kind = ("MODIFIED", "MODIFIED", "DELETED")[i]
        assert line == b'{"type":"' + kind.encode() + b'","object":' + encode(table) + b"}\n"
    assert [decode(x)["object"]["rows"][0]["cells"][3] for x in lines] == [
        "4 (42m ago)", "5 (42m ago)", "5 (42m ago)"]
    assert deleted is not None
