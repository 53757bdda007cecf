"""GET and LIST: content negotiation (JSON, Table, PartialObjectMetadata), selectors and
pagination with continue tokens consistent with the first page's resourceVersion."""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Callable

import msgspec

from . import status as st
from . import tables
from .resources import Resource
from .selectors import Predicate, SelectorError, combine, field_selector, label_selector
from .store import Expired, ObjectStore, gc_paused, object_key, with_kind

encode = msgspec.json.Encoder().encode


class ApiError(Exception):
    """Answer with this Status object (and optional extra headers)."""

    def __init__(self, body: dict, headers: dict[str, str] | None = None):
        super().__init__(body.get("message"))
        self.body, self.headers = body, headers or {}

    @property
    def code(self) -> int:
        return self.body["code"]


@dataclass(frozen=True)
class Target:
    resource: Resource
    version: str
    namespace: str | None  # None: cluster-scoped or all namespaces
    name: str | None
    subresource: str | None = None

    @property
    def prefix(self) -> str:
        return f"{self.namespace}/" if self.resource.namespaced and self.namespace else ""

    @property
    def key(self) -> str:
        return object_key(self.resource, self.namespace, self.name or "")


@dataclass(frozen=True)
class Output:
    mode: str  # json, table, partial
    version: str = "v1"  # of meta.k8s.io for table/partial

    @property
    def content_type(self) -> str:
        """kube-apiserver labels Tables and PartialObjectMetadata plain application/json (the
        JSON serializer's type); the as=/g=/v= form is what the client asked for, not a label."""
        return "application/json"


def negotiate(accept: str | None) -> Output:
    """Pick the first media type of an Accept header that the double can produce."""
    if not accept:
        return Output("json")
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media, params = fields[0], dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        if media not in ("application/json", "*/*", "application/*"):
            continue
        as_kind, group = params.get("as"), params.get("g")
        if as_kind is None:
            return Output("json")
        version = params.get("v", "v1")
        if group == "meta.k8s.io" and version in ("v1", "v1beta1"):
            if as_kind == "Table":
                return Output("table", version)
            if as_kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                return Output("partial", version)
    raise ApiError(st.status(406, "NotAcceptable", "only the following media types are accepted: "
                             "application/json, application/yaml, application/vnd.kubernetes.protobuf"))


def predicate(target: Target, query: dict[str, str]) -> Predicate | None:
    try:
        return combine(label_selector(query.get("labelSelector")),
                       field_selector(query.get("fieldSelector"), target.resource))
    except SelectorError as error:
        raise ApiError(st.bad_request(str(error))) from None


def encode_continue(rv: int, next_key: str, slash: str = "/") -> str:
    """As kube-apiserver writes it: the start key relative to the list's prefix, with a leading
    / (not in the rv -1 token of a 410, whose key the real server writes without it)."""
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": slash + next_key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data.get("v") != "meta.k8s.io/v1" or not isinstance(data.get("rv"), int):
            raise ValueError("bad token")
        start = data["start"]
        if not isinstance(start, str) or not start:
            raise ValueError("bad start key")
        key = start if start.startswith("/") else "/" + start
        if posixpath.normpath(key) != key:
            raise ValueError(f"bad start key {start!r}")  # no climbing out of the prefix
        return data["rv"], key[1:]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise ApiError(st.bad_request(
            f"invalid continue token: continue key is not valid: {error}")) from None


def _limit(query: dict[str, str]) -> int:
    try:
        limit = int(query.get("limit") or 0)
    except ValueError:
        raise ApiError(st.bad_request(f"limit: Invalid value: {query['limit']!r}")) from None
    return max(limit, 0)


@dataclass
class Page:
    rv: int
    items: list[tuple[str, dict]]
    next_key: str | None
    remaining: int | None


def collect(store: ObjectStore, target: Target, query: dict[str, str]) -> Page:
    """The items of one page, as of the list's resourceVersion (continue tokens included)."""
    match = predicate(target, query)
    limit, token = _limit(query), query.get("continue")
    with store.locked, gc_paused():
        rv, start = (decode_continue(token) if token else (store.resource_version, ""))
        if rv < 0:  # the token of a 410: go on from its key at the latest version
            rv = store.resource_version
        start = target.prefix + start
        try:
            iterator = store.snapshot_iter(target.resource, target.prefix, start, rv)
            items: list[tuple[str, dict]] = []
            more = False
            for key, body in iterator:
                if limit and len(items) >= limit:
                    more = True
                    break
                if match is None or match(body):
                    items.append((key, body))
            remaining = None
            if more and match is None:
                remaining = store.count_after(target.resource, target.prefix, items[-1][0], rv)
        except Expired:
            # as the real server: a token (rv -1) to go on from the same key, inconsistently
            rest = {"continue": encode_continue(-1, start[len(target.prefix):], slash="")}
            raise ApiError(st.expired(st.CONTINUE_EXPIRED, rest)) from None
    next_key = items[-1][0][len(target.prefix):] + "\x00" if more else None
    return Page(rv, items, next_key, remaining)


def _list_meta(page: Page) -> dict:
    meta: dict = {"resourceVersion": str(page.rv)}
    if page.next_key is not None:
        meta["continue"] = encode_continue(page.rv, page.next_key)
        if page.remaining is not None:
            meta["remainingItemCount"] = page.remaining
    return meta


def render_list(store: ObjectStore, target: Target, page: Page, output: Output,
                query: dict[str, str], now: Callable) -> bytes:
    resource, meta = target.resource, _list_meta(page)
    if output.mode == "table":
        return table_list(store, target, page.items, output, query, now(), meta)
    if output.mode == "partial":
        items = [{"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{output.version}",
                  "metadata": body["metadata"]} for _, body in page.items]
        return encode({"kind": "PartialObjectMetadataList",
                       "apiVersion": f"meta.k8s.io/{output.version}", "metadata": meta,
                       "items": items})
    head = encode({"kind": resource.list_kind, "apiVersion": resource.api_version(target.version),
                   "metadata": meta})
    with gc_paused():
        body = b",".join([store.encoded(resource, key, item) for key, item in page.items])
    return b"".join((head[:-1], b',"items":[', body, b"]}"))


def table_list(store: ObjectStore, target: Target, items: list[tuple[str, dict]], output: Output,
               query: dict[str, str], moment: datetime, meta: dict, columns: bool = True) -> bytes:
    """A Table of `items` (byte for byte what tables.row/tables.table give), from the rows'
    time-independent parts cached in the store plus the ages as of `moment`."""
    resource = target.resource
    with gc_paused():
        parts = store.derived(resource, items, partial(tables.row_parts, resource))
        rows = tables.encode_rows(resource, items, parts, query.get("includeObject", "Metadata"),
                                  moment, target.version,
                                  lambda key, body: store.encoded(resource, key, body))
    return tables.encode_table(resource, rows, meta, output.version, columns)


def render_one(target: Target, body: dict, output: Output, query: dict[str, str],
               now: Callable) -> bytes:
    resource = target.resource
    if output.mode == "table":
        rows = tables.encode_rows(resource, [(target.key, body)], [tables.row_parts(resource, body)],
                                  query.get("includeObject", "Metadata"), now(), target.version,
                                  lambda _key, item: encode(item))
        return tables.encode_table(resource, rows,
                                   {"resourceVersion": body["metadata"]["resourceVersion"]},
                                   output.version)
    if output.mode == "partial":
        return encode({"kind": "PartialObjectMetadata",
                       "apiVersion": f"meta.k8s.io/{output.version}", "metadata": body["metadata"]})
    return encode(with_kind(resource, body, target.version))


def get_one(store: ObjectStore, target: Target) -> dict:
    body = store.body(target.resource, target.key)
    if body is None:
        raise ApiError(st.not_found(target.resource, target.name))
    return body
