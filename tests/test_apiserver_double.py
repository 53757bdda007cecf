"""The API server double against a real HTTP client (aiohttp), over TLS on loopback."""

from __future__ import annotations

import asyncio
import copy
import json
import ssl
import time
from datetime import datetime, timezone

import aiohttp
import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.scenario import classic_objects

NOW = datetime(2025, 1, 15, 12, 0, 0, tzinfo=timezone.utc)
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


class Client:
    def __init__(self, api: ApiServerDouble, token: str | None = "default"):
        self.api = api
        ssl_ctx = ssl.create_default_context(cafile=str(api.ca_path)) if api.ca_path else None
        headers = {} if token is None else {"Authorization": f"Bearer {api.token if token == 'default' else token}"}
        self.session = aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(ssl=ssl_ctx))

    async def get(self, path: str, params: dict | None = None, accept: str | None = None):
        headers = {"Accept": accept} if accept else {}
        async with self.session.get(self.api.url + path, params=params or {}, headers=headers) as r:
            return r.status, await r.json(content_type=None), r.headers

    async def send(self, method: str, path: str, body, content_type="application/json", params=None):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        async with self.session.request(method, self.api.url + path, data=data, params=params or {},
                                        headers={"Content-Type": content_type}) as r:
            return r.status, await r.json(content_type=None)

    async def watch(self, path: str, params: dict, accept: str | None = None, limit: int = 1000) -> list[dict]:
        headers = {"Accept": accept} if accept else {}
        events = []
        async with self.session.get(self.api.url + path, params={"watch": "true", **params},
                                    headers=headers, timeout=aiohttp.ClientTimeout(total=15)) as r:
            assert r.status == 200
            async for line in r.content:
                events.append(json.loads(line))
                if len(events) >= limit:
                    break
        return events

    async def close(self):
        await self.session.close()


@pytest.fixture
async def api():
    server = ApiServerDouble(classic_objects(NOW), history=50)
    server.clock = lambda: NOW
    async with server:
        yield server


@pytest.fixture
async def client(api):
    c = Client(api)
    yield c
    await c.close()


def names(items):
    return [i["metadata"]["name"] for i in items]


async def test_missing_or_bad_token_is_401_status(api):
    for token in (None, "wrong"):
        c = Client(api, token)
        status, body, _ = await c.get("/api/v1/pods")
        await c.close()
        assert status == 401
        assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert api.requests[-1].user == "system:anonymous" and api.requests[-1].status == 401


async def test_list_shape_and_single_get(client, api):
    status, body, _ = await client.get("/api/v1/namespaces/sandboxed/pods")
    assert status == 200 and body["kind"] == "PodList" and body["apiVersion"] == "v1"
    assert body["metadata"]["resourceVersion"] == str(api.store.resource_version)
    assert all("kind" not in item and "apiVersion" not in item for item in body["items"])
    assert all(i["metadata"]["namespace"] == "sandboxed" for i in body["items"])
    name = body["items"][0]["metadata"]["name"]
    status, pod, _ = await client.get(f"/api/v1/namespaces/sandboxed/pods/{name}")
    assert status == 200 and pod["kind"] == "Pod" and pod["apiVersion"] == "v1"
    assert pod["metadata"]["uid"] and pod["metadata"]["resourceVersion"].isdigit()
    assert "managedFields" not in pod["metadata"]
    status, rc, _ = await client.get("/apis/node.k8s.io/v1beta1/runtimeclasses/kata")
    assert rc["apiVersion"] == "node.k8s.io/v1beta1" and rc["handler"] == "kata"


async def test_missing_object_is_404_not_found(client):
    status, body, _ = await client.get("/api/v1/namespaces/default/pods/nope")
    assert status == 404 and body["reason"] == "NotFound"
    assert body["message"] == 'pods "nope" not found'
    assert body["details"] == {"name": "nope", "kind": "pods"}
    status, body, _ = await client.get("/apis/node.k8s.io/v1/runtimeclasses/nope")
    assert body["message"] == 'runtimeclasses.node.k8s.io "nope" not found'
    status, body, _ = await client.get("/api/v1/widgets")
    assert status == 404 and body["message"] == "the server could not find the requested resource"


async def test_pagination_is_consistent_with_the_first_page(client, api):
    status, first, _ = await client.get("/api/v1/pods", {"limit": "4"})
    everything = names(api.store.list("Pod"))
    assert len(first["items"]) == 4 and first["metadata"]["remainingItemCount"] == len(everything) - 4
    rv = first["metadata"]["resourceVersion"]
    # change the cluster between pages: delete a later pod, add one, modify one
    later = api.store.list("Pod")[-1]
    api.store.delete("Pod", later["metadata"]["namespace"], later["metadata"]["name"])
    extra = copy.deepcopy(later)
    extra["metadata"].update(name="zzz-new", uid="")
    api.store.apply(extra)
    modified = api.store.list("Pod")[-3]
    modified["metadata"]["labels"]["touched"] = "yes"
    api.store.apply(modified)
    seen, token = names(first["items"]), first["metadata"]["continue"]
    for _ in range(20):
        status, page, _ = await client.get("/api/v1/pods", {"limit": "4", "continue": token})
        assert status == 200 and page["metadata"]["resourceVersion"] == rv
        seen += names(page["items"])
        for item in page["items"]:
            assert "touched" not in item["metadata"]["labels"]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert seen == everything and "zzz-new" not in seen


async def test_continue_token_expired_and_invalid(client, api):
    _, first, _ = await client.get("/api/v1/pods", {"limit": "2"})
    api.store.apply(api.store.list("Pod")[0])
    api.faults.compact()
    status, body, _ = await client.get("/api/v1/pods", {"limit": "2", "continue": first["metadata"]["continue"]})
    assert status == 410 and body["reason"] == "Expired"
    assert body["message"].startswith("The provided continue parameter is too old")
    status, body, _ = await client.get("/api/v1/pods", {"limit": "2", "continue": "garbage!"})
    assert status == 400 and body["reason"] == "BadRequest"


async def test_watch_replays_changes_since_rv_then_times_out(client, api):
    rv = api.store.resource_version
    pod = api.store.list("Pod", "default")[0]
    pod["metadata"]["labels"]["x"] = "1"
    api.store.apply(pod)
    api.store.delete("Pod", "default", pod["metadata"]["name"])
    started = time.monotonic()
    events = await client.watch("/api/v1/namespaces/default/pods", {"resourceVersion": str(rv), "timeoutSeconds": "1"})
    assert 0.9 < time.monotonic() - started < 5
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["kind"] == "Pod" and events[0]["object"]["metadata"]["labels"]["x"] == "1"
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) == api.store.resource_version


async def test_watch_without_rv_starts_with_added_for_everything(client, api):
    async def change_later():
        await asyncio.sleep(0.3)
        node = api.store.get("Node", None, "k8s-worker")
        node["metadata"]["labels"]["new"] = "label"
        api.store.apply(node)

    task = asyncio.create_task(change_later())
    events = await client.watch("/api/v1/nodes", {"timeoutSeconds": "1"})
    await task
    assert [e["type"] for e in events] == ["ADDED"] * 4 + ["MODIFIED"]
    assert events[-1]["object"]["metadata"]["labels"]["new"] == "label"


async def test_bookmarks_periodically_and_at_the_end(client, api):
    api.bookmark_interval = 0.2
    rv = api.store.resource_version
    events = await client.watch("/apis/node.k8s.io/v1/runtimeclasses",
                                {"resourceVersion": str(rv), "allowWatchBookmarks": "true", "timeoutSeconds": "1"})
    assert len(events) >= 3 and all(e["type"] == "BOOKMARK" for e in events)
    assert events[-1]["object"] == {"kind": "RuntimeClass", "apiVersion": "node.k8s.io/v1",
                                    "metadata": {"resourceVersion": str(rv)}}


async def test_too_old_resource_version_gets_410_error_event(client, api):
    rv = api.store.resource_version
    for i in range(60):  # history=50
        node = api.store.get("Node", None, "k8s-worker")
        node["metadata"]["labels"]["n"] = str(i)
        api.store.apply(node)
    events = await client.watch("/api/v1/nodes", {"resourceVersion": str(rv)})
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["code"] == 410 and status["reason"] == "Expired" and status["kind"] == "Status"
    assert status["message"] == f"too old resource version: {rv} ({api.store.compacted})"


async def test_gone_next_fault_once(client, api):
    api.faults.gone_next("pods")
    rv = str(api.store.resource_version)
    first = await client.watch("/api/v1/pods", {"resourceVersion": rv, "timeoutSeconds": "1"})
    second = await client.watch("/api/v1/pods", {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert first[0]["type"] == "ERROR" and first[0]["object"]["code"] == 410
    assert second == []


async def test_drop_watches_aborts_the_stream(client, api):
    async def drop_later():
        await asyncio.sleep(0.3)
        api.faults.drop_watches()

    task = asyncio.create_task(drop_later())
    started = time.monotonic()
    with pytest.raises(aiohttp.ClientError):
        await client.watch("/api/v1/pods", {"resourceVersion": str(api.store.resource_version), "timeoutSeconds": "10"})
    await task
    assert time.monotonic() - started < 5


async def test_rbac_forbidden_per_resource_verb_and_user(api):
    api.users["t-viewer"] = "viewer"
    api.rbac.deny("pods", "list", user="viewer")
    viewer, admin = Client(api, "t-viewer"), Client(api)
    try:
        status, body, _ = await viewer.get("/api/v1/pods")
        assert status == 403 and body["reason"] == "Forbidden"
        assert body["message"] == ('pods is forbidden: User "viewer" cannot list resource "pods" in API group "" '
                                   "at the cluster scope")
        status, body, _ = await viewer.get("/api/v1/namespaces/default/pods")
        assert body["message"].endswith('in API group "" in the namespace "default"')
        assert (await viewer.get("/api/v1/nodes"))[0] == 200
        assert (await admin.get("/api/v1/pods"))[0] == 200
        api.rbac.deny("runtimeclasses", "watch")
        status, body, _ = await admin.get("/apis/node.k8s.io/v1/runtimeclasses", {"watch": "1"})
        assert status == 403 and body["message"] == (
            'runtimeclasses.node.k8s.io is forbidden: User "admin" cannot watch resource "runtimeclasses" '
            'in API group "node.k8s.io" at the cluster scope')
        api.rbac.allow_all()
        assert (await viewer.get("/api/v1/pods"))[0] == 200
    finally:
        await viewer.close()
        await admin.close()


async def test_throttle_error_and_delay_faults(client, api):
    api.faults.throttle("pods", retry_after=2)
    status, body, headers = await client.get("/api/v1/pods")
    assert status == 429 and headers["Retry-After"] == "2" and body["reason"] == "TooManyRequests"
    assert body["details"] == {"retryAfterSeconds": 2}
    assert (await client.get("/api/v1/pods"))[0] == 200
    api.faults.error("nodes", status=500, times=2)
    assert [(await client.get("/api/v1/nodes"))[0] for _ in range(3)] == [500, 500, 200]
    api.faults.error("nodes", status=503)
    status, body, _ = await client.get("/api/v1/nodes")
    assert status == 503 and body["reason"] == "ServiceUnavailable"
    api.faults.delay("runtimeclasses", 0.3)
    started = time.monotonic()
    assert (await client.get("/apis/node.k8s.io/v1/runtimeclasses"))[0] == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("selector,expected", [
    ("app=nginx-untrusted", 2),
    ("app==nginx-untrusted", 2),
    ("app!=nginx-untrusted", 12),
    ("app in (nginx-untrusted,nginx-trusted)", 4),
    ("app notin (nginx-untrusted,nginx-trusted),k8s-app", 4),
    ("pod-template-hash", 8),
    ("!pod-template-hash", 6),
])
async def test_label_selectors(client, selector, expected):
    _, body, _ = await client.get("/api/v1/pods", {"labelSelector": selector})
    assert len(body["items"]) == expected


async def test_field_selectors(client):
    _, body, _ = await client.get("/api/v1/pods", {"fieldSelector": "spec.nodeName=k8s-worker-kata"})
    assert len(body["items"]) == 6
    _, body, _ = await client.get("/api/v1/pods", {"fieldSelector": "status.phase!=Running,metadata.namespace=sandboxed"})
    assert names(body["items"])[0].startswith("nginx-kata-fc-")
    _, body, _ = await client.get("/api/v1/events", {
        "fieldSelector": "involvedObject.kind=Pod,reason=FailedCreatePodSandBox,type=Warning"})
    assert len(body["items"]) == 1 and body["items"][0]["count"] == 61
    status, body, _ = await client.get("/api/v1/pods", {"fieldSelector": "spec.bogus=1"})
    assert status == 400 and body["message"] == "field label not supported: spec.bogus"


async def test_watch_with_selector_turns_moves_into_added_and_deleted(client, api):
    rv = str(api.store.resource_version)
    pod = api.store.list("Pod", "default")[0]
    pod["metadata"]["labels"]["app"] = "moved"
    api.store.apply(pod)
    pod["metadata"]["labels"]["app"] = "nginx-trusted"
    api.store.apply(pod)
    events = await client.watch("/api/v1/pods", {"resourceVersion": rv, "timeoutSeconds": "1",
                                                 "labelSelector": "app=nginx-trusted"})
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]


async def test_table_output_for_pods_nodes_and_runtimeclasses(client):
    status, table, headers = await client.get("/api/v1/pods", {"limit": "500"}, TABLE)
    assert status == 200 and table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert headers["Content-Type"] == "application/json"  # as kube-apiserver labels a Table
    cols = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert cols == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1),
                    ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    rows = {r["cells"][0]: r for r in table["rows"]}
    stuck = next(r for n, r in rows.items() if n.startswith("nginx-kata-fc-"))
    assert stuck["cells"][1:4] == ["0/2", "ContainerCreating", "0"] and stuck["cells"][5] == "<none>"
    restarted = [r for r in rows.values() if r["cells"][3].startswith("3 (")]
    assert restarted and restarted[0]["cells"][3] == "3 (42m ago)"
    assert stuck["object"]["kind"] == "PartialObjectMetadata" and "spec" not in stuck["object"]
    _, table, _ = await client.get("/api/v1/nodes", None, TABLE)
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image",
        "Kernel-Version", "Container-Runtime"]
    cp = next(r for r in table["rows"] if r["cells"][0] == "k8s-control-plane")
    assert cp["cells"][1:5] == ["Ready", "control-plane", "41d", "v1.31.4"]
    _, table, _ = await client.get("/apis/node.k8s.io/v1/runtimeclasses", {"includeObject": "Object"}, TABLE)
    assert [r["cells"][:2] for r in table["rows"]][0] == ["gvisor", "runsc"]
    assert table["rows"][0]["object"]["kind"] == "RuntimeClass"
    _, table, _ = await client.get("/api/v1/namespaces", {"includeObject": "None"}, TABLE)
    assert "object" not in table["rows"][0]


async def test_table_watch_sends_column_definitions_once(client, api):
    rv = str(api.store.resource_version)
    for label in ("a", "b"):
        node = api.store.get("Node", None, "k8s-worker")
        node["metadata"]["labels"]["step"] = label
        api.store.apply(node)
    events = await client.watch("/api/v1/nodes", {"resourceVersion": rv, "timeoutSeconds": "1"}, TABLE)
    assert [e["object"]["kind"] for e in events] == ["Table", "Table"]
    assert "columnDefinitions" in events[0]["object"] and "columnDefinitions" not in events[1]["object"]
    assert events[1]["object"]["rows"][0]["cells"][0] == "k8s-worker"


async def test_requests_are_recorded(client, api):
    await client.get("/api/v1/pods", {"limit": "2"})
    await client.send("PATCH", "/api/v1/nodes/k8s-worker", {"metadata": {"labels": {"a": "b"}}},
                      "application/merge-patch+json")
    get, patch = api.requests[-2:]
    assert (get.method, get.path, get.query, get.user, get.status, get.verb) == (
        "GET", "/api/v1/pods", {"limit": "2"}, "admin", 200, "list")
    assert (patch.method, patch.verb, patch.resource, patch.status) == ("PATCH", "patch", "nodes", 200)
    assert [r for r in api.requests if r.method != "GET"] == [patch]


async def test_writes_create_patch_delete_and_dry_run(client, api):
    rc = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "kata-new"},
          "handler": "kata-new"}
    status, body = await client.send("POST", "/apis/node.k8s.io/v1/runtimeclasses", rc, params={"dryRun": "All"})
    assert status == 201 and body["metadata"]["name"] == "kata-new"
    assert api.store.get("RuntimeClass", None, "kata-new") is None
    status, body = await client.send("POST", "/apis/node.k8s.io/v1/runtimeclasses", rc)
    assert status == 201 and api.store.get("RuntimeClass", None, "kata-new")["handler"] == "kata-new"
    status, body = await client.send("POST", "/apis/node.k8s.io/v1/runtimeclasses", rc)
    assert status == 409 and body["reason"] == "AlreadyExists"
    status, node = await client.send("PATCH", "/api/v1/nodes/k8s-worker-kata",
                                     {"metadata": {"labels": {"katacontainers.io/kata-runtime": None, "x": "y"}}},
                                     "application/strategic-merge-patch+json")
    assert status == 200 and "katacontainers.io/kata-runtime" not in node["metadata"]["labels"]
    status, node = await client.send("PATCH", "/api/v1/nodes/k8s-worker-kata",
                                     [{"op": "add", "path": "/metadata/labels/z", "value": "1"}],
                                     "application/json-patch+json")
    assert node["metadata"]["labels"]["z"] == "1" and node["metadata"]["labels"]["x"] == "y"
    status, body = await client.send("PATCH", "/api/v1/nodes/k8s-worker-kata",
                                     {"metadata": {"resourceVersion": "1"}}, "application/merge-patch+json")
    assert status == 409 and body["reason"] == "Conflict"
    status, body = await client.send("DELETE", "/apis/node.k8s.io/v1/runtimeclasses/kata-new", b"")
    assert status == 200 and api.store.get("RuntimeClass", None, "kata-new") is None


async def test_pod_with_unknown_runtime_class_is_rejected_like_admission(client):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx-runc"},
           "spec": {"runtimeClassName": "native", "containers": [{"name": "nginx", "image": "nginx"}]}}
    status, body = await client.send("POST", "/api/v1/namespaces/default/pods", pod)
    assert status == 403
    assert body["message"] == 'pods "nginx-runc" is forbidden: pod rejected: RuntimeClass "native" not found'
    pod["spec"]["runtimeClassName"] = "kata-qemu"
    status, body = await client.send("POST", "/api/v1/namespaces/default/pods", pod)
    assert status == 201 and body["spec"]["overhead"] == {"cpu": "250m", "memory": "160Mi"}


async def test_discovery_aggregated_and_legacy(client):
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    status, body, headers = await client.get("/apis", None, accept)
    assert headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    groups = {g["metadata"]["name"]: [v["version"] for v in g["versions"]] for g in body["items"]}
    assert groups["node.k8s.io"] == ["v1", "v1beta1"] and groups["networking.k8s.io"] == ["v1"]
    _, body, _ = await client.get("/api/v1")
    assert {r["name"] for r in body["resources"]} >= {"pods", "nodes", "namespaces", "events"}
    _, body, _ = await client.get("/apis/node.k8s.io")
    assert body["preferredVersion"]["groupVersion"] == "node.k8s.io/v1"
    _, body, _ = await client.get("/version")
    assert body["gitVersion"].startswith("v1.31")


async def test_plain_http_mode():
    async with ApiServerDouble(classic_objects(NOW), tls=False, token="t0k") as api:
        assert api.url.startswith("http://") and api.ca_path is None
        c = Client(api)
        status, body, _ = await c.get("/api/v1/nodes")
        await c.close()
        assert status == 200 and len(body["items"]) == 4
