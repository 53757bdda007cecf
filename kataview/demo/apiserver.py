"""A Kubernetes API server double over real HTTP(S) on loopback (aiohttp.web).

    async with ApiServerDouble(classic_objects()) as api:
        api.write_kubeconfig(tmp / "kubeconfig")
        api.store.apply(pod)              # watchers see MODIFIED/ADDED
        api.faults.gone_next("pods")      # the next pods watch gets a 410 ERROR event
        api.rbac.deny("pods", "list")     # 403 Forbidden, worded as the real server does

`serve_in_thread()` runs one on its own loop in a daemon thread, for tests that run kubectl.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import shutil
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

import msgspec
from aiohttp import web

from . import api_discovery, pod_logs, reads, writes
from . import status as st
from .faults import Faults, Rbac
from .kubeconfig import kubeconfig_yaml
from .reads import ApiError, Target
from .recording import RECORD, RecordedRequest
from .resources import BY_PLURAL, GROUPS, Resource
from .store import ObjectStore, utc_now
from .tls import make_pki
from .watch import DROP, WatchStream, list_options_errors

encode = msgspec.json.Encoder().encode
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")




class ApiServerDouble:
    def __init__(self, objects: Iterable[dict] = (), *, tls: bool = True, token: str | None = None,
                 users: dict[str, str] | None = None, host: str = "127.0.0.1", port: int = 0,
                 history: int = 2000):
        self.token = token or secrets.token_urlsafe(24)
        self.users = dict(users) if users is not None else {self.token: "admin"}
        self.tls, self.host, self.port = tls, host, port
        self.clock: Callable[[], datetime] = utc_now  # for Table ages and timestamps
        self.store = ObjectStore(objects, history=history, clock=lambda: self.clock())
        self.requests: list[RecordedRequest] = []
        self.faults = Faults()
        self.rbac = Rbac()
        self.bookmark_interval = 1.0
        self.watch_list = True  # the WatchList feature gate (beta, on by default since 1.34)
        self.log_follow_interval = pod_logs.FOLLOW_INTERVAL  # seconds between followed log lines
        self.url = ""
        self.ca_path: Path | None = None
        self._dir: Path | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.open_watches: set = set()  # the watchers of watches being served
        self.faults.on_drop_watches = self._drop_watches
        self.faults.on_compact = self.store.compact

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.store.bind_loop(self._loop)
        self._dir = Path(tempfile.mkdtemp(prefix="kataview-apiserver-"))
        ssl_context = None
        if self.tls:
            pki = make_pki(self._dir)
            self.ca_path, ssl_context = pki.ca_path, pki.server_context()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    async def stop(self) -> None:
        self._drop_watches()
        await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.store.bind_loop(None)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    async def __aenter__(self) -> ApiServerDouble:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def write_kubeconfig(self, path: str | Path, context: str = "kataview-demo",
                         user_token: str | None = None) -> Path:
        """A kubeconfig (mode 0600) with the CA embedded and a bearer token."""
        ca = self.ca_path.read_bytes() if self.ca_path else None
        text = kubeconfig_yaml(self.url, user_token or self.token, ca, context)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(text)
        return path

    def _drop_watches(self) -> None:
        if self._loop is None or self._loop.is_closed():
            return

        def drop() -> None:
            for watcher in list(self.open_watches):
                watcher.queue.put_nowait(DROP)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            drop()
        else:
            self._loop.call_soon_threadsafe(drop)

    # -- requests -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        query = {k: request.query[k] for k in request.query}
        record = RecordedRequest(request.method, request.path, query, "")
        self.requests.append(record)
        request[RECORD] = record
        try:
            response = await self._dispatch(request, query, record)
        except ApiError as error:
            response = web.Response(body=encode(error.body), status=error.code,
                                    content_type="application/json", headers=error.headers)
        if not record.status:
            record.status = response.status
        return response

    def _authenticate(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return self.users.get(header[7:].strip())
        return None

    async def _dispatch(self, request: web.Request, query: dict[str, str],
                        record: RecordedRequest) -> web.StreamResponse:
        user = self._authenticate(request)
        record.user = user or "system:anonymous"
        if user is None and request.path not in PUBLIC_PATHS:
            raise ApiError(st.unauthorized())
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        doc = self._discovery(path, request.headers.get("Accept", ""))
        if doc is not None:
            body, content_type = doc
            return _json(encode(body), 200, content_type)
        target, watch_path = parse_path(path)
        if target is None:
            raise ApiError(st.not_found(None))
        return await self._resource(request, query, record, target, watch_path)

    def _discovery(self, path: str, accept: str) -> tuple[dict, str] | None:
        aggregated = api_discovery.wants_aggregated(accept)
        if path in ("/api", "/apis") and aggregated:
            return api_discovery.aggregated(path == "/api", aggregated), aggregated
        if path == "/version":
            return api_discovery.VERSION, "application/json"
        if path == "/api":
            return api_discovery.api_versions(f"{self.host}:{self.port}"), "application/json"
        if path == "/apis":
            return api_discovery.api_group_list(), "application/json"
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            doc = api_discovery.api_resource_list("", parts[1])
            return (doc, "application/json") if doc else None
        if parts[0] == "apis" and len(parts) == 2 and parts[1] in GROUPS:
            return api_discovery.api_group(parts[1]), "application/json"
        if parts[0] == "apis" and len(parts) == 3:
            doc = api_discovery.api_resource_list(parts[1], parts[2])
            return (doc, "application/json") if doc else None
        return None

    async def _resource(self, request: web.Request, query: dict[str, str],
                        record: RecordedRequest, target: Target,
                        watch_path: bool) -> web.StreamResponse:
        watch = watch_path or query.get("watch") in ("1", "true", "True")
        verb = _verb(request.method, target, watch)
        plural = target.resource.plural + (f"/{target.subresource}" if target.subresource == "log" else "")
        record.verb, record.resource = verb, plural
        if not self.rbac.allowed(record.user, plural, verb):
            raise ApiError(st.forbidden(record.user, verb, target.resource, target.namespace,
                                        target.name))
        await self._apply_faults(target.resource)
        if target.subresource == "log":
            return await self._pod_log(request, query, target)
        if request.method == "GET":
            refused = list_options_errors(query, watch, self.watch_list)
            if refused:
                raise ApiError(st.invalid_list_options(refused))
            output = reads.negotiate(request.headers.get("Accept"))
            if watch:
                return await WatchStream(self, request, target, output, query).run()
            if target.name is None:
                while query.get("continue") and self.faults.continued_list_held(target.resource.plural):
                    await asyncio.sleep(0.05)
                page = reads.collect(self.store, target, query)
                body = reads.render_list(self.store, target, page, output, query, self.clock)
                bad = self.faults.list_body_for(target.resource.plural)
                if bad is not None:
                    return faulty_list(body, bad)
            else:
                obj = reads.get_one(self.store, target)
                body = reads.render_one(target, obj, output, query, self.clock)
            return _json(body, 200, output.content_type)
        return await self._write(request, query, target)

    async def _pod_log(self, request: web.Request, query: dict[str, str],
                       target: Target) -> web.StreamResponse:
        """GET pods/NAME/log (kataview.demo.pod_logs); any other verb is refused as the real one."""
        if request.method != "GET":
            raise ApiError(st.method_not_allowed())
        pod = reads.get_one(self.store, dataclasses.replace(target, subresource=None))
        container = pod_logs.pick_container(pod, query.get("container"))
        previous = query.get("previous") in ("1", "true", "True")
        body = pod_logs.cut(pod_logs.log_lines(pod, container, previous), query)
        if query.get("follow") not in ("1", "true", "True") or previous:
            return web.Response(body=body, status=200, content_type="text/plain")
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        await response.write(body)
        with contextlib.suppress(ConnectionError):
            await pod_logs.follow(response, pod, container, self.clock, self.log_follow_interval)
        return response

    async def _apply_faults(self, resource: Resource) -> None:
        plural = resource.plural
        delay = self.faults.delay_for(plural)
        if delay:
            await asyncio.sleep(delay)
        retry_after = self.faults.take_throttle(plural)
        if retry_after is not None:
            raise ApiError(st.too_many_requests(retry_after), {"Retry-After": str(retry_after)})
        code = self.faults.take_error(plural)
        if code is not None:
            raise ApiError(st.internal_error(code, "injected fault"))

    async def _write(self, request: web.Request, query: dict[str, str],
                     target: Target) -> web.StreamResponse:
        dry_run = query.get("dryRun") == "All"
        method, raw = request.method, await request.read()
        content_type = request.headers.get("Content-Type", "application/json")
        if method == "POST" and target.name is None:
            obj = writes.create(self.store, target, writes.parse_body(raw, content_type), dry_run,
                                self.clock())
            return _json(encode(obj), 201)
        if target.name is None:
            raise ApiError(st.method_not_allowed())
        if method == "PUT":
            obj = writes.replace(self.store, target, writes.parse_body(raw, content_type), dry_run)
        elif method == "PATCH":
            obj = writes.patch(self.store, target, raw, content_type, dry_run,
                               query.get("fieldManager"))
        elif method == "DELETE":
            obj = writes.delete(self.store, target, dry_run, self.clock(),
                                query.get("gracePeriodSeconds"))
        else:
            raise ApiError(st.method_not_allowed())
        return _json(encode(obj), 200)


def faulty_list(body: bytes, mode: str) -> web.Response:
    """A LIST answer spoiled as Faults.list_body says (status 200 all the same)."""
    if mode == "html":
        return _json(b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
                     200, "text/html")
    if mode == "truncated":
        return _json(body[: len(body) // 2], 200)
    if mode == "garbage":
        return _json(b"\x00\x01 not json at all", 200, "application/octet-stream")
    return _json(body.replace(b'"items":[', b'"items":[42,', 1), 200)  # "bad-item"


def _json(body: bytes, status: int, content_type: str = "application/json") -> web.Response:
    response = web.Response(body=body, status=status)
    response.headers["Content-Type"] = content_type
    return response


def _verb(method: str, target: Target, watch: bool) -> str:
    if method == "GET":
        return "watch" if watch else ("get" if target.name else "list")
    if method == "POST" and target.name is None:
        return "create"
    if method == "DELETE" and target.name is None:
        return "deletecollection"
    return {"PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "create")


def parse_path(path: str) -> tuple[Target | None, bool]:
    """`/api/v1/namespaces/ns/pods/name[/status]`, `/apis/g/v/...`, legacy `/watch/` paths."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None, False
    watch = bool(rest) and rest[0] == "watch"
    rest = rest[1:] if watch else rest
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = BY_PLURAL.get(rest[0]) if rest else None
    if (resource is None or resource.group != group or version not in resource.versions
            or len(rest) > 3 or (namespace is not None and not resource.namespaced)):
        return None, False
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    if sub not in (None, "status") and not (sub == "log" and resource.plural == "pods"):
        return None, False
    return Target(resource, version, namespace, name, sub), watch


@contextlib.contextmanager
def serve_in_thread(objects: Iterable[dict] = (), **kwargs) -> Iterator[ApiServerDouble]:
    """A started ApiServerDouble on its own event loop in a daemon thread; stopped on exit."""
    server = ApiServerDouble(objects, **kwargs)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as error:  # reported to the caller below
            failure.append(error)
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="kataview-apiserver-double", daemon=True)
    thread.start()
    if not ready.wait(30) or failure:
        raise RuntimeError(f"the API server double did not start: {failure}")
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        if not thread.is_alive():
            loop.close()
