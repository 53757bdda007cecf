"""Discovery documents: /version, legacy /api and /apis, and aggregated discovery (v2)."""

from __future__ import annotations

from .resources import GROUPS, VERBS, Resource, resources_in

AGGREGATED_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
WITH_STATUS = ("Pod", "Node", "Namespace")

VERSION = {
    "major": "1", "minor": "31", "gitVersion": "v1.31.4",
    "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b", "gitTreeState": "clean",
    "buildDate": "2024-12-10T11:37:33Z", "goVersion": "go1.22.10", "compiler": "gc",
    "platform": "linux/amd64",
}


def wants_aggregated(accept: str) -> str | None:
    """The aggregated media type the client asked for first, if any."""
    for part in accept.split(","):
        if "as=APIGroupDiscoveryList" in part and "g=apidiscovery.k8s.io" in part:
            return AGGREGATED_V2BETA1_TYPE if "v=v2beta1" in part else AGGREGATED_TYPE
        if part.strip().startswith("application/json"):
            return None
    return None


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_version(group: str, version: str) -> dict:
    return {"groupVersion": f"{group}/{version}", "version": version}


def api_group(group: str) -> dict:
    versions = GROUPS[group]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group,
            "versions": [_group_version(group, v) for v in versions],
            "preferredVersion": _group_version(group, versions[0])}


def api_group_list() -> dict:
    groups = [{k: v for k, v in api_group(g).items() if k not in ("kind", "apiVersion")}
              for g in GROUPS]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _api_resource(resource: Resource) -> list[dict]:
    entry = {"name": resource.plural, "singularName": resource.singular,
             "namespaced": resource.namespaced, "kind": resource.kind, "verbs": list(VERBS)}
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    entries = [entry]
    if resource.kind in WITH_STATUS:
        entries.append({"name": f"{resource.plural}/status", "singularName": "",
                        "namespaced": resource.namespaced, "kind": resource.kind,
                        "verbs": ["get", "patch", "update"]})
    return entries


def api_resource_list(group: str, version: str) -> dict | None:
    resources = resources_in(group, version)
    if not resources:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [e for r in resources for e in _api_resource(r)]}


def _discovery_resource(resource: Resource) -> dict:
    entry = {"resource": resource.plural,
             "responseKind": {"group": "", "version": "", "kind": resource.kind},
             "scope": "Namespaced" if resource.namespaced else "Cluster",
             "singularResource": resource.singular, "verbs": list(VERBS)}
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    if resource.kind in WITH_STATUS:
        entry["subresources"] = [{"subresource": "status", "responseKind": {
            "group": "", "version": "", "kind": resource.kind}, "verbs": ["get", "patch", "update"]}]
    return entry


def _discovery_group(group: str, versions: tuple[str, ...]) -> dict:
    metadata: dict = {"creationTimestamp": None}
    if group:
        metadata = {"name": group, **metadata}
    return {"metadata": metadata, "versions": [
        {"version": v, "resources": [_discovery_resource(r) for r in resources_in(group, v)],
         "freshness": "Current"} for v in versions]}


def aggregated(core: bool, media_type: str) -> dict:
    version = "v2beta1" if "v=v2beta1" in media_type else "v2"
    items = ([_discovery_group("", ("v1",))] if core
             else [_discovery_group(g, v) for g, v in GROUPS.items()])
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}


__all__ = ["VERSION", "aggregated", "api_group", "api_group_list",
           "api_resource_list", "api_versions", "wants_aggregated"]
