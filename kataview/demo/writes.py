"""POST, PUT, PATCH and DELETE, with dryRun=All, optimistic concurrency on resourceVersion and
the RuntimeClass admission plugin (unknown runtimeClassName rejected; overhead filled in)."""

from __future__ import annotations

import copy
import json
import random
import string
from datetime import datetime

import yaml

from . import status as st
from .reads import ApiError, Target
from .resources import BY_KIND
from .store import ObjectStore, timestamp, with_kind

PATCH_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json",
               "application/json-patch+json", "application/apply-patch+yaml")
_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


def parse_body(raw: bytes, content_type: str = "application/json") -> object:
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw.decode())
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as error:
        raise ApiError(st.bad_request(f"the body of the request was in an unknown format - "
                                      f"accepted media types include: application/json: {error}"))


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386 JSON merge patch, without mutating `target` (unchanged parts are shared).
    Strategic-merge directives ($patch, $setElementOrder/..., $retainKeys) are dropped."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict, operations: object) -> dict:
    """RFC 6902: add, remove, replace, test (enough for kubectl and the setup flow)."""
    if not isinstance(operations, list):
        raise ApiError(st.bad_request("json patch must be a list of operations"))
    doc = copy.deepcopy(target)
    for op in operations:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op.get("path", "").split("/")[1:]]
        if not parts:
            raise ApiError(st.status(422, "Invalid", f"invalid json patch path {op.get('path')!r}"))
        parent = doc
        try:
            for part in parts[:-1]:
                parent = parent[int(part)] if isinstance(parent, list) else parent[part]
            last, kind = parts[-1], op.get("op")
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(index, op["value"])
                elif kind == "remove":
                    del parent[index]
                elif kind == "replace":
                    parent[index] = op["value"]
                elif kind == "test" and parent[index] != op["value"]:
                    raise ApiError(st.status(422, "Invalid", f"testing value {op['path']} failed"))
            elif kind in ("add", "replace"):
                if kind == "replace" and last not in parent:
                    raise KeyError(last)
                parent[last] = op["value"]
            elif kind == "remove":
                del parent[last]
            elif kind == "test" and parent.get(last) != op.get("value"):
                raise ApiError(st.status(422, "Invalid", f"testing value {op['path']} failed"))
        except (KeyError, IndexError, ValueError, TypeError):
            raise ApiError(st.status(422, "Invalid", f"the server rejected our request due to an "
                                     f"error in our request: path {op.get('path')!r}")) from None
    return doc


def _check_identity(target: Target, obj: object) -> dict:
    resource = target.resource
    if not isinstance(obj, dict):
        raise ApiError(st.bad_request("the body of the request must be an object"))
    if obj.get("kind") not in (None, resource.kind):
        raise ApiError(st.bad_request(f"the kind in the data ({obj['kind']}) does not match the "
                                      f"expected kind ({resource.kind})"))
    if obj.get("apiVersion") not in (None, resource.api_version(target.version),
                                     *(resource.api_version(v) for v in resource.versions)):
        raise ApiError(st.bad_request(f"the API version in the data ({obj['apiVersion']}) does not "
                                      f"match the expected API version ({resource.api_version(target.version)})"))
    meta = obj.setdefault("metadata", {})
    if resource.namespaced:
        if meta.get("namespace") and target.namespace and meta["namespace"] != target.namespace:
            raise ApiError(st.bad_request("the namespace of the provided object does not match "
                                          "the namespace sent on the request"))
        meta["namespace"] = target.namespace
    obj["kind"], obj["apiVersion"] = resource.kind, resource.api_version()
    return obj


def _admit(store: ObjectStore, target: Target, obj: dict) -> None:
    resource, meta = target.resource, obj["metadata"]
    if resource.namespaced and store.body(BY_KIND["Namespace"], target.namespace) is None:
        raise ApiError(st.not_found(BY_KIND["Namespace"], target.namespace))
    if resource.kind != "Pod":
        return
    spec = obj.setdefault("spec", {})
    rc_name = spec.get("runtimeClassName")
    if rc_name:
        rc = store.body(BY_KIND["RuntimeClass"], rc_name)
        if rc is None:
            raise ApiError(st.status(403, "Forbidden", f'pods "{meta["name"]}" is forbidden: pod '
                                     f'rejected: RuntimeClass "{rc_name}" not found',
                                     {"name": meta["name"], "kind": "pods"}))
        pod_fixed = (rc.get("overhead") or {}).get("podFixed")
        if pod_fixed and not spec.get("overhead"):
            spec["overhead"] = dict(pod_fixed)


def create(store: ObjectStore, target: Target, obj: object, dry_run: bool,
           now: datetime) -> dict:
    obj = _check_identity(target, obj)
    meta = obj["metadata"]
    if not meta.get("name"):
        if not meta.get("generateName"):
            raise ApiError(st.invalid(target.resource, "", "metadata.name",
                                      "Required value: name or generateName is required"))
        meta["name"] = meta["generateName"] + "".join(random.choices(_SUFFIX, k=5))
    target = Target(target.resource, target.version, target.namespace, meta["name"])
    _admit(store, target, obj)
    if store.body(target.resource, target.key) is not None:
        raise ApiError(st.already_exists(target.resource, meta["name"]))
    meta.pop("resourceVersion", None)
    if dry_run:
        meta.setdefault("uid", _dry_uid())
        meta.setdefault("creationTimestamp", timestamp(now))
        return obj
    with store.locked:
        if store.body(target.resource, target.key) is not None:
            raise ApiError(st.already_exists(target.resource, meta["name"]))
        return store.apply(obj)


def replace(store: ObjectStore, target: Target, obj: object, dry_run: bool) -> dict:
    obj = _check_identity(target, obj)
    meta = obj["metadata"]
    if meta.get("name") != target.name:
        raise ApiError(st.bad_request("the name of the object does not match the name on the URL"))
    with store.locked:
        current = store.body(target.resource, target.key)
        if current is None:
            raise ApiError(st.not_found(target.resource, target.name))
        wanted = meta.get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise ApiError(st.conflict(target.resource, target.name))
        if dry_run:
            return {**obj, "metadata": {**current["metadata"], **meta}}
        return store.apply(obj)


def patch(store: ObjectStore, target: Target, raw: bytes, content_type: str, dry_run: bool,
          field_manager: str | None) -> dict:
    media = content_type.split(";")[0].strip()
    if media not in PATCH_TYPES:
        raise ApiError(st.status(415, "UnsupportedMediaType",
                                 f"the body of the request was in an unknown format - accepted "
                                 f"media types include: {', '.join(PATCH_TYPES)}"))
    doc = parse_body(raw, media)
    with store.locked:
        current = store.body(target.resource, target.key)
        if media == "application/apply-patch+yaml":
            if not field_manager:
                raise ApiError(st.bad_request("PATCH, application/apply-patch+yaml requires "
                                              "fieldManager to be set"))
            if current is None:
                return create(store, target, doc, dry_run, store.clock())
        if current is None:
            raise ApiError(st.not_found(target.resource, target.name))
        base = with_kind(target.resource, current)
        if media == "application/json-patch+json":
            patched = json_patch(base, doc)
        else:
            patched = merge_patch(base, doc)
        meta = patched.get("metadata") or {}
        if meta.get("name") != target.name or (target.resource.namespaced and
                                               meta.get("namespace") != target.namespace):
            raise ApiError(st.bad_request("metadata.name and metadata.namespace are immutable"))
        wanted = meta.get("resourceVersion")
        if wanted != current["metadata"]["resourceVersion"]:
            raise ApiError(st.conflict(target.resource, target.name))
        if dry_run:
            return patched
        return store.apply(patched)


def delete(store: ObjectStore, target: Target, dry_run: bool, now: datetime | None = None,
           grace: str | None = None) -> dict:
    """A pod is first marked (MODIFIED: deletionTimestamp, deletionGracePeriodSeconds), then
    deleted, as kube-apiserver does with gracePeriodSeconds=0. With a grace period the real
    server leaves it Terminating until its kubelet finishes; the double plays that kubelet and
    deletes it at once."""
    with store.locked:
        current = store.body(target.resource, target.key)
        if current is None:
            raise ApiError(st.not_found(target.resource, target.name))
        if target.resource.kind == "Pod" and now is not None:
            current = _marked_for_deletion(current, now, grace)
            if not dry_run:
                store.apply(with_kind(target.resource, current), owned=True)
        if dry_run:
            return with_kind(target.resource, current)
        store.delete(target.resource.kind, target.namespace, target.name)
        return with_kind(target.resource, current)


def _marked_for_deletion(pod: dict, now: datetime, grace: str | None) -> dict:
    meta = pod["metadata"]
    if meta.get("deletionTimestamp"):
        return pod
    spec = pod.get("spec") or {}
    try:
        seconds = int(grace) if grace not in (None, "") else spec.get("terminationGracePeriodSeconds", 30)
    except ValueError:
        raise ApiError(st.bad_request(f"gracePeriodSeconds: Invalid value: {grace!r}")) from None
    if not spec.get("nodeName"):
        seconds = 0  # an unscheduled pod has no kubelet to wait for
    moment = now.timestamp() + max(seconds, 0)
    marked = {**meta, "deletionTimestamp": timestamp(datetime.fromtimestamp(moment, now.tzinfo)),
              "deletionGracePeriodSeconds": max(seconds, 0)}
    return {**pod, "metadata": marked}


def _dry_uid() -> str:
    digits = "".join(random.choices(string.hexdigits.lower()[:16], k=32))
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-a{digits[17:20]}-{digits[20:]}"
